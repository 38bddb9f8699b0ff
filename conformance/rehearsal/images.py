"""Both images built for arm64 from their one Dockerfile, the way the jetson variant builds them, on stand-ins:

- the L4T bases: the rehearsal's arm64 root (python3, pip, g++, tini, ... as the Dockerfiles expect of an L4T base,
  and `/etc/nv_tegra_release` of a recorded Orin), imported as an image labelled a stand-in;
- the Jetson torch wheel: torch 2.5.1's CPU wheel for aarch64 (the Jetson wheel is 2.5.0a0), from its lock;
- NVIDIA's index: the aarch64 wheels of the images' own locks, from a host wheelhouse (builds without network).

Then the image checks that need no GPU run against them under emulation, as `--image` certifications. It proves
the Dockerfiles, their rules and the C++ build on aarch64; never that NVIDIA's bases or wheels behave.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from conformance import FIXTURES_DIR, IMAGES_DIR, SOURCE_ROOT
from conformance.config.images import load_variants
from conformance.config.rehearsal import Rehearsal
from conformance.docker.builder import ImageBuildError, build_image, detect_builder
from conformance.docker.context import build_context
from conformance.docker.inspect import image_label
from conformance.rehearsal import RehearsalError
from conformance.rehearsal.rootfs import KIT_IN_ROOT, WHEELS_IN_ROOT, aarch64_wheels
from conformance.rehearsal.steps import Outcome
from conformance.util.files import sha256_of, write_atomically

STAND_IN_LABEL = "org.orin-kit.stand-in"
BASE_REPO = "orin-kit/l4t-stand-in"
#: Left out of the stand-in base: what the rehearsal itself put in the root.
NOT_IN_BASE = (KIT_IN_ROOT, "/opt/venv", WHEELS_IN_ROOT, "/tmp", "/proc")


def stand_in_base(root: Path, plan: Rehearsal, docker: str) -> str:
    """The arm64 root as an image standing in for the L4T bases (made once per root)."""
    tag = f"{BASE_REPO}:r36-arm64-{root.name.removeprefix('root-')}"
    if image_label(docker, tag, STAND_IN_LABEL):
        return tag
    release = FIXTURES_DIR / "devices" / plan.images.release_from / "etc" / "nv_tegra_release"
    shutil.copy(release, root / "etc" / "nv_tegra_release")
    excludes = [f"--exclude=.{path}" for path in NOT_IN_BASE]
    label = f"LABEL {STAND_IN_LABEL}=\"Debian {plan.root.suite} arm64 standing in for NVIDIA's L4T base\""
    tar = subprocess.Popen(["tar", "-C", str(root), *excludes, "-c", "."], stdout=subprocess.PIPE)
    imported = subprocess.run([docker, "import", "--change", label, "-", tag], stdin=tar.stdout,
                              capture_output=True, text=True, timeout=900, check=False)
    tar.wait()
    if imported.returncode != 0 or tar.returncode != 0:
        raise RehearsalError(f"importing the arm64 root as {tag} failed: {imported.stderr.strip()[-400:]}")
    return tag


def arm64_wheelhouse(plan: Rehearsal, cache: Path) -> Path:
    """`torch/` (the stand-in torch and its dependencies) and `pypi/` (the images' locks), for aarch64."""
    return aarch64_wheels("images-wheels", {"torch": [SOURCE_ROOT / plan.images.torch_lock],
                                            "pypi": [IMAGES_DIR / lock for lock in plan.images.locks]},
                          plan.root.python_version, cache)


def build_and_check(root: Path, plan: Rehearsal, cache: Path, reports: Path) -> Outcome:
    """Both images for arm64 on the stand-ins, then their checks that need no GPU, under emulation."""
    start = time.monotonic()
    builder = detect_builder()
    base = stand_in_base(root, plan, builder.docker)
    wheels = arm64_wheelhouse(plan, cache)
    torch_wheel = next((wheels / "torch").glob("torch-*.whl"))
    args = {"BASE_IMAGE": base, "DEVEL_IMAGE": base, "PIP_NO_INDEX": "1",
            "TORCH_WHEEL_URL": f"file:///wheelhouse/{torch_wheel.name}", "TORCH_WHEEL_SHA256": sha256_of(torch_wheel)}
    context = build_context(IMAGES_DIR, wheels, cache / "context")
    _, specs = load_variants()
    made = []
    for name, spec in specs.items():
        tag = f"orin-kit/{name}:arm64-rehearsal"
        try:
            result = build_image(builder, IMAGES_DIR / spec.dockerfile, tag, args, reports / f"build-{name}.log",
                                 context=context, network="none", timeout_s=plan.step_timeout_s,
                                 labels={STAND_IN_LABEL: f"built on {base} with torch {torch_wheel.name}"})
        except ImageBuildError as exc:
            raise RehearsalError(f"building {name} for arm64 on the stand-ins: {exc}") from exc
        machine = subprocess.run([builder.docker, "run", "--rm", "--entrypoint", "python3", tag, "-c",
                                  "import platform; print(platform.machine())"], capture_output=True, text=True,
                                 timeout=300, check=False).stdout.strip()
        if machine != "aarch64":
            raise RehearsalError(f"{tag} runs on {machine or 'nothing'}; expected aarch64")
        description = reports / f"{name}.yaml"
        fields = spec.model_dump(include=_DESCRIPTION_FIELDS)
        fields["torch_wheel"] = torch_wheel.name if spec.has_torch else None
        write_atomically(description, json.dumps(fields))  # JSON is YAML
        tally = _check(tag, description, plan, reports / name)
        made.append(f"{name} built in {result.seconds:.0f} s, checks {tally}")
    return Outcome("images", f"{'; '.join(made)} (arm64, from their Dockerfiles, on the stand-in base {base} and "
                             "torch 2.5.1 for the Jetson wheel)", time.monotonic() - start)


_DESCRIPTION_FIELDS = {"name", "port", "has_torch", "app_module", "runtime_imports", "must_be_absent",
                       "native_modules", "optional_modules", "system_packages", "writable_dirs", "no_deps_packages",
                       "required_env", "required_args", "health_break", "nms_library"}


def _check(tag: str, description: Path, plan: Rehearsal, reports: Path) -> str:
    """The plan's image checks against tag under emulation; how many passed and how many did not apply."""
    argv = [sys.executable, "-m", "pytest", "-p", "conformance.plugin", "-p", "no:cacheprovider", "--rootdir",
            str(SOURCE_ROOT), "-c", str(SOURCE_ROOT / "pyproject.toml"), "-q", "-m", "docker",
            str(SOURCE_ROOT / "conformance" / "checks" / "images"), "--image", tag, "--image-spec", str(description),
            "-k", " or ".join(plan.images.checks), f"--reports-dir={reports}"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=plan.step_timeout_s, check=False)
    summary = reports / "summary.json"
    outcomes = json.loads(summary.read_text())["results"] if summary.is_file() else []
    failed = [r["nodeid"].split("::")[-1] for r in outcomes if r["outcome"] in ("failed", "error")]
    passed = [r for r in outcomes if r["outcome"] == "passed"]
    if result.returncode != 0 or failed or not passed:
        tail = "\n".join(result.stdout.strip().splitlines()[-20:])
        raise RehearsalError(f"the image checks on {tag} (arm64) exited {result.returncode}, failed {failed}; "
                             f"expected them to pass:\n{tail}")
    skipped = len(outcomes) - len(passed)
    return f"{len(passed)} passed" + (f", {skipped} not applicable" if skipped else "")
