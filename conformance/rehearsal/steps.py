"""The rehearsal's steps, run in the arm64 root: each returns one line of what it proved, or raises
RehearsalError naming what it found and what was expected."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from conformance.config.rehearsal import Rehearsal
from conformance.config.selfproof import load_selfproof_table
from conformance.rehearsal import RehearsalError
from conformance.rehearsal.rootfs import KIT_IN_ROOT, WHEELS_IN_ROOT, run_in
from conformance.selfproof import PLACEHOLDER, proof_failures

VENV = "/opt/venv"
PY = f"{VENV}/bin/python"
#: ELF e_machine of aarch64 (the library built in the root must be one).
EM_AARCH64 = 183
#: The suite in the root, as on the device: the plugin, the checkout's config, reports under /tmp.
SUITE = ["-m", "pytest", "-p", "conformance.plugin", "-p", "no:cacheprovider", "--rootdir", KIT_IN_ROOT,
         "-c", f"{KIT_IN_ROOT}/pyproject.toml", "-q"]
KIT_ENV = {"PYTHONPATH": KIT_IN_ROOT}


@dataclass(frozen=True)
class Outcome:
    """What one step proved, and how long it took under emulation."""

    step: str
    proved: str
    seconds: float

    def line(self) -> str:
        return f"ARM64 REHEARSAL {self.step}: {self.proved} ({self.seconds:.0f} s)"


def _checked(root: Path, argv: list[str], what: str, plan: Rehearsal, env: dict[str, str] | None = None,
             cwd: str = "/") -> str:
    result = run_in(root, argv, env=env, cwd=cwd, timeout_s=plan.step_timeout_s)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise RehearsalError(f"{what}: `{' '.join(argv)}` exited {result.returncode} in the arm64 root:\n{tail}")
    return result.stdout


def install_device(root: Path, plan: Rehearsal) -> Outcome:
    """The device install, offline from the aarch64 wheels of its lock, into a venv, as on the Orin."""
    start = time.monotonic()
    lock = f"{KIT_IN_ROOT}/{plan.lock}"
    _checked(root, ["rm", "-rf", VENV], "clearing the last venv", plan)
    _checked(root, ["python3", "-m", "venv", VENV], "making the venv", plan)
    _checked(root, [PY, "-m", "pip", "install", "-q", "--no-index", "--find-links", WHEELS_IN_ROOT,
                    "--require-hashes", "--no-deps", "-r", lock], "the device install", plan)
    listed = json.loads(_checked(root, [PY, "-m", "pip", "list", "--format", "json", "--exclude", "pip"],
                                 "listing the install", plan))
    size = _checked(root, ["du", "-sm", VENV], "measuring the install", plan).split()[0]
    machine = _checked(root, [PY, "-c", "import platform, sys; print(platform.machine(), sys.version.split()[0])"],
                       "reading the platform", plan).split()
    if machine[0] != "aarch64":
        raise RehearsalError(f"the root's Python reports {machine[0]}; expected aarch64 (is qemu-aarch64 used?)")
    return Outcome("install", f"{len(listed)} packages from {plan.lock}, {size} MB, on {machine[0]} Python "
                              f"{machine[1]}", time.monotonic() - start)


def _summary(root: Path, reports: str) -> list[dict[str, str]]:
    path = root / reports.lstrip("/") / "summary.json"
    if not path.is_file():
        raise RehearsalError(f"the run in the arm64 root wrote no {reports}/summary.json")
    results: list[dict[str, str]] = json.loads(path.read_text())["results"]
    return results


def simulated_tier(root: Path, plan: Rehearsal) -> Outcome:
    """The jetson tier on every good recording (all pass) and on broken ones (each fails as the self-proof
    table says), with the device install alone."""
    start = time.monotonic()
    counts = []
    for recording in plan.good_recordings:
        reports = f"/tmp/reports-{recording}"
        run = run_in(root, [PY, *SUITE, "--pyargs", "conformance.checks", "-m", "jetson", "--simulate-device",
                            recording, f"--reports-dir={reports}"], env=KIT_ENV, cwd="/tmp",
                     timeout_s=plan.step_timeout_s)
        results = _summary(root, reports)
        failed = [r["nodeid"] for r in results if r["outcome"] in ("failed", "error")]
        passed = sum(r["outcome"] == "passed" for r in results)
        if run.returncode != 0 or failed or not passed:
            tail = "\n".join(run.stdout.strip().splitlines()[-15:])
            raise RehearsalError(f"the simulated jetson tier on {recording} exited {run.returncode} with "
                                 f"{passed} passed and failures {failed[:5]}; expected every check to pass:\n{tail}")
        counts.append(f"{recording} {passed} passed")
    table = load_selfproof_table()
    for name in plan.known_bads:
        bad = table[name]
        if any(PLACEHOLDER.search(arg) for arg in bad.args) or bad.needs:
            raise RehearsalError(f"known-bad {name} needs inputs made on the host ({bad.args}, needs {bad.needs}); "
                                 "expected a broken recording named by --simulate-device alone")
        reports = f"/tmp/reports-{name}"
        nodes = [f"{KIT_IN_ROOT}/conformance/checks/{check}" for check in bad.fails]
        run_in(root, [PY, *SUITE, *nodes, "--ignore-deviations", *bad.args, f"--reports-dir={reports}"],
               env=KIT_ENV, cwd="/tmp", timeout_s=plan.step_timeout_s)
        if problems := proof_failures(name, bad, _summary(root, reports)):
            raise RehearsalError("on arm64: " + "\n".join(problems))
    return Outcome("simulated jetson tier", f"{', '.join(counts)}; known-bads {', '.join(plan.known_bads)} each "
                                            "failed as on the host (all SIMULATED)", time.monotonic() - start)


def elf_machine(path: Path) -> int:
    """e_machine of an ELF file (little-endian, as aarch64 and x86-64 are)."""
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        raise RehearsalError(f"{path} is not an ELF file")
    return int.from_bytes(header[18:20], "little")


def nms_contract(root: Path, plan: Rehearsal) -> Outcome:
    """The C++ library built in the root with the kit's Makefile, then held to its contract by the NMS tests."""
    start = time.monotonic()
    _checked(root, ["make", "-s", "-C", f"{KIT_IN_ROOT}/nms_cpp", "libnms_merger.so"], "building the NMS library",
             plan)
    library = root / KIT_IN_ROOT.lstrip("/") / "nms_cpp" / "libnms_merger.so"
    if (machine := elf_machine(library)) != EM_AARCH64:
        raise RehearsalError(f"{library.name} built in the root has ELF machine {machine}; expected {EM_AARCH64} "
                             "(aarch64)")
    fused = _fused_instructions(root, plan)
    reports = "/tmp/reports-nms"
    out = _checked(root, [PY, *SUITE, *(f"{KIT_IN_ROOT}/{test}" for test in plan.nms_tests), *plan.nms_args,
                          f"--reports-dir={reports}"], "the NMS contract tests", plan, env=KIT_ENV, cwd="/tmp")
    tally = re.findall(r"(\d+ (?:passed|skipped|failed))", out)
    return Outcome("nms", f"libnms_merger.so built for aarch64, {fused}; contract tests "
                          f"{', '.join(dict.fromkeys(tally)) or 'ran'}", time.monotonic() - start)


