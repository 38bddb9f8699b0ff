"""Locks: every package the kit installs comes from a lock file with hashes, made on purpose by `make lock`.

A lock is uv's `pip compile --generate-hashes` output (pip and uv both install it), with one line of our own
on top recording the digest of what it was made from. A lock whose inputs changed since is stale: the tests
fail on it, and nothing installs from it. Two families, one format:

- the kit's own environment, in `locks/` of the checkout: `kit.txt` (every extra and the build backend, for
  the Python and platform CI and developers run), `device.txt` and `device-jetson.txt` (the device
  install alone, for the CI host and for JetPack 6), `arm64-rehearsal.txt`, `uv.txt` (the installers, installed by pip) and `sahi.txt`
  (the tiled benchmark's peer, which cannot share an environment with its own dependencies);
- the generic images' wheelhouse, in the images tree (`images/locks/GROUP/NAME.txt`): one lock per download
  that `fixtures/images/wheelhouse.yaml` lists, so that a tree under test carries its own and an edit of its
  requirements without a new lock is seen (the image check and the wheelhouse both read it).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from conformance import IMAGES_DIR, SOURCE_ROOT
from conformance.config.images import WHEELHOUSE_SPEC, load_wheelhouse_spec
from conformance.util.files import write_atomically

#: The first line of every lock: what it was made from, so that staleness is a comparison, not a re-resolve.
HEADER = "# orin-kit lock, input sha256:{digest}; made by `make lock` (python -m conformance lock), do not edit\n"
_HEADER_RE = re.compile(r"^# orin-kit lock, input sha256:([0-9a-f]{64});")
#: The kit's environment is locked for the machines that run `make test`: CI and developers' x86 hosts.
KIT_PYTHON = "3.11"
KIT_PLATFORM = "x86_64-manylinux_2_28"
#: JetPack 6 is Ubuntu 22.04 (glibc 2.35) on aarch64 with Python 3.10: the device install is locked for it.
JETPACK_PYTHON = "3.10"
JETPACK_PLATFORM = "aarch64-manylinux_2_28"
#: The generic images' stand-in base is Debian bookworm on the host's architecture, glibc 2.36.
IMAGES_PLATFORM = "x86_64-manylinux_2_28"
#: An include line of a requirement file: its target is an input too.
_INCLUDE_RE = re.compile(r"^\s*(?:-c|-r|--constraint|--requirement)[\s=]+(\S+)", re.MULTILINE)


class LockError(RuntimeError):
    """A lock could not be made or read; the message names the lock and what to do."""


@dataclass(frozen=True)
class LockSpec:
    """One lock: where it lives and what it is resolved from (files handed to uv, and requirement strings)."""

    path: Path
    #: what it is for, as `make lock` and the stale-lock message name it
    title: str
    sources: tuple[Path, ...] = ()
    packages: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    no_deps: bool = False
    python_version: str = KIT_PYTHON
    platform: str = KIT_PLATFORM
    #: where source names in the digest are relative to (moving a checkout must not stale its locks)
    root: Path = field(default=SOURCE_ROOT)

    def input_digest(self) -> str:
        """Digest of everything that decides this lock's content."""
        files = {}
        for source in self.sources:
            for path in _with_includes(source):
                files[os.path.relpath(path, self.root)] = _relevant_text(path)
        decided_by = {"files": files, "packages": list(self.packages), "extras": list(self.extras),
                      "no_deps": self.no_deps, "python": self.python_version, "platform": self.platform}
        return hashlib.sha256(json.dumps(decided_by, sort_keys=True).encode()).hexdigest()

    def recorded_digest(self) -> str | None:
        """The input digest the lock was made from, or None when there is no lock (or not one of ours)."""
        if not self.path.is_file():
            return None
        match = _HEADER_RE.match(self.path.read_text().split("\n", 1)[0])
        return match.group(1) if match else None

    def stale(self) -> str | None:
        """Why the lock cannot be installed from (missing, or made from other inputs), else None."""
        recorded = self.recorded_digest()
        shown = os.path.relpath(self.path, self.root)
        if recorded is None:
            return f"{shown} ({self.title}) is missing or has no input digest; fix: `make lock`"
        if recorded != self.input_digest():
            inputs = ", ".join(os.path.relpath(s, self.root) for s in self.sources) or "its package list"
            return (f"{shown} ({self.title}) is stale: {inputs} changed since it was made; "
                    "fix: `make lock` and commit the lock with the change")
        return None


