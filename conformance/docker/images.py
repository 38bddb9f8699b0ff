"""The images under test: each built at most once per session from the tree under test, or taken as given.

Tags name the whole build input (the tree, the kit's sources, the variant's build args), so two trees, or two
concurrent runs of different trees, never share a tag: `orin-kit/NAME:VARIANT-DIGEST`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from conformance import SOURCE_ROOT
from conformance.config.images import ImageSpec, Variant
from conformance.docker.builder import Builder, BuildResult, ImageBuildError, build_image
from conformance.docker.context import KIT_SOURCES, build_context, tree_digest
from conformance.docker.wheelhouse import build_wheelhouse, variant_build_args

TAG_REPO = "orin-kit"
#: Label every reference image carries: which image of the catalogue it is.
IMAGE_LABEL = "org.orin-kit.image"


@dataclass(frozen=True)
class BuiltImage:
    """An image under test: its tag, what the checks expect of it, and its build (None with --image)."""

    name: str
    tag: str
    spec: ImageSpec
    variant: Variant
    build: BuildResult | None
    dockerfile: Path


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
        self.wheelhouse = wheelhouse
        self.timeout_s = timeout_s
        self._args: dict[str, str] | None = None
        self._context: Path | None = None
        self._input_digest: str | None = None
        self._done: dict[str, BuiltImage | ImageBuildError] = {}

    def build_args(self) -> dict[str, str]:
        """The variant's build args (the generic variant's wheelhouse is made first, from this tree)."""
        if self._args is None:
            if self.variant.network == "none":
                build_wheelhouse(self.wheelhouse, images_dir=self.images_dir)
            self._args = variant_build_args(self.variant, self.wheelhouse)
        return self._args

    def context(self) -> Path:
        if self._context is None:
            self._context = build_context(self.images_dir, self.wheelhouse, self.scratch / "context")
        return self._context

    def input_digest(self) -> str:
        """Digest of everything a build of this tree sees: the tree, the kit's sources, the build args."""
        if self._input_digest is None:
            files = tree_digest([self.images_dir, *(SOURCE_ROOT / rel for rel in KIT_SOURCES)])
            args = repr(sorted(self.build_args().items()))
            self._input_digest = hashlib.sha256((files + args).encode()).hexdigest()
        return self._input_digest

    def tag_for(self, name: str, purpose: str = "") -> str:
        """`orin-kit/NAME:VARIANT-DIGEST[-PURPOSE]`: distinct per build input, so runs never collide."""
        suffix = f"-{purpose}" if purpose else ""
        return f"{TAG_REPO}/{name}:{self.variant.name}-{self.input_digest()[:12]}{suffix}"

    def get(self, name: str) -> BuiltImage:
        if name not in self._done:
            spec = self.specs[name]
            dockerfile = self.images_dir / spec.dockerfile
            tag = self.tag_for(name)
            try:
                result = build_image(self.builder, dockerfile, tag, self.build_args(),
                                     self.logs_dir / f"build-{name}-{self.variant.name}.log",
                                     context=self.context(), network=self.variant.network,
                                     timeout_s=self.timeout_s)
                self._done[name] = BuiltImage(name, tag, spec, self.variant, result, dockerfile)
            except ImageBuildError as exc:
                self._done[name] = exc
        done = self._done[name]
        if isinstance(done, ImageBuildError):
            raise done
        return done
