"""Verdicts on the GPU inside an image under `--runtime nvidia`, from the facts of `gpu_probe.py`."""

from __future__ import annotations

from conformance.config.devices import Engine, ImageNeeds, MadeFor, Runtime
from conformance.config.probes import GpuProbe, Tensor
from conformance.device.verdicts import Verdict, listing, verdict
from conformance.device.verdicts.host import NotApplicable, missing_nodes

RUNTIME_FIX = ("run the container with `--runtime nvidia` (compose: `runtime: nvidia`), never `--gpus`; the nodes "
               "come from devices.csv")


def _mb(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def nodes_in_image(facts: GpuProbe, runtime: Runtime) -> Verdict:
    present = {path for path, node in facts.nodes.items() if node.present}
    absent = missing_nodes(present, runtime)
    unusable = sorted(path for path, node in facts.nodes.items() if node.present and not node.usable)
    found = (f"{facts.image}: GPU device nodes missing in the container: {listing(absent)}" if absent else
             f"{facts.image}: nodes present but not usable by uid {facts.uid}: {listing(unusable)}" if unusable else
             f"{facts.image}: {listing(sorted(present))}")
    fix = RUNTIME_FIX if absent else "add the image's user to the video group's gid of the host (group_add)"
    return verdict(not absent and not unusable, found,
                   f"{listing(runtime.nodes_required)} and one of {listing(runtime.nodes_any_of)}, usable by the "
                   "image's user", fix, "seed 001 'Challenge 4: GPU Access'; dusty-nv/jetson-containers#384",
                   facts.stderr_texts())


def libraries_resolve(facts: GpuProbe, needs: ImageNeeds) -> Verdict:
    broken = []
    for name in needs.libraries:
        lib = facts.linker.get(name)
        if lib is None:
            broken.append(f"{name} (not probed)")
        elif lib.cache is None or not lib.loads:
            where = f"cached at {lib.cache}" if lib.cache else "not in the linker cache"
            broken.append(f"{name} ({where}; {lib.error or 'does not load'})")
    resolved = [f"{n} -> {facts.linker[n].cache}" for n in needs.libraries if n in facts.linker and not any(
        b.startswith(n + " ") for b in broken)]
    return verdict(not broken, f"{facts.image}: {listing(broken)}" if broken else f"{facts.image}: {listing(resolved)}",
                   f"{listing(needs.libraries)} resolved through the container's linker cache (ldconfig -p) and "
                   "loadable", RUNTIME_FIX + "; keep an ld.so.conf.d entry for /usr/lib/aarch64-linux-gnu/nvidia "
                   "and run ldconfig in the image", "seed 003 (ldconfig like the host's)", facts.stderr_texts())


def no_own_copies(facts: GpuProbe) -> Verdict:
    total = sum(copy.bytes for copy in facts.own_copies)
    copies = [f"{c.path} ({_mb(c.bytes)})" for c in facts.own_copies]
    return verdict(not copies, f"{facts.image} carries its own copies of libraries the runtime mounts: "
                   f"{listing(copies)}, {_mb(total)} in all" if copies else
                   f"{facts.image}: no copies of the {len(facts.runtime_libraries)} mounted libraries",
                   "none: the nvidia runtime mounts them from the host (drivers.csv); copies in the image are dead "
                   "weight and can shadow the mounted driver",
                   "do not install the CUDA driver or cuda-compat packages in the image; build on the l4t base and "
                   "let the runtime mount the driver", "seed 003 'Second attempt' (~2 GB of CUDA overridden at run time)",
                   figures={"own_copies_mb": round(total / 2**20, 1)})


def _need(needs: ImageNeeds, what: str, image: str) -> None:
    if not getattr(needs, what):
        raise NotApplicable(f"not applicable: {image} carries no {what} by design (fixtures/devices/criteria.yaml "
                            f"images.{image})")


def torch_on_gpu(facts: GpuProbe, needs: ImageNeeds) -> Verdict:
    _need(needs, "torch", facts.image)
    t = facts.torch
    if not t.imported:
        found = f"{facts.image}: torch does not import ({t.error or f'exit {t.returncode}'})"
    elif not t.cuda_available:
        found = f"{facts.image}: PyTorch {t.version} with CUDA available: False"
    elif t.conv is None or not t.conv.ran:
        found = (f"{facts.image}: PyTorch {t.version} sees {t.device_name} but a convolution on it failed: "
                 f"{t.conv.error if t.conv else 'not run'}")
    elif not t.conv.cudnn_enabled:
        found = f"{facts.image}: the convolution ran on {t.conv.device} without cuDNN"
    elif t.conv.max_abs_diff is None or t.conv.max_abs_diff > 1e-3:
        found = f"{facts.image}: the GPU convolution differs from the CPU one by {t.conv.max_abs_diff}"
    else:
        return verdict(True, f"{facts.image}: PyTorch {t.version} ran a cuDNN {t.cudnn} convolution on "
                       f"{t.conv.device} ({t.device_name}), max |GPU - CPU| {t.conv.max_abs_diff:.1e}",
                       "torch on the GPU with cuDNN", "", "seed 000 'Jetson-Specific Wheels'")
    return verdict(False, found, "the Jetson CUDA wheel of torch seeing the GPU and running a cuDNN convolution on "
                   "it that agrees with the CPU within 1e-3",
                   "install the pinned Jetson wheel (TORCH_WHEEL_URL) and keep resolvers off torch (--no-deps); run "
                   "with --runtime nvidia", "seed 000 'Jetson-Specific Wheels'", facts.stderr_texts())


def torch_cuda_matches_base(facts: GpuProbe, needs: ImageNeeds, made_for: MadeFor) -> Verdict:
    _need(needs, "torch", facts.image)
    built = ".".join((facts.torch.cuda_build or "").split(".")[:2]) or None
    base = facts.cuda_base
    found = (f"{facts.image}: torch {facts.torch.version} built for CUDA {built or 'none (a CPU build)'} on a base "
             f"image with CUDA {base or 'none'}")
    return verdict(built is not None and built == base == made_for.cuda, found,
                   f"torch.version.cuda == the base image's CUDA == {made_for.cuda}",
                   f"use the Jetson torch wheel built for CUDA {made_for.cuda} (cu126) on nvcr.io/nvidia/l4t-jetpack:"
                   f"r{made_for.l4t}.0", "seed 000 'Final Base Image', 'Jetson-Specific Wheels'", facts.stderr_texts())


def tensorrt_version(facts: GpuProbe, needs: ImageNeeds, made_for: MadeFor) -> Verdict:
    _need(needs, "tensorrt", facts.image)
    trt = facts.tensorrt
    major = int(trt.version.split(".")[0]) if trt.imported and trt.version and trt.version[0].isdigit() else None
    found = (f"{facts.image}: TensorRT {trt.version}" if trt.imported else
             f"{facts.image}: TensorRT does not import ({trt.error or f'exit {trt.returncode}'})")
    return verdict(major == made_for.tensorrt_major, found, f"TensorRT {made_for.tensorrt_major}.x, the version "
                   "the images and engines are made for",
                   f"build the YOLO image on nvcr.io/nvidia/l4t-tensorrt:r{made_for.tensorrt_major}.x (JetPack 6) and "
                   "rebuild the engine with it", made_for.source, facts.stderr_texts())


def _shape(tensors: tuple[Tensor, ...]) -> str:
    return listing([f"{t.name} {list(t.shape)} {t.dtype}" for t in tensors])


def engine_layout(facts: GpuProbe, needs: ImageNeeds, engine: Engine) -> Verdict:
    """The mounted engine deserialises and its I/O is what the app accepts (app.tiled.engines.resolve_spec)."""
    from app.tiled.engines import TensorDesc, resolve_spec
    from app.tiled.errors import EngineError

    _need(needs, "tensorrt", facts.image)
    trt = facts.tensorrt
    expected = (f"the engine deserialised by the image's TensorRT, batch {engine.batch}, with the I/O layout the app "
                "accepts (app.tiled.engines.resolve_spec: one static input, one output [B,N,6])")
    fix = (f"rebuild model_b8_gpu0_fp32.engine on this Orin with the image's TensorRT, batch {engine.batch} static, "
           "from the model the kit prepares for the app")
    if not trt.imported:
        return verdict(False, f"{facts.image}: TensorRT does not import ({trt.error})", expected, fix, engine.source,
                       facts.stderr_texts())
    if trt.engine is None:
        raise NotApplicable(f"{facts.image}: no engine was mounted; pass --tiled-trt-engine PATH (the "
                            "model_b8_gpu0_fp32.engine of this Orin)")
    if not trt.engine.deserialised:
        return verdict(False, f"{facts.image}: {trt.engine.path} did not deserialise: {trt.engine.error}", expected,
                       fix, engine.source, facts.stderr_texts())
    try:
        spec = resolve_spec([TensorDesc(t.name, t.shape, _dtype(t.dtype)) for t in trt.engine.inputs],
                            [TensorDesc(t.name, t.shape, _dtype(t.dtype)) for t in trt.engine.outputs],
                            expected_batch=engine.batch, source=trt.engine.path)
    except EngineError as error:
        return verdict(False, f"{facts.image}: {error}", expected, fix, engine.source)
    return verdict(True, f"{facts.image}: {trt.engine.path} batch {spec.batch_size}, inputs "
                   f"{_shape(trt.engine.inputs)}, outputs {_shape(trt.engine.outputs)}", expected, fix, engine.source)


_DTYPES = {"FLOAT": "float32", "HALF": "float16", "INT32": "int32", "INT64": "int64", "INT8": "int8",
           "BOOL": "bool", "UINT8": "uint8"}


def _dtype(name: str) -> str:
    """TensorRT's DataType names -> the app's dtype names (as app.tiled.tensorrt_engine maps them)."""
    return _DTYPES.get(name.upper(), name.lower())
