"""How many Hypothesis examples the NMS properties run: one named profile, set from `--nms-examples`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hypothesis import settings

#: Name of the Hypothesis profile the nms properties run under.
HYPOTHESIS_PROFILE = "nms-conformance"
DEFAULT_EXAMPLES = 1000


def register_profile(examples: int) -> None:
    """Register the profile (a no-op without Hypothesis: it is an extra, and the checks then skip)."""
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:
        return
    settings.register_profile(
        HYPOTHESIS_PROFILE,
        max_examples=examples,
        deadline=None,  # one example may be a 2,000-box oracle run on a shared 2-core machine
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True,
    )


def nms_settings() -> "settings":
    """The nms Hypothesis profile (falls back to the defaults when the plugin is not loaded)."""
    from hypothesis import settings
    from hypothesis.errors import InvalidArgument

    try:
        return settings.get_profile(HYPOTHESIS_PROFILE)
    except InvalidArgument:  # unregistered, e.g. a module imported outside pytest
        return settings(max_examples=DEFAULT_EXAMPLES, deadline=None)