def _with_includes(path: Path) -> list[Path]:
    """path and every requirement file it includes (-c/-r), recursively."""
    seen: list[Path] = []
    todo = [path]
    while todo:
        current = todo.pop()
        if current in seen or not current.is_file():
            continue
        seen.append(current)
        if current.suffix != ".toml":
            todo += [current.parent / name for name in _INCLUDE_RE.findall(current.read_text())]
    return seen


def _relevant_text(path: Path) -> str:
    """What of a source decides a lock: a requirement file whole; of a pyproject.toml only its dependency
    tables (its version, tool settings and prose do not move a resolution)."""
    if not path.is_file():
        return "<missing>"
    if path.name != "pyproject.toml":
        return path.read_text()
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - the lock tool runs where the kit is developed (3.11+)
        import tomli as tomllib
    data = tomllib.loads(path.read_text())
    project = data.get("project", {})
    return json.dumps({"requires-python": project.get("requires-python"),
                       "dependencies": project.get("dependencies", []),
                       "optional-dependencies": project.get("optional-dependencies", {}),
                       "build-system": data.get("build-system", {}).get("requires", [])}, sort_keys=True)


def kit_locks(root: Path = SOURCE_ROOT) -> list[LockSpec]:
    """The kit's environment: the installer, then every extra with the build backend (`make venv`)."""
    pyproject = root / "pyproject.toml"
    locks_dir = root / "locks"
    return [
        LockSpec(locks_dir / "uv.txt", "the installers", sources=(locks_dir / "uv.in",), root=root),
        LockSpec(locks_dir / "kit.txt", "the kit's environment, every extra", sources=(pyproject,),
                 packages=tuple(_build_requires(pyproject)), extras=("all",), root=root),
        LockSpec(locks_dir / "device.txt", "the device install, on the CI host (proves collection with it alone)",
                 sources=(pyproject,), extras=("device",), root=root),
        LockSpec(locks_dir / "device-jetson.txt", "the device install on an Orin: JetPack 6, aarch64, Python 3.10",
                 sources=(pyproject,), extras=("device",), python_version=JETPACK_PYTHON,
                 platform=JETPACK_PLATFORM, root=root),
        LockSpec(locks_dir / "arm64-rehearsal.txt", "the arm64 rehearsal: the device install and the NMS tests' "
                 "hypothesis, for Debian bookworm arm64", sources=(pyproject, locks_dir / "arm64-rehearsal.in"),
                 extras=("device",), platform=JETPACK_PLATFORM, root=root),
        LockSpec(locks_dir / "arm64-torch-stand-in.txt", "the arm64 rehearsal's stand-in for the Jetson torch wheel",
                 sources=(locks_dir / "arm64-torch-stand-in.in",), platform=JETPACK_PLATFORM, root=root),
        LockSpec(locks_dir / "sahi.txt", "the tiled benchmark's SAHI peer, without its dependencies",
                 sources=(locks_dir / "sahi.in",), no_deps=True, root=root),
    ]


def _build_requires(pyproject: Path) -> list[str]:
    """The build backend (`pip install -e .` without build isolation takes it from the locked venv)."""
    text = json.loads(_relevant_text(pyproject))["build-system"] if pyproject.is_file() else []
    return [str(item) for item in text]


def image_locks(images_dir: Path = IMAGES_DIR, spec_path: Path = WHEELHOUSE_SPEC) -> dict[str, LockSpec]:
    """One lock per download of the wheelhouse spec, keyed `GROUP/NAME` (NAME: the requirement file's path
    with '/' as '-', or `packages` / `packages-no-deps`)."""
    spec = load_wheelhouse_spec(spec_path)
    platform = IMAGES_PLATFORM
    locks: dict[str, LockSpec] = {}

    def add(group: str, name: str, title: str, **kwargs: object) -> None:
        key = f"{group}/{name}"
        locks[key] = LockSpec(images_dir / "locks" / group / f"{name}.txt", f"wheelhouse {title}",
                              python_version=spec.python_version, platform=platform, root=images_dir,
                              **kwargs)  # type: ignore[arg-type]

    for group_name, group in spec.groups.items():
        for req in group.requirements:
            add(group_name, _slug(req), req, sources=(images_dir / req,))
        for req in group.no_deps_requirements:
            add(group_name, _slug(req), f"{req} (no dependencies)", sources=(images_dir / req,), no_deps=True)
        if group.packages:
            add(group_name, "packages", f"{group_name} packages", packages=group.packages)
        if group.packages_no_deps:
            add(group_name, "packages-no-deps", f"{group_name} packages (no dependencies)",
                packages=group.packages_no_deps, no_deps=True)
    return locks


