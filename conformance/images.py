"""Building and inspecting the reference images (issue 6).

Wheelhouse (hermetic builds), image builds with timing and the BuildKit log, layer digests mapped to
Dockerfile steps, sizes, known-bad Dockerfile variants made by named edits, and a flaky local wheel server
for the retry check. The checks in ``conformance/test_image_*.py`` use these; so do ``mk/images.mk``
(``python -m conformance.images wheelhouse``) and ``images/build.sh``.
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from conformance import FIXTURES_DIR, REPO_ROOT
from conformance.engine import Builder, BuildStep, parse_buildkit_plain

IMAGES_FIXTURES = FIXTURES_DIR / "images"
VARIANTS_FILE = IMAGES_FIXTURES / "variants.yaml"
KNOWN_BAD_FILE = IMAGES_FIXTURES / "known_bad.yaml"
IMAGES_DIR = REPO_ROOT / "images"
WHEELHOUSE = REPO_ROOT / "build" / "wheelhouse"
WHEELHOUSE_SPEC = IMAGES_FIXTURES / "wheelhouse.yaml"
TAG_REPO = "orin-kit"


class ImagesError(RuntimeError):
    """An image could not be described, built or inspected; the message says what and how to fix it."""


class ImageBuildError(ImagesError):
    """`docker build` failed; the message carries the tail of the BuildKit log."""


# --- data ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Variant:
    """A set of build args that builds every image for one kind of target (fixtures/images/variants.yaml)."""

    name: str
    build_args: Mapping[str, str]
    network: str
    torch_version: str
    elf_machine: str  # "x86-64", "AArch64", or "host" (the machine this runs on)


@dataclass(frozen=True)
class ImageSpec:
    """What the checks expect of one image (fixtures/images/variants.yaml, `images:`)."""

    name: str
    dockerfile: str
    requirements: str
    has_torch: bool
    native_modules: tuple[str, ...]
    app_module: str
    system_packages: tuple[str, ...]
    writable_dirs: tuple[str, ...]
    heavy_step_marker: str | None = None
    optional_modules: tuple[str, ...] = ()
    port: int | None = None
    nms_library: str | None = None


def _require(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise ImagesError(f"{where}: missing field '{key}' (see {VARIANTS_FILE.relative_to(REPO_ROOT)})")
    return mapping[key]


def load_variants(path: Path = VARIANTS_FILE) -> tuple[dict[str, Variant], dict[str, ImageSpec]]:
    """Variants and image specs, validated; raises ImagesError naming the file and field."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ImagesError(f"cannot read image variants from {path}: {exc}") from exc
    if not isinstance(data, dict) or "variants" not in data or "images" not in data:
        raise ImagesError(f"{path}: expected mappings 'variants' and 'images' at top level")
    variants = {
        name: Variant(
            name=name,
            build_args={str(k): str(v) for k, v in (spec.get("build_args") or {}).items()},
            network=str(spec.get("network", "default")),
            torch_version=str(_require(spec, "torch_version", f"{path}: variant {name}")),
            elf_machine=str(_require(spec, "elf_machine", f"{path}: variant {name}")),
        )
        for name, spec in data["variants"].items()
    }
    images = {}
    for name, spec in data["images"].items():
        where = f"{path}: image {name}"
        images[name] = ImageSpec(
            name=name,
            dockerfile=str(_require(spec, "dockerfile", where)),
            requirements=str(_require(spec, "requirements", where)),
            has_torch=bool(_require(spec, "has_torch", where)),
            native_modules=tuple(_require(spec, "native_modules", where)),
            app_module=str(_require(spec, "app_module", where)),
            system_packages=tuple(_require(spec, "system_packages", where)),
            writable_dirs=tuple(_require(spec, "writable_dirs", where)),
            heavy_step_marker=spec.get("heavy_step_marker"),
            optional_modules=tuple(spec.get("optional_modules") or ()),
            port=spec.get("port"),
            nms_library=spec.get("nms_library"),
        )
    return variants, images


# --- wheelhouse --------------------------------------------------------------------------------------------

