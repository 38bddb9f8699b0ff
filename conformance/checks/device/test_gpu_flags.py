"""The images, compose files and scripts of the tree under test ask for the GPU the way Jetson accepts: the nvidia
runtime (`--runtime nvidia`, compose `runtime: nvidia`), never `--gpus` or `deploy.resources.reservations.devices`,
which fail on Jetson with "invoking the NVIDIA Container Runtime Hook directly". Runs everywhere, on --images-dir."""

from __future__ import annotations

from pathlib import Path

from conformance.device.gpu_flags import violations


def test_images_never_request_gpus_or_deploy_devices(images_dir: Path) -> None:
    found = violations(images_dir)
    assert not found, (
        f"found {'; '.join(map(str, found))} in {images_dir}; expected the nvidia runtime only (`--runtime nvidia`, "
        "compose `runtime: nvidia`): on Jetson `--gpus` and deploy device reservations fail with 'invoking the "
        "NVIDIA Container Runtime Hook directly'; fix: replace them with the runtime (NVIDIA/TensorRT-LLM#799; "
        "seed 001 'Challenge 4: GPU Access in Container')")
