"""Make `gliner.GLiNER` lazy so that `import gliner` loads neither gliner.model nor onnxruntime.

seed 000 ("gliner Lazy-Import Patch"): gliner's __init__ does `from .model import GLiNER`, and
gliner.model imports onnxruntime (unconditionally in 0.2.13-0.2.28; REFERENCE.md). The line is replaced by
a module-level __getattr__ (PEP 562) that imports .model on first use of `GLiNER`. Run at image build
time; exits non-zero with a message when gliner is missing or its __init__ has no such line.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

EAGER = "from .model import GLiNER\n"
LAZY = '''# orin-kit patch (seed 000): GLiNER is imported lazily so `import gliner` needs no onnxruntime.
def __getattr__(name):
    if name == "GLiNER":
        from .model import GLiNER

        return GLiNER
    raise AttributeError(f"module 'gliner' has no attribute {name!r}")
'''
MARK = "# orin-kit patch (seed 000)"


def main() -> int:
    spec = importlib.util.find_spec("gliner")  # locates the package without importing it
    if spec is None or spec.origin is None:
        print("patch_gliner: gliner is not installed; expected it from requirements-nodeps.txt", file=sys.stderr)
        return 1
    init = Path(spec.origin)
    text = init.read_text()
    if MARK in text:
        print(f"patch_gliner: {init} already patched")
        return 0
    if text.count(EAGER) != 1:
        print(f"patch_gliner: expected exactly one line {EAGER.strip()!r} in {init}; "
              "this gliner version needs a new patch", file=sys.stderr)
        return 1
    init.write_text(text.replace(EAGER, LAZY))
    print(f"patch_gliner: patched {init}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