def _pip_download(args: Sequence[str], dest: Path, python_version: str) -> None:
    argv = [sys.executable, "-m", "pip", "download", "--only-binary=:all:",
            "--python-version", python_version, "--dest", str(dest), *args]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=1800, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise ImagesError(f"pip download {' '.join(args)} failed (exit {result.returncode}); expected every "
                          f"wheel to be reachable from the package index or find-links:\n{tail}")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_wheelhouse(out: Path = WHEELHOUSE, spec_path: Path = WHEELHOUSE_SPEC, repo: Path = REPO_ROOT) -> Path:
    """Download on the host every wheel the generic builds need (idempotent: a stamp records the spec).

    Layout: ``torch/`` holds the pinned torch wheel and its dependencies (bind-mounted by the torch layer
    only, so changes elsewhere never touch that layer's cache key); ``pypi/`` holds the rest.
    """
    spec = yaml.safe_load(spec_path.read_text())
    inputs = json.dumps(spec, sort_keys=True) + "".join(
        (repo / req).read_text() for group in spec["groups"].values() for req in group.get("requirements", [])
        + group.get("no_deps_requirements", []))
    stamp_value = hashlib.sha256(inputs.encode()).hexdigest()
    stamp = out / ".stamp"
    if stamp.is_file() and stamp.read_text().strip() == stamp_value:
        return out
    python_version = str(spec["python_version"])
    staging = Path(tempfile.mkdtemp(prefix=".wheelhouse-", dir=out.parent if out.parent.exists() else None))
    try:
        for group_name, group in spec["groups"].items():
            dest = staging / group_name
            dest.mkdir(parents=True)
            for req in group.get("requirements", []):
                _pip_download(["-r", str(repo / req)], dest, python_version)
            for req in group.get("no_deps_requirements", []):
                _pip_download(["--no-deps", "-r", str(repo / req)], dest, python_version)
            if group.get("packages"):
                _pip_download(list(group["packages"]), dest, python_version)
            if group.get("packages_no_deps"):
                _pip_download(["--no-deps", *group["packages_no_deps"]], dest, python_version)
        (staging / ".stamp").write_text(stamp_value + "\n")
        # Swap in whole: a half-downloaded wheelhouse is never left under the real name.
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out


def torch_wheel(wheelhouse: Path = WHEELHOUSE) -> Path:
    """The one torch wheel of the wheelhouse's torch layer."""
    found = sorted((wheelhouse / "torch").glob("torch-*.whl"))
    if len(found) != 1:
        raise ImagesError(f"expected exactly one torch wheel in {wheelhouse / 'torch'}, found {len(found)}; "
                          "run `make images-wheelhouse`")
    return found[0]


def variant_build_args(variant: Variant, wheelhouse: Path = WHEELHOUSE) -> dict[str, str]:
    """The variant's build args with {torch_wheel} and {torch_sha256} filled in from the wheelhouse."""
    values: dict[str, str] = {}
    if any("{torch" in value for value in variant.build_args.values()):
        wheel = torch_wheel(wheelhouse)
        # Kept beside, not inside, torch/: that folder is the torch layer's bind mount (its cache key).
        sha_file = wheelhouse / (wheel.name + ".sha256")
        if not sha_file.is_file():
            sha_file.write_text(sha256_of(wheel) + "\n")
        values = {"torch_wheel": wheel.name, "torch_sha256": sha_file.read_text().strip()}
    return {key: value.format(**values) for key, value in variant.build_args.items()}


def dockerfile_arg_default(dockerfile: Path, name: str) -> str:
    """The default value of `ARG name=...` in dockerfile; raises ImagesError when it has none."""
    for line in dockerfile.read_text().splitlines():
        if line.startswith(f"ARG {name}="):
            return line.split("=", 1)[1].strip()
    raise ImagesError(f"{dockerfile} declares no default for `ARG {name}=`")


# --- builds -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BuildResult:
    """A finished build: its tag, wall time, BuildKit steps and the log file it wrote."""

    tag: str
    seconds: float
    steps: tuple[BuildStep, ...]
    log_path: Path

    def step(self, marker: str) -> BuildStep:
        """The (last-stage) step whose text contains marker."""
        matches = [s for s in self.steps if marker in s.name]
        if not matches:
            raise ImagesError(f"no build step of {self.tag} contains '{marker}'; steps: "
                              + "; ".join(s.name[:80] for s in self.steps))
        return matches[-1]


def build_image(builder: Builder, dockerfile: Path, tag: str, build_args: Mapping[str, str],
                log_path: Path, context: Path = REPO_ROOT, network: str = "default",
                timeout_s: float = 3600, no_cache: bool = False) -> BuildResult:
    """Build dockerfile in context as tag with plain progress, saving the BuildKit log to log_path."""
    extra = [f"--network={network}"]
    if no_cache:
        extra.append("--no-cache")
    argv = builder.build_argv(context, dockerfile, tag, build_args, extra)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s,
                                env=builder.run_env(), check=False)
    except subprocess.TimeoutExpired as exc:
        raise ImageBuildError(f"building {tag} from {dockerfile} took over {timeout_s:.0f} s") from exc
    seconds = time.monotonic() - start
    log = result.stdout + result.stderr
    log_path.write_text(f"$ {' '.join(argv)}\n{log}")
    if result.returncode != 0:
        tail = "\n".join(log.strip().splitlines()[-25:])
        raise ImageBuildError(f"building {tag} from {dockerfile} failed (exit {result.returncode}); "
                              f"full log {log_path}:\n{tail}")
    return BuildResult(tag, seconds, tuple(parse_buildkit_plain(log)), log_path)


