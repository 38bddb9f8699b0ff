"""What the images carry, seen through testinfra's docker backend: the system packages the seeds name, and
the C++ NMS library built for the variant's CPU (seed 000 "Python and System Packages"; seed 001 multi-stage)."""

from __future__ import annotations

import platform
import struct
from collections.abc import Iterator

import pytest
import testinfra

from conformance.docker.images import BuiltImage
from conformance.docker.containers import Container

pytestmark = pytest.mark.docker

#: ELF e_machine values (the ELF specification's registry) of the CPUs the images target.
ELF_MACHINES = {62: "x86-64", 183: "AArch64"}
HOST_MACHINES = {"x86_64": "x86-64", "amd64": "x86-64", "aarch64": "AArch64", "arm64": "AArch64"}


@pytest.fixture(scope="module")
def host(built_image: BuiltImage) -> Iterator[testinfra.host.Host]:
    """A testinfra host on a running container of the image (docker://ID)."""
    with Container(built_image.tag, ["python3", "-c", "import time; time.sleep(100000)"]) as box:
        yield testinfra.get_host(f"docker://{box.id}")


def test_system_packages_named_by_seeds_installed(built_image: BuiltImage, host: testinfra.host.Host) -> None:
    missing = [name for name in built_image.spec.system_packages if not host.package(name).is_installed]
    assert not missing, (f"{built_image.tag} lacks system packages {missing}; expected "
                         f"{list(built_image.spec.system_packages)}; fix: add them to ensure-apt-packages in the "
                         "Dockerfile (seed 000 'Python and System Packages')")


def test_nms_library_present_for_variant_cpu(built_image: BuiltImage, host: testinfra.host.Host) -> None:
    path = built_image.spec.nms_library
    if path is None:
        pytest.skip(f"{built_image.name} does not carry the C++ NMS library (variants.yaml nms_library unset)")
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
