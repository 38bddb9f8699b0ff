"""Options and fixtures of the nms checks (a sub-plugin loaded by conformance.plugin)."""
