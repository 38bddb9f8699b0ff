"""Options and fixtures of the images checks (a sub-plugin loaded by conformance.plugin)."""