def docker_json(docker: str, *args: str) -> Any:
    """Run a docker command that prints JSON and parse it."""
    result = subprocess.run([docker, *args], capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise ImagesError(f"`docker {' '.join(args)}` failed: {result.stderr.strip()}")
    return json.loads(result.stdout)


@dataclass(frozen=True)
class Layer:
    """One history entry of an image: the Dockerfile instruction and the layer it made (None if empty)."""

    created_by: str
    diff_id: str | None


#: Dockerfile instructions that change only the image config, never the filesystem (no layer).
CONFIG_ONLY = frozenset({"ARG", "CMD", "ENTRYPOINT", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL", "MAINTAINER",
                         "ONBUILD", "SHELL", "STOPSIGNAL", "USER", "VOLUME"})


def _makes_layer(created_by: str) -> bool:
    text = created_by.strip()
    if text.startswith("/bin/sh -c #(nop) "):  # the classic builder's notation
        text = text.removeprefix("/bin/sh -c #(nop) ").strip()
        return text.split(" ", 1)[0] in ("COPY", "ADD")
    return text.split(" ", 1)[0] not in CONFIG_ONLY


def layers(docker: str, tag: str) -> list[Layer]:
    """History entries oldest first, each paired with its RootFS diff id (None for config-only entries).

    BuildKit gives every RUN, COPY, ADD and WORKDIR a layer, even an empty one, so the mapping goes by
    instruction; a count that does not match the image's layers raises ImagesError.
    """
    diff_ids: list[str] = list(docker_json(docker, "image", "inspect", tag)[0]["RootFS"]["Layers"])
    history = subprocess.run([docker, "history", "--no-trunc", "--format", "{{json .CreatedBy}}", tag],
                             capture_output=True, text=True, timeout=60, check=False)
    if history.returncode != 0:
        raise ImagesError(f"`docker history {tag}` failed: {history.stderr.strip()}")
    created = [str(json.loads(line)) for line in history.stdout.splitlines() if line.strip()][::-1]
    with_layer = [_makes_layer(c) for c in created]
    if sum(with_layer) != len(diff_ids):
        raise ImagesError(f"{tag}: {sum(with_layer)} history entries make a layer but the image has "
                          f"{len(diff_ids)} layers; cannot map layers to Dockerfile steps")
    layer_iter = iter(diff_ids)
    return [Layer(c, next(layer_iter) if has else None) for c, has in zip(created, with_layer)]


def image_size_bytes(docker: str, tag: str) -> int:
    return int(docker_json(docker, "image", "inspect", tag)[0]["Size"])


# --- known-bad variants ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class KnownBad:
    """A known-bad Dockerfile: the real one with named edits, and the one check it must fail."""

    name: str
    image: str
    check: str
    expect: str
    why: str
    outcomes: Mapping[str, int] = field(default_factory=dict)
    edits: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def load_known_bad(path: Path = KNOWN_BAD_FILE) -> dict[str, KnownBad]:
    data = yaml.safe_load(path.read_text())
    out = {}
    for name, spec in data.items():
        edits = tuple((str(e["find"]), str(e["replace"])) for e in spec["edits"])
        out[name] = KnownBad(name, str(spec["image"]), str(spec["check"]), str(spec["expect"]),
                             str(spec["why"]), {str(k): int(v) for k, v in spec["outcomes"].items()}, edits)
    return out


def apply_edits(text: str, edits: Sequence[tuple[str, str]], where: str) -> str:
    """Apply find/replace edits, each of whose find text must occur exactly once (so a known-bad variant
    breaks loudly, instead of silently becoming the good image, when the real Dockerfile changes)."""
    for find, replace in edits:
        count = text.count(find)
        if count != 1:
            raise ImagesError(f"{where}: edit expects its find text exactly once in the Dockerfile, found "
                              f"{count} times; update {KNOWN_BAD_FILE.relative_to(REPO_ROOT)}: {find[:80]!r}")
        text = text.replace(find, replace)
    return text


def make_known_bad_images_dir(bad: KnownBad, dest: Path, images_dir: Path = IMAGES_DIR) -> Path:
    """A copy of images_dir whose image `bad.image` has the known-bad Dockerfile; returns dest."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(images_dir, dest)
    _, specs = load_variants()
    dockerfile = dest / specs[bad.image].dockerfile
    dockerfile.write_text(apply_edits(dockerfile.read_text(), bad.edits, f"known-bad {bad.name}"))
    return dest


# --- build context copies (cache probe) ------------------------------------------------------------------

CONTEXT_PATHS = (".dockerignore", "app", "nms_cpp", "images", "build/wheelhouse")


def copy_build_context(dest: Path, repo: Path = REPO_ROOT) -> Path:
    """Copy what the images' build context uses into dest (wheels hard-linked, not copied)."""
    for rel in CONTEXT_PATHS:
        src = repo / rel
        target = dest / rel
        if not src.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            copy = _link_or_copy if rel.startswith("build/") else shutil.copy2
            shutil.copytree(src, target, copy_function=copy,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "build"))
        else:
            shutil.copy2(src, target)
    return dest


