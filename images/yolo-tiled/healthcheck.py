"""HEALTHCHECK of the tiled YOLO image (seed 001 "docker-healthcheck.sh", without its GPU-only parts).

The runtime's native pieces load: numpy, OpenCV, the C++ NMS library, and TensorRT where the base has it
(the jetson variant). Exit 0 healthy, 1 not, with the reason on stderr.
"""

import ctypes
import importlib
import importlib.util
import sys

LIBRARY = "/app/nms_cpp/libnms_merger.so"

try:
    for module in ("numpy", "cv2"):
        importlib.import_module(module)
    if importlib.util.find_spec("tensorrt") is not None:
        importlib.import_module("tensorrt")
    ctypes.CDLL(LIBRARY)
except (ImportError, OSError) as exc:
    print(f"unhealthy: {exc}", file=sys.stderr)
    sys.exit(1)
sys.exit(0)
