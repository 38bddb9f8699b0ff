"""Options and fixtures of the gliner2 checks (a sub-plugin loaded by conformance.plugin)."""
