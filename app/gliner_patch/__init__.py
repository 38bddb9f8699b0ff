"""Make ``import gliner`` lazy: ``python -m app.gliner_patch apply|verify PATH``.

gliner 0.2.13-0.2.28 import onnxruntime unconditionally through ``from .model import GLiNER`` in
``gliner/__init__.py`` (0.2.29 only tries to); seed 000 removes onnxruntime from the image and patches
that import into a module-level ``__getattr__`` so ``GLiNER`` loads on first use.
"""

from .patch import PatchError, PatchResult, apply, find_init, verify

__all__ = ["PatchError", "PatchResult", "apply", "find_init", "verify"]
