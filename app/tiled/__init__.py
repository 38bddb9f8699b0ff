"""Tiled YOLO detection: SAHI-compatible tiling, batch-8 engines, C++ merge, ByteTrack, video in and out.

The runtime (everything except :mod:`app.tiled.prepare_onnx`, the offline model edit) imports only numpy, OpenCV,
supervision, scipy, tqdm and ``nms_cpp``: never torch, never onnxruntime (it aborts with
``free(): invalid pointer`` after inference on Orin, onnxruntime#28301), never onnx.
"""
