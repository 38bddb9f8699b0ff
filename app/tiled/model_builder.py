"""Offline builder of the project's tiny YOLO-shaped detector (the only module that imports torch).

The network is a small anchor-free YOLO (v8-style heads at strides 8/16/32, 8400 anchors at 640) with
the decode inside the graph, exported to ONNX in the DeepStream-Yolo ``[B, N, 6]`` layout
(x1, y1, x2, y2, score, class; no NMS inside; REFERENCE.md). Weights come from a fixed seed: nothing
is downloaded. Usage: ``python -m app.tiled.model_builder --out build/tiled/tiny_yolo_b8.onnx``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

DEFAULT_SEED = 20261123
DEFAULT_CLASSES = ("box", "disc", "bar")
STRIDES = (8, 16, 32)


def build_model(seed: int = DEFAULT_SEED, num_classes: int = len(DEFAULT_CLASSES), input_size: int = 640) -> Any:
    """The tiny detector as a ``torch.nn.Module`` in eval mode, weights drawn from ``seed``."""
    import torch
    from torch import nn

    torch.manual_seed(seed)

    def block(cin: int, cout: int) -> nn.Module:
        return nn.Sequential(nn.Conv2d(cin, cout, 3, 2, 1), nn.ReLU())

    class TinyYolo(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(block(3, 8), block(8, 16), block(16, 24))  # stride 8
            self.down16 = block(24, 32)
            self.down32 = block(32, 32)
            self.heads = nn.ModuleList(nn.Conv2d(c, 4 + num_classes, 1) for c in (24, 32, 32))
            grids = []
            strides = []
            for s in STRIDES:
                g = input_size // s
                ys, xs = torch.meshgrid(torch.arange(g), torch.arange(g), indexing="ij")
                grids.append(torch.stack((xs, ys), -1).reshape(-1, 2).float() + 0.5)
                strides.append(torch.full((g * g, 1), float(s)))
            self.register_buffer("anchors", torch.cat(grids))
            self.register_buffer("strides", torch.cat(strides))

        def forward(self, x: Any) -> Any:
            p8 = self.stem(x)
            p16 = self.down16(p8)
            p32 = self.down32(p16)
            outs = [h(p).flatten(2) for h, p in zip(self.heads, (p8, p16, p32))]
            raw = torch.cat(outs, 2).transpose(1, 2)  # [B, N, 4 + C]
            ltrb = torch.nn.functional.softplus(raw[..., :4]) * 2.0
            centre = self.anchors
            x1y1 = (centre - ltrb[..., :2]) * self.strides
            x2y2 = (centre + ltrb[..., 2:]) * self.strides
            cls = torch.sigmoid(raw[..., 4:])
            score, label = cls.max(-1, keepdim=True)
            return torch.cat((x1y1, x2y2, score, label.float()), -1)

    model = TinyYolo().eval()
    return model


def export_onnx(out: Path, seed: int = DEFAULT_SEED, batch: int = 8, input_size: int = 640,
                num_classes: int = len(DEFAULT_CLASSES)) -> Path:
    """Export the seeded model to ``out`` (static batch), atomically (temp file then rename)."""
    import torch

    model = build_model(seed, num_classes, input_size)
    dummy = torch.zeros(batch, 3, input_size, input_size)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".onnx", dir=out.parent)
    os.close(fd)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # The TorchScript exporter is the one that writes a plain static-batch graph without onnxscript.
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(model, (dummy,), tmp, input_names=["input"], output_names=["output"],
                              opset_version=17, dynamo=False)
        os.chmod(tmp, 0o644)  # mounted read-only into a container that runs as a non-root user
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def write_labels(out: Path, labels: tuple[str, ...] = DEFAULT_CLASSES) -> Path:
    """Write one label per line (the app's labels file format)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text("".join(f"{name}\n" for name in labels), encoding="utf-8")
    os.replace(tmp, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.tiled.model_builder", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="ONNX file to write")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--input-size", type=int, default=640)
    parser.add_argument("--labels", type=Path, help="also write the labels file here")
    args = parser.parse_args(argv)
    export_onnx(args.out, seed=args.seed, batch=args.batch, input_size=args.input_size)
    if args.labels:
        write_labels(args.labels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
