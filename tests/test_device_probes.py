"""Device parsers against recorded and malformed text: L4T release files, CUDA version.json, the container
runtime's CSV mount specs, and recordings resolved over their base."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import FIXTURES_DIR
from conformance.config import ConfigError
from conformance.config.probes import GpuProbe, TiledRuns
from conformance.device.facts import (
    DeviceDataError,
    L4TRelease,
    jetpack_for,
    parse_cuda_version_json,
    parse_mount_spec,
    parse_nv_tegra_release,
    probe_device,
)
from conformance.device.recordings import Recording, RecordingError, available

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
    with Recording.open("bad-unknown-release") as recording:
        device = probe_device(recording.root)
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


def test_mount_specs_parse_and_reject_other_text() -> None:
    text = "# comment\ndev, /dev/nvmap\n\nlib, /usr/lib/aarch64-linux-gnu/nvidia/libcuda.so.1.1\nsym, /x/libcuda.so\n"
    assert parse_mount_spec(text) == (("dev", "/dev/nvmap"), ("lib", "/usr/lib/aarch64-linux-gnu/nvidia/libcuda.so.1.1"),
                                      ("sym", "/x/libcuda.so")), "CSV entries lost"
    with pytest.raises(DeviceDataError, match="mount spec line 1: expected '<dev|lib|sym|dir>, /absolute/path'"):
        parse_mount_spec("device /dev/nvmap\n")


def test_recorded_orin_nx_is_probed_fully() -> None:
    device = probe_device(DEVICES / "orin-nx-16gb")
    assert device.is_jetson and device.l4t is not None and device.l4t.version == "36.4.3", f"{device}"
    assert (device.jetpack, device.cuda, device.expected_cuda) == ("6.2", "12.6", "12.6"), f"{device}"
    assert "nvidia,p3767-0000" in device.compatible, f"compatible list lost: {device.compatible}"
    assert not device.missing and not device.warnings, f"{device.missing} {device.warnings}"


def test_every_recording_resolves_and_every_jetson_one_holds_every_probe() -> None:
    for name in available():
        with Recording.open(name) as recording:
            if not probe_device(recording.root).is_jetson:
                continue
            for image in ("gliner2", "yolo-tiled"):
                assert isinstance(recording.gpu_probe(image), GpuProbe), f"{name}: gpu-{image}.json"
            runs = recording.facts("tiled", TiledRuns)
            for log in (runs.native.tegrastats, runs.container.tegrastats):
                assert recording.text(log.file).strip(), f"{name}: {log.file} is empty"


def test_broken_recording_overlays_its_base_and_removes_what_it_lists() -> None:
    with Recording.open("bad-no-gpu-nodes") as recording:
        root = recording.root
        assert recording.source == (DEVICES / "bad-no-gpu-nodes").resolve(), recording.source
        assert not (root / "dev/nvmap").exists() and not (root / "dev/nvgpu").exists(), "removed nodes are back"
        assert (root / "etc/nv_tegra_release").is_file(), "the base's files are missing"
        assert recording.gpu_probe("gliner2").image == "gliner2", "the base's probe facts are missing"
    assert not root.exists(), f"the resolved copy {root} outlived the recording"


def test_recording_that_loops_or_names_no_base_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "recording.yaml").write_text("stands_for: x\nwritten: y\nbase: b\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "recording.yaml").write_text("stands_for: x\nwritten: y\nbase: a\n")
    with pytest.raises(RecordingError, match="the base chain of recordings loops"):
        Recording.open("a", tmp_path)
    (tmp_path / "b" / "recording.yaml").write_text("stands_for: x\nwritten: y\nbase: nowhere\n")
    with pytest.raises(RecordingError, match="base: no recording 'nowhere' beside it"):
        Recording.open("a", tmp_path)


def test_malformed_probe_facts_name_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "r" / "probes").mkdir(parents=True)
    (tmp_path / "r" / "recording.yaml").write_text("stands_for: x\nwritten: y\n")
    (tmp_path / "r" / "probes" / "gpu-gliner2.json").write_text('{"schema": "orin-kit/gpu-probe/1", "image": 3}')
    with Recording.open("r", tmp_path) as recording, pytest.raises(ConfigError, match="gpu-gliner2.json: "):
        recording.gpu_probe("gliner2")
    with Recording.open("r", tmp_path) as recording, pytest.raises(ConfigError, match="has no probes/tiled.json"):
        recording.facts("tiled", TiledRuns)


def test_host_names_the_missing_file(tmp_path: Path) -> None:
    device = probe_device(tmp_path)
    assert not device.is_jetson, "an empty root is no Jetson"
    assert "/etc/nv_tegra_release is missing" in device.why_not_jetson(), device.why_not_jetson()


def test_unreadable_model_bytes_do_not_crash(tmp_path: Path) -> None:
    model = tmp_path / "proc/device-tree/model"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"\xff\xfeNVIDIA\x00")
    assert probe_device(tmp_path).model is not None, "undecodable bytes are replaced, not fatal"
