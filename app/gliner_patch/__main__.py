"""CLI: ``python -m app.gliner_patch apply PATH`` / ``python -m app.gliner_patch verify [--import] PATH``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from .patch import PatchError, apply, verify


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.gliner_patch",
                                     description="Make `import gliner` lazy (no eager onnxruntime).")
    sub = parser.add_subparsers(dest="command", required=True)
    p_apply = sub.add_parser("apply", help="patch gliner/__init__.py (idempotent)")
    p_apply.add_argument("path", type=Path, help="site-packages, the gliner dir or its __init__.py")
    p_verify = sub.add_parser("verify", help="check the patch; exit 1 with the problems")
    p_verify.add_argument("path", type=Path)
    p_verify.add_argument("--import", dest="run_import", action="store_true",
                          help="also import gliner in a fresh interpreter and check what it loaded")
    args = parser.parse_args(argv)
    try:
        if args.command == "apply":
            result = apply(args.path)
            state = "patched" if result.changed else "already patched, unchanged"
            print(f"gliner {result.version}: {state}: {result.init}")
            return 0
        problems = verify(args.path, run_import=args.run_import)
    except (PatchError, OSError, SyntaxError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if not problems:
        print(f"gliner lazy-import patch verified: {args.path}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
