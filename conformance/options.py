"""The suite's command-line options: one `Orin conformance kit` group, one section per area.

Every option that points a check at the thing under test defaults to the real thing; the self-proofs point
it at a known-bad input instead (fixtures/selfproof/).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import FIXTURES_DIR, IMAGES_DIR, SOURCE_ROOT
from conformance.config.profiles import PROFILES_DIR
from conformance.config.tiled import TILED_CRITERIA
from conformance.nms.examples import DEFAULT_EXAMPLES

IMAGE_VARIANTS = ("generic", "jetson")
GROUP = "conformance"


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup(GROUP, "Orin conformance kit")
    _core(group)
    _images(group)
    _nms(group)
    _tiled(group)
    _service(group)
    _device(group)
    _docs(group)


def _core(group: pytest.OptionGroup) -> None:
    group.addoption("--profile", metavar="NAME", default=None,
                    help="device profile whose thresholds apply (default: detected from the device tree; "
                         "see fixtures/profiles/)")
    group.addoption("--profiles-dir", metavar="DIR", type=Path, default=PROFILES_DIR,
                    help="directory of device profiles (default: the kit's own)")
    group.addoption("--reports-dir", metavar="DIR", type=Path, default=Path("reports"),
                    help="where JUnit XML, summaries and benchmark figures go (default: ./reports)")
    group.addoption("--run-slow", action="store_true", default=False,
                    help="also run checks marked slow (soak, long video)")
    group.addoption("--ignore-deviations", action="store_true", default=False,
                    help="hold every check to its criterion, ignoring the known deviations of "
                         "fixtures/deviations.yaml (the self-proofs run this way)")


def _images(group: pytest.OptionGroup) -> None:
    group.addoption("--image-variant", choices=IMAGE_VARIANTS, default=None,
                    help="image variant to build and check (default: jetson on a Jetson, else generic)")
    group.addoption("--images-dir", metavar="DIR", type=Path, default=IMAGES_DIR,
                    help="tree of images to certify, laid out like the kit's images/ (default: the kit's own)")
    group.addoption("--image", metavar="TAG", default=None,
                    help="certify this already built image instead of building one; an image without the kit's "
                         "org.orin-kit.image label needs --image-kind or --image-spec")
    group.addoption("--image-kind", metavar="NAME", default=None,
                    help="with --image: the image is like the kit's image NAME (gliner2, yolo-tiled)")
    group.addoption("--image-spec", metavar="FILE", type=Path, default=None,
                    help="with --image: a YAML description of the image (port, has_torch, must_be_absent, ...; "
                         "docs/images.md)")
    group.addoption("--build-timeout", metavar="S", type=float, default=3600.0,
                    help="give up on one image build after S seconds (default: %(default)s)")
    group.addoption("--buildkit-probe", metavar="DIR", type=Path, default=FIXTURES_DIR / "engine" / "buildkit-probe",
                    help="build context of the BuildKit cache probe (default: the kit's own)")
    group.addoption("--fetch-script", metavar="PATH", type=Path, default=None,
                    help="wheel download script the retry check exercises "
                         "(default: common/fetch-wheel.sh of --images-dir)")


def _nms(group: pytest.OptionGroup) -> None:
    group.addoption("--nms-lib", metavar="PATH", type=Path, default=None,
                    help="libnms_merger build under test (default: nms_cpp/libnms_merger.so, built if missing)")
    group.addoption("--nms-examples", metavar="N", type=int, default=DEFAULT_EXAMPLES,
                    help=f"Hypothesis examples per NMS property (default {DEFAULT_EXAMPLES})")


def _tiled(group: pytest.OptionGroup) -> None:
    group.addoption("--tiled-tiler", metavar="SPEC", default="app.tiled.geometry:slice_boxes",
                    help="tiling function under test (width, height, tile, overlap) -> [T,4] (default: %(default)s)")
    group.addoption("--tiled-merger", metavar="SPEC", default="app.tiled.postprocess:merge_detections",
                    help="tile merge under test (dets, tiles, config) -> Detections (default: %(default)s)")
    group.addoption("--tiled-tracker", metavar="SPEC", default="app.tiled.track:ByteTrackTracker",
                    help="tracker factory under test, called with no arguments (default: %(default)s)")
    group.addoption("--tiled-engine-loader", metavar="SPEC", default="app.tiled.engines:load_engine",
                    help="engine loader used by the FPS/memory checks, (path) -> Engine (default: %(default)s)")
    group.addoption("--tiled-slicer", metavar="SPEC", default="app.tiled.slicing:BatchSlicer",
                    help="tile batch slicer under test, (batch, (h, w), buffer=None) -> slicer (default: %(default)s)")
    group.addoption("--tiled-onnx", metavar="PATH", type=Path, default=None,
                    help="the CPU engine's ONNX model (default: the kit's tiny detector, built if missing)")
    group.addoption("--tiled-reference-weights", metavar="PATH", type=Path, default=None,
                    help="torch weights of the detector, the parity reference (default: beside --tiled-onnx, .pt)")
    group.addoption("--tiled-float-onnx", metavar="PATH", type=Path, default=None,
                    help="the float export --tiled-onnx was prepared from, the bit-exact parity reference "
                         "(default: beside --tiled-onnx, NAME_float.onnx)")
    group.addoption("--tiled-frame-onnx", metavar="PATH", type=Path, default=None,
                    help="--tiled-onnx's model prepared for whole frames (prepare_onnx --frame), checked to crop the "
                         "tiles the app slices (default: the float export prepared for the criteria's frame size)")
    group.addoption("--tiled-trt-engine", metavar="PATH", type=Path, default=None,
                    help="a TensorRT engine of the same model for the parity check on a GPU/Jetson")
    group.addoption("--tiled-criteria", metavar="PATH", type=Path, default=TILED_CRITERIA,
                    help="pass criteria of the tiled checks (default: the kit's own)")


def _service(group: pytest.OptionGroup) -> None:
    group.addoption("--gliner2-url", default=None,
                    help="URL of the GLiNER2 service under test (default: start it locally)")
    group.addoption("--gliner2-peer-url", default=None,
                    help="URL of the same service with MICROBATCH=0, the one-at-a-time peer of the "
                         "throughput benchmark (default: start it locally)")
    group.addoption("--gliner2-log", default=None,
                    help="file with the service's logs for the crash-signature check "
                         "(default: the local service's log)")
    group.addoption("--gliner2-app", default="app.gliner2_service.main:app",
                    help="ASGI app (module:attr) the local service runs; known-bad variants live in "
                         "fixtures/gliner2/")
    group.addoption("--gliner2-model", default=None,
                    help="MODEL_PATH of the local service (default: the offline tiny model, built if missing)")
    group.addoption("--gliner2-bench-model", default=None,
                    help="MODEL_PATH of the local services the throughput benchmark compares (default: the "
                         "offline bench-size model, DeBERTa-v3-base's configuration, built if missing)")
    group.addoption("--gliner2-python-cmd", default=None,
                    help="command that runs the Python to probe for onnxruntime, e.g. "
                         "'docker exec CTR python3' (default: this interpreter)")
    group.addoption("--gliner2-pythonpath", default=None,
                    help="directories put first on PYTHONPATH of the import probe")


def _device(group: pytest.OptionGroup) -> None:
    group.addoption("--simulate-device", metavar="NAME", default=None,
                    help="replay the recorded device NAME (fixtures/devices/NAME, or a path) for every device probe, "
                         "host and container alike: every result is SIMULATED and no container runs with the "
                         "nvidia runtime (docs/device.md)")
    group.addoption("--live-image-probes", action="store_true", default=False,
                    help="with --simulate-device: run the GPU probe for real inside the images built here (without "
                         "the nvidia runtime) instead of replaying it; the probe's own proof on a real container")
    group.addoption("--native-python", metavar="CMD", default="python3",
                    help="the host's Python that runs the tiled app natively for the FPS and memory comparison on "
                         "an Orin (needs the app's dependencies and TensorRT; default: %(default)s)")
    group.addoption("--tegrastats", metavar="CMD", default="tegrastats --interval 200",
                    help="the tegrastats command the device runs sample (default: %(default)s)")
    group.addoption("--gpu-reference-detector", metavar="PATH", type=Path, default=None,
                    help="gpu tier: torch weights whose CPU output is the reference (default: the same tiny detector "
                         "that runs on CUDA)")
    group.addoption("--gpu-reference-gliner2", metavar="DIR", type=Path, default=None,
                    help="gpu tier: GLiNER2 model whose CPU output is the reference (default: the same tiny model "
                         "that runs on CUDA)")


def _docs(group: pytest.OptionGroup) -> None:
    group.addoption("--readme", metavar="PATH", type=Path, default=SOURCE_ROOT / "README.md",
                    help="README whose usage the docs check reads (default: the kit's own)")
