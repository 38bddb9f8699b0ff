"""`images build|run|distributions|wheelhouse|build-args`: the reference images from the command line.

`images/build.sh` and `images/run.sh` are thin wrappers over `images build` and `images run` (they set
ORIN_KIT_PROG so that messages keep their names); the implementation is the kit's one, in conformance.docker.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from conformance import IMAGES_DIR, work_dir
from conformance.config import ConfigError


def _prog(default: str) -> str:
    return os.environ.get("ORIN_KIT_PROG") or default


class _ScriptParser(argparse.ArgumentParser):
    """Errors as the scripts word them: `build.sh: unknown argument '--x'; expected --variant, ...`, exit 2."""

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            known = getattr(parsed, "known", ())
            self.error(f"unknown argument '{extras[0]}'; expected {', '.join(known)}")
        return parsed, extras

    def error(self, message: str) -> Any:  # argparse's NoReturn
        print(f"{_prog(self.prog)}: {message}", file=sys.stderr)
        raise SystemExit(2)


def register(sub: Any) -> None:
    parser = sub.add_parser("images", help="the reference images: build, run, wheelhouse, installed distributions")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=_ScriptParser)

    build = actions.add_parser("build", help="build the images of a tree (what images/build.sh runs)")
    build.add_argument("--variant", default=None, help="generic or jetson (default: jetson on a Jetson)")
    build.add_argument("--image", default="all", help="gliner2, yolo-tiled or all (default)")
    build.add_argument("--tag-suffix", default="", help="appended to orin-kit/NAME:VARIANT")
    build.add_argument("--no-cache", action="store_true", help="rebuild every layer")
    build.add_argument("--images-dir", type=Path, default=IMAGES_DIR, help="tree to build (default: the kit's)")
    build.set_defaults(func=_build, known=("--variant", "--image", "--tag-suffix", "--no-cache"))

    run = actions.add_parser("run", help="run the tiled YOLO image on a video (what images/run.sh runs)")
    run.add_argument("--input", default="", help="video file")
    run.add_argument("--model", default="", help=".onnx or .engine file")
    run.add_argument("--labels", default=None, help="class names, one per line (default: labels.txt beside --model)")
    run.add_argument("--output", default=None, help="output file name in ./output (default: INPUT.TIMESTAMP.mp4)")
    run.add_argument("--conf", type=float, default=None, help="confidence threshold")
    run.add_argument("--tag", default=None, help="image (default: orin-kit/yolo-tiled:jetson|generic)")
    run.add_argument("--gpu", dest="gpu", action="store_true", default=None, help="nvidia runtime (default on a Jetson)")
    run.add_argument("--cpu", dest="gpu", action="store_false", help="no GPU (the last of --gpu/--cpu wins)")
    run.add_argument("app_args", nargs=argparse.REMAINDER, help="after --: arguments for app.tiled")
    run.set_defaults(func=_run, known=("--input", "--model", "--labels", "--output", "--conf", "--tag", "--gpu",
                                       "--cpu"))

    dists = actions.add_parser("distributions", help="print an image's installed distributions as YAML (to record "
                                                     "them in fixtures/images/distributions.yaml)")
    dists.add_argument("tag", help="image tag")
    dists.set_defaults(func=_distributions)

    wheels = actions.add_parser("wheelhouse", help="download the generic builds' wheels (idempotent)")
    wheels.add_argument("--images-dir", type=Path, default=IMAGES_DIR, help="tree whose requirements to fetch")
    wheels.set_defaults(func=_wheelhouse)
    args = actions.add_parser("build-args", help="print the --build-arg options of a variant, one per line")
    args.add_argument("variant", help="generic or jetson (fixtures/images/variants.yaml)")
    args.set_defaults(func=_build_args)


def _build(args: argparse.Namespace) -> int:
    from conformance.docker.scripts import ScriptError, build

    try:
        build(args.images_dir, args.variant, args.image, args.tag_suffix, args.no_cache)
    except ScriptError as error:
        print(f"{_prog('images build')}: {error}", file=sys.stderr)
        return 2
    return 0


def _run(args: argparse.Namespace) -> int:
    from conformance.docker.scripts import RunRequest, ScriptError, run_tiled

    app_args = args.app_args[1:] if args.app_args[:1] == ["--"] else args.app_args
    if app_args and args.app_args[:1] != ["--"]:
        print(f"{_prog('images run')}: unknown argument '{app_args[0]}'; expected {', '.join(args.known)}",
              file=sys.stderr)
        return 2
    request = RunRequest(Path(args.input), Path(args.model), Path(args.labels) if args.labels else None,
                         args.output, args.conf, args.tag, args.gpu, tuple(app_args))
    try:
        return run_tiled(request)
    except ScriptError as error:
        print(f"{_prog('images run')}: {error}", file=sys.stderr)
        return 2


def _distributions(args: argparse.Namespace) -> int:
    from conformance.config.image_rules import normalize
    from conformance.docker.containers import run_once

    code = "import importlib.metadata as m, json; print(json.dumps([d.metadata['Name'] for d in m.distributions()]))"
    result = run_once(args.tag, ["python3", "-c", code])
    if result.returncode != 0:
        raise ConfigError(f"listing the distributions of {args.tag} failed: {result.stderr.strip()[-300:]}")
    names = sorted({normalize(name) for name in json.loads(result.stdout.strip().splitlines()[-1])})
    print(f"# {args.tag}: {len(names)} distributions")
    print(f"[{', '.join(names)}]")
    return 0


def _wheelhouse(args: argparse.Namespace) -> int:
    from conformance.docker.wheelhouse import build_wheelhouse

    print(build_wheelhouse(work_dir() / "wheelhouse", images_dir=args.images_dir))
    return 0


def _build_args(args: argparse.Namespace) -> int:
    from conformance.config.images import load_variants
    from conformance.docker.wheelhouse import variant_build_args

    variants, _ = load_variants()
    if args.variant not in variants:
        raise ConfigError(f"unknown variant {args.variant!r}; expected one of {', '.join(variants)}")
    for key, value in variant_build_args(variants[args.variant], work_dir() / "wheelhouse").items():
        print(f"--build-arg={key}={value}")
    return 0
