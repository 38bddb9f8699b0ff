"""Options and fixtures of the tiled checks (a sub-plugin loaded by conformance.plugin)."""
