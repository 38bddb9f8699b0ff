"""`python -m conformance COMMAND`: the kit's command line (also installed as `orin-conformance`)."""

from conformance.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