def _link_or_copy(src: str, dst: str) -> str:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst


# --- a flaky wheel server (retry check) --------------------------------------------------------------------

class FlakyWheelServer:
    """Serve one file on 127.0.0.1 after answering the first `failures` requests with HTTP 503.

    A context manager; `url` is the file's URL and `requests` counts what was asked. Local only: the
    retry check never touches a network.
    """

    def __init__(self, wheel: Path, failures: int = 3) -> None:
        self.wheel = wheel
        self.failures = failures
        self.requests = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                server.requests += 1
                if self.path != f"/{server.wheel.name}":
                    self.send_error(404)
                    return
                if server.requests <= server.failures:
                    self.send_error(503, "flaky on purpose")
                    return
                body = server.wheel.read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the http.server API
                return

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/{self.wheel.name}"

    def __enter__(self) -> FlakyWheelServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


# --- containers -------------------------------------------------------------------------------------------

class Container:
    """A detached container of an image, removed on exit (a context manager)."""

    def __init__(self, docker: str, tag: str, args: Sequence[str] = (), command: Sequence[str] = ()) -> None:
        self.docker = docker
        self.tag = tag
        self.args = list(args)
        self.command = list(command)
        self.id = ""

    def __enter__(self) -> Container:
        result = subprocess.run([self.docker, "run", "-d", *self.args, self.tag, *self.command],
                                capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise ImagesError(f"`docker run {self.tag}` failed: {result.stderr.strip()}")
        self.id = result.stdout.strip()
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run([self.docker, "rm", "-f", "-v", self.id], capture_output=True, timeout=60, check=False)

    def exec(self, *argv: str, user: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        extra = ["--user", user] if user else []
        return subprocess.run([self.docker, "exec", *extra, self.id, *argv], capture_output=True, text=True,
                              timeout=timeout, check=False)

    def inspect(self) -> dict[str, Any]:
        return dict(docker_json(self.docker, "inspect", self.id)[0])

    def logs(self) -> str:
        result = subprocess.run([self.docker, "logs", self.id], capture_output=True, text=True, timeout=60,
                                check=False)
        return result.stdout + result.stderr

    def wait_health(self, timeout_s: float) -> str:
        """Poll the HEALTHCHECK status until healthy, unhealthy, exited or timeout_s; return the last one."""
        deadline = time.monotonic() + timeout_s
        status = "none"
        while time.monotonic() < deadline:
            state = self.inspect()["State"]
            if not state.get("Running"):
                return f"exited (code {state.get('ExitCode')})"
            status = str((state.get("Health") or {}).get("Status", "none"))
            if status in ("healthy", "unhealthy"):
                return status
            time.sleep(1)
        return status

    def stop_seconds(self, grace_s: int = 10) -> float:
        """Wall time of `docker stop -t grace_s`."""
        start = time.monotonic()
        subprocess.run([self.docker, "stop", "-t", str(grace_s), self.id], capture_output=True,
                       timeout=grace_s + 60, check=False)
        return time.monotonic() - start


def run_in_image(docker: str, tag: str, command: Sequence[str], args: Sequence[str] = (),
                 timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`docker run --rm` a command in a fresh container of tag (no network)."""
    return subprocess.run([docker, "run", "--rm", "--network=none", *args, tag, *command],
                          capture_output=True, text=True, timeout=timeout, check=False)


# --- command line ---------------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.images",
                                     description="Helpers for the reference images.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("wheelhouse", help=f"download the generic builds' wheels into {WHEELHOUSE}")
    args_p = sub.add_parser("build-args", help="print --build-arg options of a variant, one per line")
    args_p.add_argument("variant")
    args = parser.parse_args(argv)
    try:
        if args.command == "wheelhouse":
            print(build_wheelhouse())
        else:
            variants, _ = load_variants()
            if args.variant not in variants:
                raise ImagesError(f"unknown variant '{args.variant}'; expected one of {', '.join(variants)}")
            for key, value in variant_build_args(variants[args.variant]).items():
                print(f"--build-arg={key}={value}")
    except ImagesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

