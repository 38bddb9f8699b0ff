"""The run recorder: a pytest plugin object that notes the run's identity and stamps it where reports read it.

- the JUnit file (`--junitxml`) gets suite properties: profile, device, SIMULATED, L4T, JetPack, CUDA, TensorRT,
  power mode, source revision and whether the tree was clean, the images under test;
- each pytest-benchmark run gets `machine_info.orin_kit` (the identity and its benchmark key), so that kept
  runs say what they may be compared with;
- `summary.json` gets the identity as `run` (see summary.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from conformance import SOURCE_ROOT
from conformance.config.profiles import ProfileChoice, ProfileError
from conformance.reports.identity import benchmark_key, device_facts, host_description, power_mode, source_state
from conformance.reports.junit import add_suite_properties
from conformance.tiers import Capabilities

#: Set by `python -m conformance bench compare` when it re-runs flagged benchmarks: the run they confirm.
RERUN_ENV = "ORIN_KIT_RERUN_OF"


def _git_root(path: Path) -> Path:
    """The nearest folder at or above path that holds a .git (path itself when none does)."""
    return next((p for p in (path, *path.parents) if (p / ".git").exists()), path)


def _image_id(tag: str) -> str | None:
    docker = shutil.which("docker") or ("/usr/bin/docker" if Path("/usr/bin/docker").exists() else None)
    if docker is None:
        return None
    try:
        result = subprocess.run([docker, "image", "inspect", "--format", "{{.Id}}", tag], capture_output=True,
                                text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = result.stdout.strip()
    return out if result.returncode == 0 and out.startswith("sha256:") else None


class RunRecorder:
    def __init__(self, config: pytest.Config, choose_profile: Callable[[], ProfileChoice],
                 capabilities: Capabilities) -> None:
        self.config = config
        self.choose_profile = choose_profile
        self.capabilities = capabilities
        self.session = uuid.uuid4().hex[:12]
        self.started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.image_tags: dict[str, str] = {}
        self._identity: dict[str, Any] | None = None

    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        """Note the images under test: any fixture value shaped like the kit's BuiltImage (name, tag, spec)."""
        for value in getattr(item, "funcargs", {}).values():
            name, tag = getattr(value, "name", None), getattr(value, "tag", None)
            if isinstance(name, str) and isinstance(tag, str) and hasattr(value, "spec"):
                self.image_tags[name] = tag

    def identity(self) -> dict[str, Any]:
        """The run's identity; computed once, at the end of the session (when the images are known)."""
        if self._identity is None:
            self._identity = self._compute()
        return self._identity

    def _compute(self) -> dict[str, Any]:
        caps = self.capabilities
        try:
            choice = self.choose_profile()
            profile, reason, jetson_profile = choice.profile.name, choice.reason, choice.profile.jetson
        except ProfileError as error:
            profile, reason, jetson_profile = None, str(error), False
        xml = getattr(self.config.option, "xmlpath", None)
        reports_dir = Path(self.config.getoption("reports_dir"))
        junit = None
        if xml:
            path = Path(xml).resolve()
            junit = (os.path.relpath(path, reports_dir.resolve()) if path.is_relative_to(reports_dir.resolve())
                     else str(path))
        run: dict[str, Any] = {
            "session": self.session, "started": self.started,
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "hostname": os.uname().nodename, "host": host_description(),
            "profile": profile, "profile_reason": reason, "jetson_profile": jetson_profile,
            "simulated": caps.simulated, "device_root": str(getattr(caps, "device_source", caps.device_root)),
            "device": device_facts(caps.device), "power_mode": power_mode(caps.device_root, caps.simulated),
            "source": source_state(),
            "images": [{"name": n, "tag": t, "digest": _image_id(t)} for n, t in sorted(self.image_tags.items())],
            "junit": junit, "invocation": list(self.config.invocation_params.args),
        }
        images_dir = Path(self.config.getoption("images_dir", default=None) or SOURCE_ROOT / "images").resolve()
        if not images_dir.is_relative_to(SOURCE_ROOT):  # a user's own tree under test: its revision too
            run["images_source"] = {"path": str(images_dir), **source_state(_git_root(images_dir))}
        if os.environ.get(RERUN_ENV):
            run["rerun_of"] = os.environ[RERUN_ENV]
        run["benchmark_key"] = benchmark_key(run)
        return run

    def junit_properties(self) -> dict[str, str]:
        run = self.identity()
        device = run["device"]
        described = device["model"] or f"none ({run['host']})"
        props = {
            "profile": str(run["profile"]), "device": described, "SIMULATED": str(run["simulated"]).lower(),
            "l4t": str(device["l4t"]), "jetpack": str(device["jetpack"]), "cuda": str(device["cuda"]),
            "tensorrt": str(device["tensorrt"]), "power_mode": str(run["power_mode"]),
            "source_revision": run["source"]["revision"], "tree_clean": str(run["source"]["clean"]).lower(),
            "session": run["session"],
        }
        if run["simulated"]:
            props["SIMULATED"] = f"true: device data read from {run['device_root']}, not measured on an Orin"
        for image in run["images"]:
            props[f"image:{image['name']}"] = f"{image['tag']}@{image['digest'] or 'unknown'}"
        return props

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """After pytest wrote the JUnit file (its own sessionfinish ran first): add the suite properties."""
        xml = getattr(self.config.option, "xmlpath", None)
        if xml and Path(xml).is_file():
            add_suite_properties(Path(xml), self.junit_properties())

    @pytest.hookimpl(optionalhook=True)
    def pytest_benchmark_update_machine_info(self, config: pytest.Config, machine_info: dict[str, Any]) -> None:
        """pytest-benchmark's own record of the machine, plus what makes two runs comparable."""
        machine_info["orin_kit"] = self.identity()
