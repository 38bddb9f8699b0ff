#!/usr/bin/env bash
# Run the tiled YOLO image on a video (seed 001 "Phase 3: run.sh"): parses arguments, mounts the model and
# videos read-only and the output read-write, adds the GPU flags on a Jetson, streams logs, cleans up.
#   images/run.sh --input VIDEO --model MODEL [--labels FILE] [--output NAME] [--conf C] [--tag TAG] [--gpu|--cpu] [-- APP ARGS]
# --output defaults to <input>.<timestamp>.mp4 in ./output; --labels to labels.txt beside the model;
# --gpu is the default on a Jetson (the nvidia runtime, never --gpus).
# A thin wrapper over `python -m conformance images run` (conformance/docker/scripts.py).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
py=${PY:-$root/.venv/bin/python}
[ -x "$py" ] || py=python3
for arg in "$@"; do
    case "$arg" in
        -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        --) break ;;
    esac
done
# From any directory: the kit's package is found through its checkout; ./output stays where the user is.
PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" ORIN_KIT_PROG=run.sh exec "$py" -m conformance images run "$@"
