"""Profile loading (every problem names file and key) and profile selection from the device tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import FIXTURES_DIR
from conformance.device.facts import probe_device
from conformance.config.profiles import ProfileError, choose_profile, load_profile, load_profiles

@pytest.mark.parametrize(("recording", "expected"), [
    ("orin-nx-16gb", "orin-nx-16gb"), ("orin-nx-8gb", "orin-nx-8gb"),
    ("agx-orin-64gb", "agx-orin-64gb"), ("orin-nano-8gb", "orin-nano-8gb"),
    ("x86-host", "generic-host"),
])
def test_profile_is_detected_from_the_device_tree(recording: str, expected: str) -> None:
    choice = choose_profile(probe_device(FIXTURES_DIR / "devices" / recording))
    assert choice.profile.name == expected, f"{recording}: chose {choice.profile.name} ({choice.reason})"


def test_unknown_forced_profile_is_a_clear_error() -> None:
    with pytest.raises(ProfileError, match="--profile 'orin-xx': no such profile; expected one of"):
        choose_profile(probe_device(FIXTURES_DIR / "devices" / "x86-host"), forced="orin-xx")


@pytest.mark.parametrize(("text", "message"), [
    ("name: x\njetson: false\n", r"x.yaml: thresholds: is missing; expected a value"),
    (": : :\n", "x.yaml: not valid YAML at line 1"),
    ("- a list\n", "x.yaml: expected a mapping of fields, found list"),
])
def test_malformed_profile_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(text)
    with pytest.raises(ProfileError, match=message):
        load_profile(path)


def test_threshold_of_wrong_type_is_rejected(tmp_path: Path) -> None:
    source = (FIXTURES_DIR / "profiles" / "generic-host.yaml").read_text()
    path = tmp_path / "generic-host.yaml"
    path.write_text(source.replace("startup_s_max: 10", "startup_s_max: true"))
    with pytest.raises(ProfileError, match="generic-host.yaml: thresholds.startup_s_max: expected a number, found True"):
        load_profile(path)


def test_every_shipped_profile_loads() -> None:
    assert set(load_profiles()) == {"orin-nx-16gb", "orin-nx-8gb", "agx-orin-64gb", "orin-nano-8gb",
                                    "generic-host"}, "the five profiles of issue 2 must ship"
