"""Stand-in base images: the local bases that replace nvcr.io's L4T bases where no registry is reachable.

Made once by `python -m conformance engine up` with debootstrap and `docker import` (or derived from a
parent by installing packages over http in a container), each labelled with a digest of its spec so that
a changed spec rebuilds it (fixtures/engine/stand_in_bases.yaml).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from conformance.config.engine import BaseSpec, load_base_specs
from conformance.docker.engine import EngineError, _run, docker_clients, engine_problem, require_root
from conformance.docker.inspect import image_label

BASE_SPEC_LABEL = "org.orin-kit.base-spec"


def stand_in_tags(docker: str) -> list[tuple[str, str | None]]:
    """Each stand-in base's tag with what is wrong with it ('missing', 'stale'), or None when present."""
    out = []
    for spec in load_base_specs()[2]:
        label = image_label(docker, spec.tag, BASE_SPEC_LABEL)
        out.append((spec.tag, None if label == spec.digest else ("stale" if label else "missing")))
    return out


_IMPORT_CHANGES = ('ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
                   "ENV LANG=C.UTF-8", 'CMD ["/bin/bash"]')


def _debootstrap_base(docker: str, suite: str, mirror: str, spec: BaseSpec, progress: bool) -> None:
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise EngineError("debootstrap not found: run `python -m conformance engine up --install`")
    with tempfile.TemporaryDirectory(prefix="orin-kit-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        argv = [debootstrap, "--variant=minbase", f"--include={','.join(spec.packages)}", suite, str(rootfs),
                mirror]
        result = subprocess.run(argv, capture_output=not progress, text=True, timeout=1800, check=False)
        if result.returncode != 0:
            detail = (result.stderr or result.stdout or "").strip()[-400:] if not progress else "see output above"
            raise EngineError(f"debootstrap of {spec.tag} failed (exit {result.returncode}): {detail}")
        shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
        changes = [f"LABEL {BASE_SPEC_LABEL}={spec.digest}", *_IMPORT_CHANGES]
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        argv = [docker, "import", *(arg for c in changes for arg in ("--change", c)), "-", spec.tag]
        imported = subprocess.run(argv, stdin=tar.stdout, capture_output=True, text=True, check=False)
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise EngineError(f"docker import of {spec.tag} failed: {imported.stderr.strip()[-400:]}")


def _derived_base(docker: str, spec: BaseSpec) -> None:
    """Parent image plus packages, installed over http inside a container (apt over http works where https does not) and committed."""
    assert spec.parent is not None
    name = f"orin-kit-base-{spec.digest}"
    _run([docker, "rm", "-f", name])
    script = ("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
              + " ".join(spec.packages) + " && rm -rf /var/lib/apt/lists/*")
    result = _run([docker, "run", "--name", name, spec.parent, "sh", "-c", script], timeout=1800)
    if result.returncode != 0:
        _run([docker, "rm", "-f", name])
        raise EngineError(f"installing {' '.join(spec.packages)} into {spec.tag} failed: "
                          f"{result.stderr.strip()[-400:]}")
    changes = [f"LABEL {BASE_SPEC_LABEL}={spec.digest}", *_IMPORT_CHANGES]
    committed = _run([docker, "commit", *(a for c in changes for a in ("--change", c)), name, spec.tag])
    _run([docker, "rm", "-f", name])
    if committed.returncode != 0:
        raise EngineError(f"docker commit of {spec.tag} failed: {committed.stderr.strip()}")


def ensure_stand_in_bases(progress: bool = True, say=print) -> list[str]:
    """Build the stand-in bases whose tag is missing or whose spec changed; return all their tags."""
    docker = docker_clients()[0] if docker_clients() else None
    if docker is None or (problem := engine_problem(docker)):
        raise EngineError(problem or "no docker client")
    suite, mirror, specs = load_base_specs()
    for spec in specs:
        if image_label(docker, spec.tag, BASE_SPEC_LABEL) == spec.digest:
            say(f"stand-in base {spec.tag}: present (spec {spec.digest})")
            continue
        started = time.monotonic()
        say(f"stand-in base {spec.tag}: building ({'from ' + spec.parent if spec.parent else 'debootstrap'}) ...")
        if spec.parent:
            _derived_base(docker, spec)
        else:
            require_root("debootstrap")
            _debootstrap_base(docker, suite, mirror, spec, progress)
        say(f"stand-in base {spec.tag}: built in {time.monotonic() - started:.0f} s")
    return [spec.tag for spec in specs]


