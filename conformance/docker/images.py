"""The images under test: each built at most once per session from the tree under test, or taken as given.

Tags name the whole build input (the tree, the kit's sources, the variant's build args, the wheelhouse), so
two trees, or two concurrent runs of different trees, never share a tag: `orin-kit/NAME:VARIANT-DIGEST`, and
the cache probe and benchmark builds add a purpose (`...-DIGEST-cacheprobe`). Because a tag is its input, an
image already carrying the tag and its input label is that build: it is reused, with its recorded build.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from conformance import SOURCE_ROOT, work_dir
from conformance.config.images import ImageSpec, Variant
from conformance.docker.builder import Builder, BuildResult, ImageBuildError, build_image, parse_buildkit_plain
from conformance.docker.context import (KIT_SOURCES, ContextError, build_context, context_slot, helpers_dir,
                                        missing_files, tree_digest)
from conformance.docker.inspect import image_label
from conformance.docker.wheelhouse import WheelhouseError, variant_build_args, wheelhouse_for
from conformance.locks import image_locks, locks_digest, stale_locks

TAG_REPO = "orin-kit"
#: Label every reference image carries: which image of the catalogue it is.
IMAGE_LABEL = "org.orin-kit.image"
#: Label of every image the kit builds: the digest of its whole build input (what its tag abbreviates).
INPUT_LABEL = "org.orin-kit.build-input"
#: Label of every image the kit builds: `sha256:DIGEST` of the locks its wheelhouse came from, or why none.
LOCK_LABEL = "org.orin-kit.lock"
#: Skip reasons that start with this say a check does not apply to the image (by its spec, or because the
#: image was given, not built); any other skip of an image check is a gap in a certification run.
NOT_APPLICABLE = "not applicable: "
#: Build args that name a base image.
BASE_ARGS = ("BASE_IMAGE", "DEVEL_IMAGE")


@dataclass(frozen=True)
class BuiltImage:
    """An image under test: its tag, what the checks expect of it, and its build (None with --image)."""

    name: str
    tag: str
    spec: ImageSpec
    variant: Variant
    build: BuildResult | None
    dockerfile: Path
    #: the exact installed distributions expected (None: not recorded for this image and variant)
    distributions: frozenset[str] | None = None


def _record_path(tag: str) -> Path:
    """Where the build of tag is recorded: per machine user like the engine's images, not per checkout or HOME
    (a fresh clone, or a test run with its own HOME, reuses the same images); ORIN_KIT_BUILD_RECORDS moves it."""
    root = Path(os.environ.get("ORIN_KIT_BUILD_RECORDS") or f"/var/tmp/orin-kit-{os.getuid()}/image-builds")
    return root / (re.sub(r"[^A-Za-z0-9_.-]", "_", tag) + ".json")


def _wheel_listing(wheelhouse: Path) -> str:
    """The wheels a build installs from, by name and size: a later download of other versions is another input."""
    if not wheelhouse.is_dir():
        return ""
    return "\n".join(f"{path.relative_to(wheelhouse)}:{path.stat().st_size}"
                     for path in sorted(wheelhouse.rglob("*.whl")))


def _image_id(docker: str, name: str) -> str:
    result = subprocess.run([docker, "image", "inspect", "--format", "{{.Id}}", name], capture_output=True,
                            text=True, timeout=60, check=False)
    return result.stdout.strip() if result.returncode == 0 else name


class ImageBuilds:
    """Builds each image of one tree at most once per session; a failed build is remembered and re-raised."""

    def __init__(self, builder: Builder, images_dir: Path, variant: Variant, specs: dict[str, ImageSpec],
                 logs_dir: Path, scratch: Path, wheelhouse: Path, timeout_s: float) -> None:
        self.builder = builder
        self.images_dir = images_dir
        self.variant = variant
        self.specs = specs
        self.logs_dir = logs_dir
        self.scratch = scratch
        self.default_wheelhouse = wheelhouse
        self.timeout_s = timeout_s
        self._wheelhouse: Path | None = None
        self._args: dict[str, str] | None = None
        self._context: Path | None = None
        self._input_digest: str | None = None
        self._done: dict[str, BuiltImage | ImageBuildError] = {}
        # Context directories held for the session (released when the process ends): reused across runs.
        self._slots = ExitStack()
        self._slot_root = work_dir() / "contexts"

    @property
    def hermetic(self) -> bool:
        """The variant builds with no network, from the local wheelhouse (generic)."""
        return self.variant.network == "none"

    @property
    def wheelhouse(self) -> Path:
        """The wheels this tree's generic builds install (made from the tree's requirement files)."""
        if self._wheelhouse is None:
            self._wheelhouse = (wheelhouse_for(self.images_dir, self.default_wheelhouse) if self.hermetic
                                else self.default_wheelhouse)
        return self._wheelhouse

    def check_tree(self) -> None:
        """Raise ImageBuildError naming every file the catalogue expects and the tree lacks."""
        required = [path for spec in self.specs.values() for path in (spec.dockerfile, spec.requirements)]
        if missing := missing_files(self.images_dir, required):
            raise ImageBuildError(f"{self.images_dir} lacks {', '.join(missing)}; expected one folder per image "
                                  "laid out like the kit's images/ (docs/images.md, 'What a tree holds')")

    def build_args(self) -> dict[str, str]:
        """The variant's build args (the generic variant's wheelhouse is made first, from this tree)."""
        if self._args is None:
            self._args = variant_build_args(self.variant, self.wheelhouse)
        return self._args

    def context(self) -> Path:
        if self._context is None:
            slot = self._slots.enter_context(context_slot(self._slot_root, self.variant.name))
            self._context = build_context(self.images_dir, self.wheelhouse, slot)
        return self._context

    def input_digest(self) -> str:
        """Digest of everything a build of this tree sees: the tree and its helpers, the kit's sources, the
        build args and the bases they name, the wheels."""
        if self._input_digest is None:
            roots = [self.images_dir, *(SOURCE_ROOT / rel for rel in KIT_SOURCES)]
            helpers = helpers_dir(self.images_dir)
            if helpers.parent != self.images_dir:
                roots.append(helpers)
            args = self.build_args()
            # A base named by a build arg is its image id: a rebuilt stand-in base is another input.
            bases = [_image_id(self.builder.docker, args[key]) for key in BASE_ARGS if key in args]
            extra = "\n".join([repr(sorted(args.items())), *bases, _wheel_listing(self.wheelhouse)])
            self._input_digest = hashlib.sha256((tree_digest(roots) + extra).encode()).hexdigest()
        return self._input_digest

    def lock_label(self) -> str:
        """What this tree's builds install from: `sha256:DIGEST` of its current locks, else why not locked."""
        if not self.hermetic:
            return f"unlocked: the {self.variant.name} variant resolves from its package index"
        locks = list(image_locks(self.images_dir).values())
        if stale := stale_locks(locks):
            return f"unlocked: {len(stale)} of {len(locks)} locks stale or missing"
        return f"sha256:{locks_digest(locks)}"

    def tag_for(self, name: str, purpose: str = "") -> str:
        """`orin-kit/NAME:VARIANT-DIGEST[-PURPOSE]`: distinct per build input, so runs never collide."""
        suffix = f"-{purpose}" if purpose else ""
        return f"{TAG_REPO}/{name}:{self.variant.name}-{self.input_digest()[:12]}{suffix}"

    def get(self, name: str, echo: Callable[[str], object] | None = None) -> BuiltImage:
        """The image name of this tree, built now unless this session (or an earlier run: same input, same
        tag) built it already; echo gets the build's log lines as they come."""
        if name not in self._done:
            spec = self.specs[name]
            dockerfile = self.images_dir / spec.dockerfile
            try:
                self.check_tree()
                result = self._reused(name) or self._build(name, echo)
                self._done[name] = BuiltImage(name, result.tag, spec, self.variant, result, dockerfile)
            except ImageBuildError as exc:
                self._done[name] = exc
            except (ContextError, WheelhouseError) as exc:  # the tree cannot be built: the same verdict
                self._done[name] = ImageBuildError(str(exc))
        done = self._done[name]
        if isinstance(done, ImageBuildError):
            raise done
        return done

    def _build(self, name: str, echo: Callable[[str], object] | None = None) -> BuildResult:
        tag = self.tag_for(name)
        result = build_image(self.builder, self.images_dir / self.specs[name].dockerfile, tag, self.build_args(),
                             self.logs_dir / f"build-{name}-{self.variant.name}.log", context=self.context(),
                             network=self.variant.network, timeout_s=self.timeout_s,
                             labels={INPUT_LABEL: self.input_digest(), LOCK_LABEL: self.lock_label()}, echo=echo)
        record = _record_path(tag)
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"seconds": result.seconds, "log": result.log_path.read_text()}))
        return result

    def _reused(self, name: str) -> BuildResult | None:
        """The recorded build of an image that already carries this input's tag and label, else None."""
        tag = self.tag_for(name)
        record = _record_path(tag)
        if image_label(self.builder.docker, tag, INPUT_LABEL) != self.input_digest() or not record.is_file():
            return None
        data = json.loads(record.read_text())
        log_path = self.logs_dir / f"build-{name}-{self.variant.name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(data["log"])
        return BuildResult(tag, float(data["seconds"]), tuple(parse_buildkit_plain(data["log"])), log_path,
                           reused=True)

    # --- builds that edit a copy of the tree: the cache probe, the benchmarks -----------------------------

    def copy_context(self, purpose: str) -> Path:
        """A private copy of the build context (tree at `images/`) that a check may edit."""
        slot = self._slots.enter_context(context_slot(self._slot_root, f"{self.variant.name}-{purpose}"))
        return build_context(self.images_dir, self.wheelhouse, slot, copy=True)

    def build_in(self, context: Path, name: str, purpose: str, *, no_cache: bool = False,
                 args: Mapping[str, str] | None = None, log_name: str = "",
                 echo: Callable[[str], object] | None = None) -> BuildResult:
        """Build image `name` from an edited context copy, tagged `tag_for(name, purpose)`."""
        return build_image(self.builder, context / "images" / self.specs[name].dockerfile,
                           self.tag_for(name, purpose), {**self.build_args(), **(args or {})},
                           self.logs_dir / (log_name or f"build-{name}-{purpose or 'build'}.log"), context=context,
                           network=self.variant.network, timeout_s=self.timeout_s, no_cache=no_cache, echo=echo)

    def cold_build(self, context: Path, name: str, purpose: str, args: Mapping[str, str]) -> BuildResult:
        """A cold build of `name` from the context copy, for its per-step costs: the recorded cold build of this
        same input when the builder's cache still holds it (an unedited build comes back all CACHED), else a
        build that runs every step (recorded for the next run). A cache holding this input is never paid for
        twice, and a run never reads costs whose layers the cache has since dropped."""
        record = _record_path(self.tag_for(name, f"{purpose}-cold"))
        first = self.build_in(context, name, purpose, args=args, log_name=f"{purpose}-first.log")
        ran = first.rebuilt()
        if not ran and record.is_file():
            data = json.loads(record.read_text())
            log_path = self.logs_dir / f"{purpose}-cold.log"
            log_path.write_text(data["log"])
            return BuildResult(first.tag, float(data["seconds"]), tuple(parse_buildkit_plain(data["log"])),
                               log_path, reused=True)
        every_step = all(not step.cached for step in first.steps if step.is_dockerfile_step
                         and not step.instruction.startswith("FROM "))
        cold = first if ran and every_step else self.build_in(context, name, purpose, no_cache=True, args=args,
                                                              log_name=f"{purpose}-cold.log")
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"seconds": cold.seconds, "log": cold.log_path.read_text()}))
        return cold

    def remove(self, *tags: str) -> None:
        """Untag throwaway images (probe and benchmark builds) so that runs leave no dangling images behind."""
        import docker

        from conformance.docker.containers import client

        for tag in tags:
            try:
                client().images.remove(tag, noprune=True)
            except docker.errors.DockerException:
                pass  # already gone, or still used by a container of another run: it stays tagged

