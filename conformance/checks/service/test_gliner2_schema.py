"""schemathesis against the running service, from the service's own OpenAPI schema (issue 11).

The schema states every limit (maxLength, maxItems, maxProperties ...), so schemathesis generates the
boundaries of each (coverage phase) and random requests (fuzzing), valid and invalid; every check it has
runs: no 5xx, every status, content type, header and body as documented, invalid data rejected. The
token limits (a text with its prompt within the model's positions, MAX_REQUEST_TOKENS) cannot be written in
JSON Schema; they are in the field descriptions, and their refusal (422) is a documented response.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

pytest.importorskip("schemathesis", reason="the schema check runs schemathesis 4 (extra: dev)")
httpx = pytest.importorskip("httpx", reason="the gliner2 checks talk HTTP through httpx (extra: gliner2)")

from conformance.config.service import ServiceCriteria  # noqa: E402
from conformance.service.local import ServiceUnderTest  # noqa: E402


def _cli() -> str:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or shutil.which("schemathesis")
    if not found:
        pytest.skip("the schemathesis command is not installed beside this Python (pip install 'schemathesis>=4,<5')")
    return found


def _failures(report: Dict[str, Any]) -> List[str]:
    """One line per failure of a schemathesis JSON report: operation, check, what it said."""
    lines: List[str] = []
    for failure in report.get("failures", []):
        if isinstance(failure, dict):
            where = ", ".join(failure.get("operations", [])) or "?"
            lines.append(f"{where}: {failure.get('title', failure.get('type', '?'))} "
                         f"({failure.get('code', '')}, {failure.get('count', 1)}x)")
        else:
            lines.append(str(failure)[:200])
    lines += [f"error: {str(e)[:200]}" for e in report.get("errors", [])]
    return lines


def test_schemathesis_finds_no_5xx_and_every_response_conforms(
        gliner2_service: ServiceUnderTest, gliner2_criteria: ServiceCriteria, tmp_path: Path,
        record_property: Any) -> None:
    crit = gliner2_criteria.schemathesis
    url = gliner2_service.url
    warm = httpx.post(url + "/v1/entities", json={"text": "Apple", "labels": ["company"]}, timeout=120)
    assert warm.status_code == 200, f"warm-up request answered {warm.status_code}: {warm.text[:200]}"
    argv = [_cli(), "run", f"{url}/openapi.json", "--checks", "all", "--max-examples", str(crit.max_examples),
            "--seed", str(crit.seed), "--generation-database", "none", "--continue-on-failure", "--workers", "1",
            "--no-color", "--request-timeout", "120", "--report", "json", "--report-dir", str(tmp_path),
            "--report-json-path", str(tmp_path / "schemathesis.json")]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=crit.timeout_s, check=False)
    report_path = tmp_path / "schemathesis.json"
    assert report_path.is_file(), (
        f"schemathesis wrote no report (exit {proc.returncode}): {proc.stdout[-800:]} {proc.stderr[-800:]}")
    report = json.loads(report_path.read_text())
    cases = report.get("test_cases", {})
    record_property("schemathesis_cases", cases.get("generated"))
    problems = _failures(report)
    assert proc.returncode == 0 and not problems, (
        f"schemathesis found {len(problems)} problem(s) in {cases.get('generated')} generated requests: "
        f"{'; '.join(problems[:6]) or proc.stdout[-600:]}; expected no 5xx and every response as the OpenAPI "
        f"schema documents it. Fix: document what the service answers (responses=, Field limits) and refuse "
        f"bad input with a 4xx (issue 11)")
