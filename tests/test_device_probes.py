"""Device parsers against recorded and malformed text (REFERENCE.md formats)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import FIXTURES_DIR
from conformance.device.facts import (
    DeviceDataError,
    L4TRelease,
    jetpack_for,
    parse_cuda_version_json,
    parse_nv_tegra_release,
    parse_tegrastats_line,
    probe_device,
)

DEVICES = FIXTURES_DIR / "devices"
REFERENCE_RELEASE = ("# R36 (release), REVISION: 4.7, GCID: 42132812, BOARD: generic, EABI: aarch64, "
                     "DATE: Mon Jun 16 16:48:56 UTC 2025")


def test_reference_release_line_is_l4t_36_4_7_jetpack_6_2_1() -> None:
    release = parse_nv_tegra_release(REFERENCE_RELEASE + "\n# KERNEL_VARIANT: oot\n")
    assert release == L4TRelease(36, "4.7", "generic"), f"parsed {release}"
    info = jetpack_for(release)
    assert info is not None and (info.jetpack, info.cuda) == ("6.2.1", "12.6"), f"36.4.7 mapped to {info}"


@pytest.mark.parametrize(("revision", "jetpack"), [("4.3", "6.2"), ("4.4", "6.2.1"), ("3.0", "6.0"),
                                                   ("4", "6.1")], ids=["36.4.3", "36.4.4", "36.3.0", "36.4"])
def test_l4t_revisions_map_to_jetpack(revision: str, jetpack: str) -> None:
    info = jetpack_for(L4TRelease(36, revision))
    assert info is not None and info.jetpack == jetpack, f"R36 {revision} mapped to {info}, expected {jetpack}"


def test_unknown_release_is_unknown_not_guessed() -> None:
    device = probe_device(DEVICES / "bad-unknown-release")
    assert device.jetpack == "unknown", f"R38 must not be guessed, got {device.jetpack}"
    assert any("not in l4t_jetpack.yaml" in w for w in device.warnings), f"no warning: {device.warnings}"


@pytest.mark.parametrize("text", ["", "R36 release", "# R36 (release) REVISION 4.7", "# Rxx (release), REVISION: 1"])
def test_malformed_release_line_is_rejected(text: str) -> None:
    with pytest.raises(DeviceDataError, match="expected '# R<major> \\(release\\), REVISION"):
        parse_nv_tegra_release(text)


def test_cuda_version_json() -> None:
    assert parse_cuda_version_json('{"cuda_nvcc": {"version": "12.6.85"}}') == "12.6", "nvcc 12.6.85 is CUDA 12.6"
    assert parse_cuda_version_json('{"cuda": {"version": "11.4.19"}}') == "11.4", "falls back to the cuda entry"
    with pytest.raises(DeviceDataError, match="not JSON"):
        parse_cuda_version_json("{")
    with pytest.raises(DeviceDataError, match="expected a 'cuda_nvcc' or 'cuda' entry"):
        parse_cuda_version_json("[]")


def test_tegrastats_reference_line() -> None:
    line = (DEVICES / "orin-nano-8gb-jp621" / "tegrastats.txt").read_text()
    sample = parse_tegrastats_line(line)
    assert (sample.ram_used_mb, sample.ram_total_mb, sample.gpu_load_percent) == (2272, 7620, 0), f"{sample}"
    with pytest.raises(DeviceDataError, match="expected 'RAM <used>/<total>MB'"):
        parse_tegrastats_line("CPU [0%@729] GR3D_FREQ 0%")


def test_recorded_orin_nx_is_probed_fully() -> None:
    device = probe_device(DEVICES / "orin-nx-16gb-jp62")
    assert device.is_jetson and device.l4t is not None and device.l4t.version == "36.4.3", f"{device}"
    assert (device.jetpack, device.cuda, device.expected_cuda) == ("6.2", "12.6", "12.6"), f"{device}"
    assert "nvidia,p3767-0000" in device.compatible, f"compatible list lost: {device.compatible}"
    assert not device.missing and not device.warnings, f"{device.missing} {device.warnings}"


def test_host_names_the_missing_file(tmp_path: Path) -> None:
    device = probe_device(tmp_path)
    assert not device.is_jetson, "an empty root is no Jetson"
    assert "/etc/nv_tegra_release is missing" in device.why_not_jetson(), device.why_not_jetson()


def test_unreadable_model_bytes_do_not_crash(tmp_path: Path) -> None:
    model = tmp_path / "proc/device-tree/model"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"\xff\xfeNVIDIA\x00")
    assert probe_device(tmp_path).model is not None, "undecodable bytes are replaced, not fatal"
