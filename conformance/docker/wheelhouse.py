"""The wheelhouse: every wheel the generic builds install, downloaded on the host so builds need no network.

Layout: ``torch/`` holds the pinned torch wheel and its dependencies (bind-mounted by the torch layer only,
so changes elsewhere never touch that layer's cache key); ``pypi/`` holds the rest. Requirement files named
in `fixtures/images/wheelhouse.yaml` are read from the images tree under test.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from conformance import IMAGES_DIR, work_dir
from conformance.config.images import WHEELHOUSE_SPEC, Variant, load_wheelhouse_spec
from conformance.util.files import sha256_of


class WheelhouseError(RuntimeError):
    """A wheel could not be downloaded or found; the message says which and what to run."""


def default_wheelhouse() -> Path:
    return work_dir() / "wheelhouse"


def _pip_download(args: Sequence[str], dest: Path, python_version: str) -> None:
    argv = [sys.executable, "-m", "pip", "download", "--only-binary=:all:",
            "--python-version", python_version, "--dest", str(dest), *args]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=1800, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise WheelhouseError(f"pip download {' '.join(args)} failed (exit {result.returncode}); expected every "
                          f"wheel to be reachable from the package index or find-links:\n{tail}")


def build_wheelhouse(out: Path | None = None, spec_path: Path = WHEELHOUSE_SPEC,
                     images_dir: Path = IMAGES_DIR) -> Path:
    """Download on the host every wheel the generic builds need (idempotent: a stamp records the spec).

    Layout: ``torch/`` holds the pinned torch wheel and its dependencies (bind-mounted by the torch layer
    only, so changes elsewhere never touch that layer's cache key); ``pypi/`` holds the rest.
    """
    out = out or default_wheelhouse()
    spec = load_wheelhouse_spec(spec_path)
    inputs = spec.model_dump_json() + "".join(
        (images_dir / req).read_text() for group in spec.groups.values()
        for req in (*group.requirements, *group.no_deps_requirements))
    stamp_value = hashlib.sha256(inputs.encode()).hexdigest()
    stamp = out / ".stamp"
    if stamp.is_file() and stamp.read_text().strip() == stamp_value:
        return out
    python_version = spec.python_version
    staging = Path(tempfile.mkdtemp(prefix=".wheelhouse-", dir=out.parent if out.parent.exists() else None))
    try:
        for group_name, group in spec.groups.items():
            dest = staging / group_name
            dest.mkdir(parents=True)
            for req in group.requirements:
                _pip_download(["-r", str(images_dir / req)], dest, python_version)
            for req in group.no_deps_requirements:
                _pip_download(["--no-deps", "-r", str(images_dir / req)], dest, python_version)
            if group.packages:
                _pip_download(list(group.packages), dest, python_version)
            if group.packages_no_deps:
                _pip_download(["--no-deps", *group.packages_no_deps], dest, python_version)
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


def torch_wheel(wheelhouse: Path) -> Path:
    """The one torch wheel of the wheelhouse's torch layer."""
    found = sorted((wheelhouse / "torch").glob("torch-*.whl"))
    if len(found) != 1:
        raise WheelhouseError(f"expected exactly one torch wheel in {wheelhouse / 'torch'}, found {len(found)}; "
                          "run `make images-wheelhouse`")
    return found[0]


def variant_build_args(variant: Variant, wheelhouse: Path) -> dict[str, str]:
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


