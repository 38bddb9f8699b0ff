"""The gpu tier's comparisons: the kit's tiny models run on CUDA and on the CPU from the same inputs, so their
outputs can be compared within a stated tolerance (fixtures/devices/criteria.yaml gpu_parity)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt


def detector_outputs(weights: Path, device: str, batch: int = 2, size: int = 640, seed: int = 0) -> npt.NDArray[Any]:
    """Raw outputs of the tiny detector (torch weights) on `device` for a fixed random batch of tiles."""
    import torch

    from conformance.builders.tiny_detector import load_weights

    generator = torch.Generator().manual_seed(seed)
    tiles = torch.rand(batch, 3, size, size, generator=generator)
    model = load_weights(weights, input_size=size).to(device)
    with torch.no_grad():
        out = model(tiles.to(device))
    first = out[0] if isinstance(out, (tuple, list)) else out
    return np.asarray(first.detach().float().cpu().numpy())


def gliner2_hidden_states(model_dir: Path, device: str, tokens: int = 48, seed: int = 0) -> npt.NDArray[Any]:
    """Encoder hidden states of a GLiNER2 model on `device` for a fixed random token sequence."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from gliner2 import GLiNER2

    model = GLiNER2.from_pretrained(str(model_dir)).to(device).eval()
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, int(model.encoder.config.vocab_size), (1, tokens), generator=generator)
    with torch.no_grad():
        hidden = model.encoder(input_ids=ids.to(device), attention_mask=torch.ones_like(ids).to(device))
    return np.asarray(hidden.last_hidden_state.float().cpu().numpy())


def max_abs_diff(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> float:
    if a.shape != b.shape:
        raise ValueError(f"outputs of different shapes: {a.shape} and {b.shape}")
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max())
