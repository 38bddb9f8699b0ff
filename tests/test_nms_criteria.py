"""fixtures/nms/criteria.yaml is read through its typed model; a bad value is one line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conformance.config import ConfigError
from conformance.config.nms import NMS_CRITERIA, SeamWorkload, YoloWorkload, load_nms_criteria


def test_the_shipped_criteria_load_with_every_workload_typed() -> None:
    criteria = load_nms_criteria()
    kinds = {name: type(spec) for name, spec in criteria.workloads.items()}
    assert kinds == {"yolo": YoloWorkload, "crowd": YoloWorkload, "seam": SeamWorkload}, (
        f"expected the yolo, crowd and seam workloads typed by their kind, got {kinds}")
    assert criteria.workloads["yolo"].targets.speedup_min == 10, "issue 15's target on the YOLO set is 10x"


@pytest.mark.parametrize("edit,message", [
    (lambda d: d["workloads"]["yolo"]["targets"].update(speedup_min="fast"),
     r"workloads\.yolo\.yolo\.targets\.speedup_min: expected a number, found 'fast'"),
    (lambda d: d["workloads"]["seam"].update(method="wbf"),
     r"workloads\.seam\.seam\.method: expected 'nms' or 'greedy_nmm', found 'wbf'"),
    (lambda d: d["workloads"]["crowd"].update(kind="swarm"), r"workloads\.crowd: .*'swarm'.*'yolo', 'seam'"),
    (lambda d: d["scaling"].update(sizes=[5000]), r"scaling\.sizes: .*at least 2"),
    (lambda d: d["workloads"]["yolo"].update(iuo=0.5), r"workloads\.yolo\.yolo\.iuo: is not a known key"),
], ids=["speedup-not-a-number", "unknown-method", "unknown-kind", "one-scaling-size", "typo-key"])
def test_a_bad_criteria_file_is_one_line_naming_the_key(tmp_path: Path, edit, message: str) -> None:
    data = yaml.safe_load(NMS_CRITERIA.read_text())
    edit(data)
    path = tmp_path / "criteria.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=message) as err:
        load_nms_criteria(path)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value), (
        f"expected one line starting with the file name, got {err.value}")
