#!/usr/bin/env python3
"""GPU probe: run inside an image under test (on an Orin under `--runtime nvidia`); prints one JSON document of
facts (schema orin-kit/gpu-probe/1) on its last stdout line:

- the GPU device nodes the container sees, and whether its user may open them;
- where the container's linker cache resolves libcuda.so.1 / libnvinfer.so.10, and whether they load;
- the libraries the runtime mounts (drivers.csv, passed with --runtime-lib): mounted or not, and copies the
  image carries of its own in the linker's directories (they would shadow the mounted ones; seed 003);
- torch: version, torch.version.cuda, CUDA available, cuDNN, a convolution on the GPU against the CPU;
- TensorRT: version, and the mounted engine deserialised with its I/O tensors;
- the image's own CUDA (/usr/local/cuda/version.json).

torch and TensorRT are imported in child interpreters, so an abort or a segfault there is a fact (exit code,
stderr tail), never the end of the probe. Standard library only; Python 3.8 or later.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import re
import subprocess
import sys
from typing import Any

SCHEMA = "orin-kit/gpu-probe/1"
DEFAULT_NODES = ("/dev/nvmap", "/dev/nvgpu/igpu0", "/dev/nvhost-ctrl-gpu")
DEFAULT_LIBRARIES = ("libcuda.so.1", "libnvinfer.so.10")
EXTRA_LIB_DIRS = ("/usr/lib/aarch64-linux-gnu/nvidia", "/usr/lib/aarch64-linux-gnu/tegra")
TAIL = 4000
CHILD_TIMEOUT_S = 300


def _tail(text: str) -> str:
    return text[-TAIL:]


def nodes(paths: list[str]) -> dict[str, dict[str, bool]]:
    out = {}
    for path in paths:
        present = os.path.exists(path)
        mode = os.R_OK | (os.X_OK if os.path.isdir(path) else os.W_OK)
        out[path] = {"present": present, "usable": present and os.access(path, mode)}
    return out


def linker_cache() -> dict[str, str]:
    """soname -> first path `ldconfig -p` lists for it (the one the dynamic linker picks)."""
    for ldconfig in ("ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig", "/sbin/ldconfig.real"):
        try:
            result = subprocess.run([ldconfig, "-p"], capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        cache: dict[str, str] = {}
        for line in result.stdout.splitlines():
            match = re.match(r"\s+(\S+) \(([^)]*)\) => (\S+)", line)
            if match:
                cache.setdefault(match.group(1), match.group(3))
        return cache
    return {}


def libraries(names: list[str], cache: dict[str, str]) -> dict[str, dict[str, Any]]:
    out = {}
    for name in names:
        entry: dict[str, Any] = {"cache": cache.get(name), "loads": False, "error": None}
        try:
            ctypes.CDLL(name)
            entry["loads"] = True
        except OSError as error:
            entry["error"] = str(error)
        out[name] = entry
    return out


def mount_points() -> set[str]:
    points = set()
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as info:
            for line in info:
                fields = line.split()
                if len(fields) > 4:
                    points.add(re.sub(r"\\(\d{3})", lambda m: chr(int(m.group(1), 8)), fields[4]))
    except OSError:
        pass
    return points


def _family(name: str) -> str:
    """libcuda.so.1.1 -> libcuda.so: the names a copy of the same library may carry."""
    return name[:name.index(".so") + 3] if ".so" in name else name


def runtime_libraries(paths: list[str], cache: dict[str, str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The runtime's libraries (mounted or not) and the image's own copies of them where the linker looks."""
    points = mount_points()
    listed = [{"path": p, "present": os.path.exists(p), "mounted": p in points} for p in paths]
    families = {_family(os.path.basename(p)) for p in paths}
    dirs = sorted({os.path.dirname(p) for p in cache.values()} | set(EXTRA_LIB_DIRS))
    copies = []
    for directory in dirs:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if _family(entry.name) in families and not entry.is_symlink() and entry.is_file() \
                    and entry.path not in points:
                copies.append({"path": entry.path, "bytes": entry.stat().st_size})
    return listed, sorted(copies, key=lambda c: c["path"])


def cuda_base() -> str | None:
    try:
        with open("/usr/local/cuda/version.json", encoding="utf-8") as handle:
            data = json.load(handle)
        for key in ("cuda_nvcc", "cuda", "cuda_cudart"):
            version = (data.get(key) or {}).get("version")
            if isinstance(version, str):
                return ".".join(version.split(".")[:2])
    except (OSError, ValueError, AttributeError):
        pass
    version = os.environ.get("CUDA_VERSION")
    return ".".join(version.split(".")[:2]) if version else None