def _slug(requirement_file: str) -> str:
    return Path(requirement_file).with_suffix("").as_posix().replace("/", "-")


def locks_digest(locks: list[LockSpec]) -> str:
    """Digest of the locks' texts: what an image built from them records in its label."""
    digest = hashlib.sha256()
    for lock in sorted(locks, key=lambda item: str(item.path)):
        digest.update(lock.path.read_bytes() if lock.path.is_file() else b"<missing>")
    return digest.hexdigest()


def all_locks(root: Path = SOURCE_ROOT, images_dir: Path = IMAGES_DIR) -> list[LockSpec]:
    return [*kit_locks(root), *image_locks(images_dir).values()]


def stale_locks(locks: list[LockSpec]) -> list[str]:
    """One line per lock that cannot be installed from, saying why and the fix."""
    return [reason for lock in locks if (reason := lock.stale())]


def find_uv() -> str:
    """The uv beside this interpreter (the locked venv's), else on PATH."""
    here = Path(sys.executable).parent / "uv"
    found = str(here) if here.is_file() else shutil.which("uv")
    if not found:
        raise LockError("uv not found beside this Python or on PATH; expected the kit's venv (`make venv` "
                        "installs it from locks/uv.txt)")
    return found


def make_lock(lock: LockSpec, uv: str | None = None, upgrade: bool = False) -> None:
    """Resolve lock's inputs with uv (hashes of every file of each pinned version) and write it atomically.

    The previous lock's pins are kept where they still satisfy the inputs (uv reads the output file as
    preferences); `upgrade` resolves everything anew.
    """
    if missing := [str(source) for source in lock.sources if not source.is_file()]:
        raise LockError(f"cannot make {lock.path} ({lock.title}): {', '.join(missing)} missing; expected the "
                        "requirement files it is made from")
    uv = uv or find_uv()
    with tempfile.TemporaryDirectory(prefix="orin-kit-lock-") as tmp:
        sources = [os.path.relpath(source, lock.root) for source in lock.sources]
        if lock.packages:
            listed = Path(tmp) / "packages.in"
            listed.write_text("\n".join(lock.packages) + "\n")
            sources.append(str(listed))
        out = Path(tmp) / "lock.txt"
        if lock.path.is_file() and not upgrade:
            shutil.copy(lock.path, out)
        argv = [uv, "pip", "compile", *sources, "--generate-hashes", "--no-header", "--quiet",
                "--python-version", lock.python_version, "--python-platform", lock.platform,
                "--output-file", str(out)]
        argv += [arg for extra in lock.extras for arg in ("--extra", extra)]
        if lock.no_deps:
            argv.append("--no-deps")
        result = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False, cwd=lock.root,
                                env=_uv_env())
        if result.returncode != 0:
            tail = "\n".join(result.stderr.strip().splitlines()[-12:])
            raise LockError(f"resolving {lock.title} for {lock.path} failed (uv exit {result.returncode}); "
                            f"expected every requirement to resolve from the index or find-links:\n{tail}")
        body = out.read_text().replace(tmp + "/", "")
        if lock.platform.startswith("x86_64") and (cuda := re.findall(r"^(nvidia-[\w-]+)==", body, re.MULTILINE)):
            raise LockError(f"resolving {lock.title} pulled torch's CUDA build ({', '.join(cuda[:3])}, ...), not the CPU "
                            "wheel; expected torch==2.13.0+cpu: give uv its location (UV_FIND_LINKS=DIR, or "
                            "UV_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu); nothing was written")
        write_atomically(lock.path, HEADER.format(digest=lock.input_digest()) + body)


def _uv_env() -> dict[str, str]:
    """uv reads its own settings, not pip's: where pip is told of find-links (the CPU torch wheel may lie there),
    uv is too; and it trusts the system's certificates, as pip does here."""
    env = dict(os.environ)
    if "UV_FIND_LINKS" not in env and env.get("PIP_FIND_LINKS"):
        env["UV_FIND_LINKS"] = env["PIP_FIND_LINKS"]
    env.setdefault("UV_NATIVE_TLS", "1")
    return env
