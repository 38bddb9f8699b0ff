"""Root wiring: the suite's plugin (options, markers, tier skips, fixtures) and pytester for self-tests."""

pytest_plugins = ["conformance.plugin", "pytester"]
