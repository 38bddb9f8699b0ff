"""The scan behind test_images_never_request_gpus_or_deploy_devices: `--gpus` in code (not in comments, not the
kit's own `--gpu` option), compose device reservations and `gpus:`, in any file of an images tree."""

from __future__ import annotations

from pathlib import Path

from conformance import IMAGES_DIR
from conformance.device.gpu_flags import violations


def test_the_kits_own_images_tree_requests_the_gpu_only_through_the_runtime() -> None:
    assert violations(IMAGES_DIR) == [], "images/ uses --gpus or deploy.devices"


def test_code_is_scanned_and_comments_are_not(tmp_path: Path) -> None:
    (tmp_path / "run.sh").write_text("# the nvidia runtime, not --gpus\n"
                                     "docker run --gpu-mode x \"$@\"   # our own --gpu flag is fine\n"
                                     "docker run --gpus=all img\n")
    (tmp_path / "Dockerfile").write_text("FROM x\n# never docker run --gpus all\nRUN echo --gpus all\n")
    found = [str(v) for v in violations(tmp_path)]
    assert found == ["Dockerfile:3: `RUN echo --gpus all`", "run.sh:3: `docker run --gpus=all img`"], found


def test_compose_reservations_and_gpus_key_are_found_through_anchors(tmp_path: Path) -> None:
    (tmp_path / "compose.gpu.yaml").write_text(
        "x-gpu: &gpu\n  deploy:\n    resources:\n      reservations:\n        devices: [{driver: nvidia}]\n"
        "services:\n  a:\n    image: a\n    <<: *gpu\n  b:\n    image: b\n    gpus: all\n  c:\n    image: c\n"
        "    runtime: nvidia\n")
    found = [v.where for v in violations(tmp_path)]
    assert found == ["compose.gpu.yaml services.a.deploy.resources.reservations.devices",
                     "compose.gpu.yaml services.b.gpus"], found
    (tmp_path / "compose.gpu.yaml").write_text(
        "services:\n  a:\n    deploy:\n      resources:\n        reservations:\n          devices:\n"
        "            - driver: nvidia\n              capabilities: [gpu]\n")
    assert [v.where for v in violations(tmp_path)] == ["compose.gpu.yaml services.a.deploy.resources.reservations."
                                                       "devices"]
