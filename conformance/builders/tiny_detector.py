"""Offline builder of the project's tiny YOLO-shaped detector (the only module that imports torch).

The network is a small anchor-free YOLO (v8-style heads at strides 8/16/32, 8400 anchors at 640) with
the decode inside the graph, exported to ONNX in the DeepStream-Yolo ``[B, N, 6]`` layout
(x1, y1, x2, y2, score, class; no NMS inside), then prepared for the app like any user's
export (``app.tiled.prepare_onnx``: uint8 BGR tiles in, the graph casts, scales and transposes). The float
export is kept beside it (``*_float.onnx``) as the parity check's proof that the edit changed no result. Weights come from a fixed seed and a few
minutes of CPU training on synthetic tiles (conformance.builders.scenes), so it really finds the scenes' coloured
objects (roughly; it is tiny); nothing is downloaded. The weights are saved next to the ONNX (``.pt``)
as the torch reference of the parity check. Usage: ``python -m conformance.builders.tiny_detector --out build/tiled/tiny_yolo_b8.onnx``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable

DEFAULT_SEED = 20261123
DEFAULT_CLASSES = ("box", "disc", "bar")
STRIDES = (8, 16, 32)
CLASS_PRIOR_BIAS = -4.6
#: Training steps at setup (about 2-3 minutes on 2 cores) and the tile size they train on.
TRAIN_STEPS = 400
TRAIN_SIZE = 256


def build_model(seed: int = DEFAULT_SEED, num_classes: int = len(DEFAULT_CLASSES), input_size: int = 640) -> Any:
    """The tiny detector as a ``torch.nn.Module`` in eval mode, weights drawn from ``seed``."""
    import torch
    from torch import nn

    torch.manual_seed(seed)

    def block(cin: int, cout: int, refine: bool = True) -> nn.Module:
        layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.SiLU()]
        if refine:  # a second 3x3 conv; skipped at the two highest resolutions, where it costs the most
            layers += [nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.SiLU()]
        return nn.Sequential(*layers)

    class TinyYolo(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(block(3, 8, False), block(8, 16, False), block(16, 24))  # stride 8
            self.down16 = block(24, 32)
            self.down32 = block(32, 32)
            self.heads = nn.ModuleList(nn.Conv2d(c, 4 + num_classes, 1) for c in (24, 32, 32))
            with torch.no_grad():
                for module in self.heads:
                    head: Any = module
                    # YOLO's class prior (p = 0.01): an untrained head scores most anchors low instead of
                    # ~0.5, so the pipeline sees tens of candidates per tile like a real detector, not 8400.
                    head.bias[4:] = CLASS_PRIOR_BIAS
            grids = []
            strides = []
            for s in STRIDES:
                g = input_size // s
                ys, xs = torch.meshgrid(torch.arange(g), torch.arange(g), indexing="ij")
                grids.append(torch.stack((xs, ys), -1).reshape(-1, 2).float() + 0.5)
                strides.append(torch.full((g * g, 1), float(s)))
            # not persistent: the grid depends on the input size, the weights do not
            self.register_buffer("anchors", torch.cat(grids), persistent=False)
            self.register_buffer("strides", torch.cat(strides), persistent=False)

        def raw(self, x: Any) -> Any:
            """Head outputs before decoding, ``[B, N, 4 + C]`` (training uses them)."""
            p8 = self.stem(x)
            p16 = self.down16(p8)
            p32 = self.down32(p16)
            outs = [h(p).flatten(2) for h, p in zip(self.heads, (p8, p16, p32))]
            return torch.cat(outs, 2).transpose(1, 2)

        def forward(self, x: Any) -> Any:
            raw = self.raw(x)
            ltrb = torch.nn.functional.softplus(raw[..., :4]) * 2.0
            centre: Any = self.anchors
            stride: Any = self.strides
            x1y1 = (centre - ltrb[..., :2]) * stride
            x2y2 = (centre + ltrb[..., 2:]) * stride
            cls = torch.sigmoid(raw[..., 4:])
            score, label = cls.max(-1, keepdim=True)
            return torch.cat((x1y1, x2y2, score, label.float()), -1)

    model = TinyYolo().eval()
    return model


def _training_sample(rng: Any, size: int) -> tuple[Any, list[tuple[float, float, float, float, int]]]:
    """One synthetic tile like the scenes the app is tested on (conformance.builders.scenes), with its boxes."""
    from conformance.builders.scenes import Scene, SceneObject

    objects = []
    placed: list[tuple[int, int, int, int]] = []
    for i in range(int(rng.integers(1, 7))):
        w, h = int(rng.integers(16, 200)), int(rng.integers(16, 200))
        w, h = min(w, size - 2), min(h, size - 2)
        x, y = int(rng.integers(0, size - w)), int(rng.integers(0, size - h))
        if any(x < b[2] + 4 and b[0] < x + w + 4 and y < b[3] + 4 and b[1] < y + h + 4 for b in placed):
            continue
        placed.append((x, y, x + w, y + h))
        objects.append(SceneObject(i, int(rng.integers(0, len(DEFAULT_CLASSES))), w, h, float(x), float(y)))
    scene = Scene(size, size, tuple(objects), 1, int(rng.integers(0, 2**31)))
    frame = scene.render(0)
    _ids, boxes, classes = scene.truth(0)
    return frame, [(float(b[0]), float(b[1]), float(b[2]), float(b[3]), int(c))
                   for b, c in zip(boxes.tolist(), classes.tolist())]


def train(model: Any, steps: int, seed: int, size: int = 256, batch: int = 8,
          log: Callable[[str], None] | None = None) -> Any:
    """A few minutes of CPU training on synthetic tiles, so the detector really finds the scenes' objects.

    Assignment (FCOS-like): an object belongs to one level by its longer side (<= 64 px: stride 8,
    <= 128: 16, else 32); the anchors of that level whose centre falls in the central half of the box
    are positives. Loss: BCE on class logits over all anchors + L1 on (l, t, r, b) in stride units.
    """
    import numpy as np
    import torch

    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    anchors, strides = model.anchors, model.strides[:, 0]
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _step in range(steps):
        images, cls_t, box_t, pos = [], [], [], []
        for _ in range(batch):
            frame, boxes = _training_sample(rng, size)
            images.append(frame[..., ::-1].transpose(2, 0, 1) / 255.0)
            ct = torch.zeros(len(anchors), len(DEFAULT_CLASSES))
            bt = torch.zeros(len(anchors), 4)
            pm = torch.zeros(len(anchors), dtype=torch.bool)
            for x0, y0, x1, y1, c in boxes:
                side = max(x1 - x0, y1 - y0)
                s = 8 if side <= 64 else 16 if side <= 128 else 32
                cx, cy = anchors[:, 0] * strides, anchors[:, 1] * strides  # anchor centres in pixels
                qx, qy = (x1 - x0) / 4, (y1 - y0) / 4
                mx, my = (x0 + x1) / 2, (y0 + y1) / 2
                inside = (strides == s) & ((cx - mx).abs() <= max(qx, s / 2)) & ((cy - my).abs() <= max(qy, s / 2))
                ct[inside, c] = 1.0
                bt[inside] = torch.stack(((cx - x0) / strides, (cy - y0) / strides,
                                          (x1 - cx) / strides, (y1 - cy) / strides), 1)[inside]
                pm |= inside
            cls_t.append(ct)
            box_t.append(bt)
            pos.append(pm)
        x = torch.from_numpy(np.stack(images).astype(np.float32))
        raw = model.raw(x)
        cls_target, box_target, positive = torch.stack(cls_t), torch.stack(box_t), torch.stack(pos)
        n_pos = max(1, int(positive.sum()))
        cls_loss = torch.nn.functional.binary_cross_entropy_with_logits(raw[..., 4:], cls_target,
                                                                        reduction="sum") / n_pos
        ltrb = torch.nn.functional.softplus(raw[..., :4]) * 2.0
        box_loss = (ltrb[positive] - box_target[positive]).abs().sum() / n_pos
        loss = cls_loss + box_loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        if log is not None and (_step % 25 == 0 or _step == steps - 1):
            log(f"step {_step}: class loss {float(cls_loss.detach()):.3f}, box loss {float(box_loss.detach()):.3f}")
    return model.eval()


def load_weights(weights: Path, input_size: int = 640, num_classes: int = len(DEFAULT_CLASSES)) -> Any:
    """The detector with the weights saved next to its ONNX export (the parity check's torch reference)."""
    import torch

    model = build_model(DEFAULT_SEED, num_classes, input_size)
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return model.eval()


def export_onnx(out: Path, seed: int = DEFAULT_SEED, batch: int = 8, input_size: int = 640,
                num_classes: int = len(DEFAULT_CLASSES), train_steps: int = TRAIN_STEPS,
                log: Callable[[str], None] | None = None) -> Path:
    """Build (and train ``train_steps`` steps), export the float model to :func:`float_onnx_of` ``out``
    (static batch), prepare it into ``out`` (uint8 tiles in) and save the weights to ``out`` with suffix
    ``.pt``; each atomically (temp file then rename)."""
    import torch

    from app.tiled.prepare_onnx import prepare_file

    model = build_model(seed, num_classes, TRAIN_SIZE if train_steps else input_size)
    if train_steps:
        train(model, train_steps, seed, size=TRAIN_SIZE, log=log)
        state = model.state_dict()
        model = build_model(seed, num_classes, input_size)
        model.load_state_dict(state)
        model.eval()
    dummy = torch.zeros(batch, 3, input_size, input_size)
    out.parent.mkdir(parents=True, exist_ok=True)
    weights = out.with_suffix(".pt")
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".onnx", dir=out.parent)
    os.close(fd)
    wtmp = weights.with_name(f".tmp-{weights.name}")
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # The TorchScript exporter is the one that writes a plain static-batch graph without onnxscript.
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(model, (dummy,), tmp, input_names=["input"], output_names=["output"],
                              opset_version=17, dynamo=False)
        torch.save(model.state_dict(), wtmp)
        for path in (tmp, wtmp):
            os.chmod(path, 0o644)  # mounted read-only into a container that runs as a non-root user
        os.replace(wtmp, weights)
        os.replace(tmp, float_onnx_of(out))
    finally:
        for path in (tmp, str(wtmp)):
            if os.path.exists(path):
                os.unlink(path)
    return prepare_file(float_onnx_of(out), out)


def float_onnx_of(prepared: Path) -> Path:
    """Where the float export of a prepared model is kept: ``NAME_float.onnx`` beside ``NAME.onnx`` (the
    parity check's bit-exact peer)."""
    return prepared.with_name(f"{prepared.stem}_float.onnx")


def write_labels(out: Path, labels: tuple[str, ...] = DEFAULT_CLASSES) -> Path:
    """Write one label per line (the app's labels file format)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text("".join(f"{name}\n" for name in labels), encoding="utf-8")
    os.replace(tmp, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.builders.tiny_detector", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="ONNX file to write")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--input-size", type=int, default=640)
    parser.add_argument("--labels", type=Path, help="also write the labels file here")
    parser.add_argument("--train-steps", type=int, default=TRAIN_STEPS,
                        help="steps of training on synthetic tiles (0: seeded random weights)")
    args = parser.parse_args(argv)
    export_onnx(args.out, seed=args.seed, batch=args.batch, input_size=args.input_size,
                train_steps=args.train_steps, log=lambda line: print(line, file=sys.stderr, flush=True))
    if args.labels:
        write_labels(args.labels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
