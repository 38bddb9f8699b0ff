"""What the images carry, seen through testinfra's docker backend: the system packages the seeds name, the
C++ NMS library built for the variant's CPU, no build tools, package caches or baked-in models (seed 000
"Python and System Packages"; seed 001 multi-stage build, "Aggressive cleanup", models mounted)."""

from __future__ import annotations

import platform
import struct
from collections.abc import Iterator

import pytest
import testinfra

from conformance.config.image_rules import load_image_rules
from conformance.docker.images import NOT_APPLICABLE, BuiltImage
from conformance.docker.containers import Container

pytestmark = pytest.mark.docker

#: ELF e_machine values (the ELF specification's registry) of the CPUs the images target.
ELF_MACHINES = {62: "x86-64", 183: "AArch64"}
HOST_MACHINES = {"x86_64": "x86-64", "amd64": "x86-64", "aarch64": "AArch64", "arm64": "AArch64"}


@pytest.fixture(scope="module")
def host(built_image: BuiltImage) -> Iterator[testinfra.host.Host]:
    """A testinfra host on a running container of the image (docker://ID)."""
    with Container(built_image.tag, ["python3", "-c", "import time; time.sleep(100000)"]) as box:
        # as root: what the image holds, including root-only places (/root/.cache)
        yield testinfra.get_host(f"docker://root@{box.id}")


def test_system_packages_named_by_seeds_installed(built_image: BuiltImage, host: testinfra.host.Host) -> None:
    missing = [name for name in built_image.spec.system_packages if not host.package(name).is_installed]
    assert not missing, (f"{built_image.tag} lacks system packages {missing}; expected "
                         f"{list(built_image.spec.system_packages)}; fix: add them to ensure-apt-packages in the "
                         "Dockerfile (seed 000 'Python and System Packages')")


def test_nms_library_present_for_variant_cpu(built_image: BuiltImage, host: testinfra.host.Host) -> None:
    path = built_image.spec.nms_library
    if path is None:
        pytest.skip(f"{NOT_APPLICABLE}{built_image.name} does not carry the C++ NMS library (nms_library unset)")
    library = host.file(path)
    assert library.exists and library.is_file, (
        f"{path} missing in {built_image.tag}; expected libnms_merger.so copied from the builder stage; fix: "
        "`COPY --from=nms-builder /build/nms_cpp/libnms_merger.so ...` (seed 001 'Multi-stage build')")
    header = library.content[:20]
    machine = struct.unpack("<H", header[18:20])[0] if header[:4] == b"\x7fELF" else None
    want = built_image.variant.elf_machine
    if want == "host":
        want = HOST_MACHINES.get(platform.machine().lower(), platform.machine())
    found = ELF_MACHINES.get(machine, f"e_machine {machine}") if machine is not None else "not an ELF file"
    assert found == want, (f"{path} in {built_image.tag} is {found}, expected {want} for the "
                           f"{built_image.variant.name} variant; fix: build it in the builder stage of the same "
                           "platform, never copy a host build in (seed 001)")


def test_runtime_stage_carries_no_build_tools(built_image: BuiltImage, host: testinfra.host.Host) -> None:
    tools = load_image_rules().build_tools
    found = [tool for tool in tools if host.exists(tool)]
    assert not found, (
        f"{built_image.tag} carries build tools {found}, expected none of {list(tools)} in the runtime image; "
        "fix: compile in a builder stage FROM the devel base and COPY --from it only what runs (seed 001 "
        "'Challenge 3: multi-stage build, only runtime dependencies, no build tools')")


def test_no_package_cache_or_baked_model_left(built_image: BuiltImage, host: testinfra.host.Host) -> None:
    rules = load_image_rules()
    caches = [path for path in rules.cache_paths
              if host.file(path).is_directory and host.run("ls -A %s", path).stdout.strip()]
    caches += [line for pattern in rules.cache_globs
               for line in host.run(f"ls -d {pattern} 2>/dev/null").stdout.split()]
    names = " -o ".join(f"-name '{pattern}'" for pattern in rules.mounted_not_baked)
    baked = host.run(f"find / -xdev \\( {names} \\) -type f 2>/dev/null | head -5").stdout.split()
    assert not caches and not baked, (
        f"{built_image.tag} keeps package caches {caches or 'none'} and model/video files {baked or 'none'}; "
        "expected neither: caches are dead weight and models, engines and videos are mounted read-only at run "
        "time; fix: `pip install --no-cache-dir` (or ENV PIP_NO_CACHE_DIR=1), `rm -rf /var/lib/apt/lists/*` in "
        "the same RUN, never COPY a model in (seed 001 'Aggressive cleanup', 'Challenge 2')")
