"""Tiled YOLO detection: SAHI-compatible tiling, batch-8 engines, C++ merge, ByteTrack, video in and out.

The runtime (everything except :mod:`app.tiled.model_builder`) imports only numpy, OpenCV,
supervision, tqdm and ``nms_cpp``: never torch, never onnxruntime (REFERENCE.md).
"""
