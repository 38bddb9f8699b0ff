"""Tamper evidence for a signed-off report folder: a manifest of sha256 digests and an in-toto statement.

- `evidence/manifest.json`: the sha256 of every file of the folder (the run's JUnit, summary, benchmark
  comparison, build logs, the acceptance report itself), except the kept benchmark history and evidence/.
- `evidence/statement.intoto.json`: an in-toto Statement v1 with the test-result predicate
  (https://in-toto.io/attestation/test-result/v0.1): subjects are the images tested (their digests; the
  source commit when no image was tested), `result` PASSED (SIGNED) or FAILED, `configuration` the digests of
  the profile and criteria files and of the manifest, and the criteria passed, warned and failed.
`verify` recomputes every digest: a changed byte names the file. Sign the statement (e.g. with cosign) to
protect it from someone who rewrites manifest and statement together.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.util.files import sha256_of, write_atomically

EVIDENCE = "evidence"
MANIFEST = "manifest.json"
STATEMENT = "statement.intoto.json"
PREDICATE_TYPE = "https://in-toto.io/attestation/test-result/v0.1"
#: Not part of one run's evidence: the history of every kept benchmark run, and the evidence itself.
EXCLUDED = (EVIDENCE, "benchmarks/runs", "benchmarks/sessions")


class EvidenceError(ValueError):
    """Evidence is missing or malformed (not a tampering verdict: that is `verify`'s list of problems)."""


def artifacts(folder: Path, extra: Sequence[Path] = ()) -> dict[str, str]:
    """relative path -> sha256 of every file of the run's folder, plus extra files inside it."""
    found = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and not any(rel == x or rel.startswith(x + "/") for x in EXCLUDED):
            found[rel] = sha256_of(path)
    for path in extra:
        found[path.relative_to(folder).as_posix()] = sha256_of(path)
    return found


def _statement_json(subjects: list[dict[str, Any]], predicate: dict[str, Any]) -> str:
    """Build and validate the statement with in-toto-attestation's own classes."""
    from google.protobuf import json_format
    from in_toto_attestation.predicates.test_result.v0 import test_result_pb2
    from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
    from in_toto_attestation.v1.statement import Statement

    result = json_format.ParseDict(predicate, test_result_pb2.TestResult())
    statement = Statement([ResourceDescriptor(name=s["name"], digest=s["digest"]).pb for s in subjects],
                          PREDICATE_TYPE, json_format.MessageToDict(result))
    statement.validate()
    return json_format.MessageToJson(statement.pb, indent=2) + "\n"


def subjects_of(run: dict[str, Any], manifest_digest: str) -> list[dict[str, Any]]:
    images = [{"name": i["tag"], "digest": {"sha256": i["digest"].removeprefix("sha256:")}}
              for i in run.get("images", []) if i.get("digest")]
    if images:
        return images
    revision = (run.get("source") or {}).get("revision")
    if revision and revision != "unknown":
        return [{"name": "orin-conformance-kit source", "digest": {"gitCommit": revision}}]
    return [{"name": MANIFEST, "digest": {"sha256": manifest_digest}}]


def write_evidence(folder: Path, run: dict[str, Any], verdict: str, passed: list[str], warned: list[str],
                   failed: list[str], configuration: dict[str, Path], extra: Sequence[Path] = ()) -> Path:
    """Write manifest and statement under folder/evidence; returns the statement's path."""
    out = folder / EVIDENCE
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"algorithm": "sha256", "verdict": verdict, "session": run.get("session"),
                "files": artifacts(folder, extra)}
    write_atomically(out / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    manifest_digest = sha256_of(out / MANIFEST)
    config = [{"name": name, "digest": {"sha256": sha256_of(path)}} for name, path in configuration.items()]
    config.append({"name": f"{EVIDENCE}/{MANIFEST}", "digest": {"sha256": manifest_digest}})
    predicate = {"result": "PASSED" if verdict == "SIGNED" else "FAILED", "configuration": config,
                 "passedTests": passed, "warnedTests": warned, "failedTests": failed}
    write_atomically(out / STATEMENT, _statement_json(subjects_of(run, manifest_digest), predicate))
    return out / STATEMENT


@dataclass
class Verification:
    problems: list[str]
    notes: list[str]
    result: str | None


def verify(folder: Path) -> Verification:
    """Recompute the digests of folder against its evidence; problems name every changed, missing file."""
    manifest_path, statement_path = folder / EVIDENCE / MANIFEST, folder / EVIDENCE / STATEMENT
    for path in (manifest_path, statement_path):
        if not path.is_file():
            raise EvidenceError(f"{path}: missing; expected a folder written by `python -m conformance signoff`")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        statement = json.loads(statement_path.read_text(encoding="utf-8"))
        files: dict[str, str] = manifest["files"]
        predicate = statement["predicate"]
        configuration = {c["name"]: c["digest"]["sha256"] for c in predicate["configuration"]}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise EvidenceError(f"{folder / EVIDENCE}: manifest or statement malformed ({error!r})") from None
    problems: list[str] = []
    if statement.get("predicateType") != PREDICATE_TYPE:
        problems.append(f"{STATEMENT}: predicateType {statement.get('predicateType')!r}, expected {PREDICATE_TYPE}")
    if configuration.get(f"{EVIDENCE}/{MANIFEST}") != sha256_of(manifest_path):
        problems.append(f"{EVIDENCE}/{MANIFEST}: changed (its sha256 differs from the statement's)")
    for rel, digest in sorted(files.items()):
        path = folder / rel
        if not path.is_file():
            problems.append(f"{rel}: missing")
        elif sha256_of(path) != digest:
            problems.append(f"{rel}: changed (sha256 {sha256_of(path)[:12]}..., manifest {digest[:12]}...)")
    if manifest.get("verdict") == "SIGNED" and predicate.get("result") != "PASSED":
        problems.append(f"{STATEMENT}: result {predicate.get('result')} does not match the manifest's SIGNED")
    current = artifacts(folder)
    notes = [f"{rel}: not in the manifest (added after the sign-off)" for rel in sorted(set(current) - set(files))]
    return Verification(problems, notes, predicate.get("result"))
