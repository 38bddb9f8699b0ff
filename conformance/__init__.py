"""Conformance kit for NVIDIA Jetson Orin containers: checks, plugin, probes and oracles."""

from pathlib import Path

#: Directory holding the conformance checks (``test_*.py``); the project's own tests run them from here.
CHECKS_DIR = Path(__file__).resolve().parent
#: Repository root (the checks, fixtures and images travel together in one tree).
REPO_ROOT = CHECKS_DIR.parent
#: Recorded device data, profiles and known-bad variants.
FIXTURES_DIR = REPO_ROOT / "fixtures"