def torch_section() -> dict[str, Any]:
    import torch
    import torch.nn.functional as F

    out: dict[str, Any] = {"imported": True, "version": torch.__version__, "cuda_build": torch.version.cuda,
                           "cuda_available": bool(torch.cuda.is_available())}
    # The two lines users paste: the known-failure matching reads them from stderr.
    print(f"PyTorch version: {torch.__version__}", file=sys.stderr)
    print(f"CUDA available: {out['cuda_available']}", file=sys.stderr)
    try:
        out["cudnn"] = torch.backends.cudnn.version()
    except Exception:  # noqa: BLE001 - a broken cuDNN is a fact, reported by the convolution
        out["cudnn"] = None
    if out["cuda_available"]:
        out["device_name"] = torch.cuda.get_device_name(0)
        try:
            generator = torch.Generator().manual_seed(0)
            x = torch.randn(2, 3, 64, 64, generator=generator)
            w = torch.randn(8, 3, 3, 3, generator=generator)
            torch.backends.cudnn.enabled = True
            y = F.conv2d(x.cuda(), w.cuda(), padding=1)
            torch.cuda.synchronize()
            reference = F.conv2d(x, w, padding=1)
            out["conv"] = {"ran": True, "device": str(y.device),
                           "cudnn_enabled": bool(torch.backends.cudnn.is_available()),
                           "max_abs_diff": float((y.cpu() - reference).abs().max())}
        except Exception as error:  # noqa: BLE001 - the failure is the fact
            out["conv"] = {"ran": False, "error": f"{type(error).__name__}: {error}"}
    return out


def tensorrt_section(engine_path: str | None) -> dict[str, Any]:
    import tensorrt as trt

    out: dict[str, Any] = {"imported": True, "version": trt.__version__, "engine": None}
    if engine_path:
        engine_facts: dict[str, Any] = {"path": engine_path, "deserialised": False}
        out["engine"] = engine_facts
        if not os.path.isfile(engine_path):
            engine_facts["error"] = f"{engine_path}: no such file"
            return out
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))  # TensorRT's own errors go to stderr
        with open(engine_path, "rb") as handle:
            engine = runtime.deserialize_cuda_engine(handle.read())
        if engine is None:
            engine_facts["error"] = "deserialize_cuda_engine returned None (TensorRT's message is in stderr)"
            return out
        engine_facts["deserialised"] = True
        for kind in ("inputs", "outputs"):
            engine_facts[kind] = []
        for i in range(engine.num_io_tensors):
            name = engine.get_tensor_name(i)
            kind = "inputs" if engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT else "outputs"
            dtype = engine.get_tensor_dtype(name)
            engine_facts[kind].append({"name": name, "shape": [int(d) for d in engine.get_tensor_shape(name)],
                                       "dtype": getattr(dtype, "name", str(dtype)).split(".")[-1]})
    return out


def child(section: str, engine: str | None) -> dict[str, Any]:
    """Run a section in a fresh interpreter; its crash, exit code and stderr become facts."""
    argv = [sys.executable, os.path.abspath(__file__), "--section", section]
    if engine:
        argv += ["--engine", engine]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as error:
        stderr = error.stderr.decode(errors="replace") if isinstance(error.stderr, bytes) else (error.stderr or "")
        return {"imported": False, "returncode": 124, "stderr": _tail(stderr),
                "error": f"the {section} probe did not finish within {CHILD_TIMEOUT_S} s"}
    lines = result.stdout.strip().splitlines()
    try:
        facts = json.loads(lines[-1]) if lines else {}
    except ValueError:
        facts = {}
    if not isinstance(facts, dict) or "imported" not in facts:
        facts = {"imported": False, "error": f"the {section} probe exited {result.returncode} without facts"}
    facts["returncode"] = result.returncode
    facts["stderr"] = _tail(result.stderr)
    return facts


def run_section(section: str, engine: str | None) -> dict[str, Any]:
    try:
        return torch_section() if section == "torch" else tensorrt_section(engine)
    except ImportError as error:
        return {"imported": False, "error": f"{type(error).__name__}: {error}"}
    except Exception as error:  # noqa: BLE001 - the probe reports, never fails
        return {"imported": True, "error": f"{type(error).__name__}: {error}"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--image", default="unknown", help="name of the image under test (recorded in the facts)")
    parser.add_argument("--engine", default=None, help="TensorRT engine to deserialise (mounted into the container)")
    parser.add_argument("--node", action="append", default=None, help="GPU device node to look for (repeatable)")
    parser.add_argument("--library", action="append", default=None, help="soname to resolve (repeatable)")
    parser.add_argument("--runtime-lib", action="append", default=[],
                        help="a library the runtime mounts, from drivers.csv (repeatable)")
    parser.add_argument("--section", choices=("torch", "tensorrt"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.section:
        print(json.dumps(run_section(args.section, args.engine)))
        return 0
    cache = linker_cache()
    listed, copies = runtime_libraries(args.runtime_lib, cache)
    facts = {
        "schema": SCHEMA, "image": args.image, "python": sys.version.split()[0], "uid": os.getuid(),
        "nodes": nodes(args.node or list(DEFAULT_NODES)),
        "linker": libraries(args.library or list(DEFAULT_LIBRARIES), cache),
        "runtime_libraries": listed, "own_copies": copies, "cuda_base": cuda_base(),
        "torch": child("torch", None), "tensorrt": child("tensorrt", args.engine),
    }
    print(json.dumps(facts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