#: aarch64's fused multiply-add family: one rounding where the contract's arithmetic has two.
FUSED = r"\bf(n?m(add|sub)|ml[as])\b"
#: `a * b + c`: what a compiler fuses when it may.
FMA_PROBE = "double probe(double a, double b, double c) { return a * b + c; }\n"


def _fused_instructions(root: Path, plan: Rehearsal) -> str:
    """The library built in the root has no fused multiply-add, and the detector sees one where a compiler may
    fuse (`a * b + c` with -ffp-contract=fast), so that its zero is a finding, not a blind spot."""
    probe = root / "tmp" / "fma_probe.cpp"
    probe.write_text(FMA_PROBE)
    count = f"objdump -d \"$0\" | grep -cE '{FUSED}' || true"
    library = f"{KIT_IN_ROOT}/nms_cpp/libnms_merger.so"
    in_library = int(_checked(root, ["sh", "-c", count, library], "reading the library's instructions", plan))
    _checked(root, ["g++", "-O2", "-ffp-contract=fast", "-c", "/tmp/fma_probe.cpp", "-o", "/tmp/fma_probe.o"],
             "compiling the fused multiply-add probe", plan)
    in_probe = int(_checked(root, ["sh", "-c", count, "/tmp/fma_probe.o"], "reading the probe", plan))
    if in_probe == 0:
        raise RehearsalError("objdump finds no fused multiply-add in `a * b + c` built with -ffp-contract=fast; "
                             "expected at least one (is objdump reading aarch64 code?)")
    if in_library:
        raise RehearsalError(f"libnms_merger.so built for aarch64 has {in_library} fused multiply-add "
                             "instructions; expected none: the contract's IoU test rounds each product, so a fused "
                             "one can decide a box at the threshold otherwise; fix: keep -ffp-contract=off in "
                             "nms_cpp/Makefile")
    return f"0 fused multiply-add instructions (a fusing build of `a * b + c` shows {in_probe})"
