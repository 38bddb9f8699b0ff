#!/usr/bin/env bash
# Run the tiled YOLO image on a video (seed 001 "Phase 3: run.sh"): parses arguments, mounts the model and
# videos read-only and the output read-write, adds the GPU flags on a Jetson, streams logs, cleans up.
#   images/run.sh --input VIDEO --model MODEL [--labels FILE] [--output NAME] [--conf C] [--tag TAG] [--gpu|--cpu] [-- APP ARGS]
# --output defaults to <input>.<timestamp>.mp4 in ./output; --labels to labels.txt beside the model;
# --gpu is the default on a Jetson.
set -euo pipefail

docker=${DOCKER:-docker}
usage() { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "run.sh: $*" >&2; exit 2; }
is_jetson() { grep -qi tegra /proc/cpuinfo 2>/dev/null || [ -f /etc/nv_tegra_release ]; }

input=""; model=""; labels=""; output=""; conf=""; tag=""; gpu=""; app_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --input) input=${2:-}; shift 2 ;;
        --model) model=${2:-}; shift 2 ;;
        --labels) labels=${2:-}; shift 2 ;;
        --output) output=${2:-}; shift 2 ;;
        --conf) conf=${2:-}; shift 2 ;;
        --tag) tag=${2:-}; shift 2 ;;
        --gpu) gpu=1; shift ;;
        --cpu) gpu=0; shift ;;
        -h|--help) usage; exit 0 ;;
        --) shift; app_args=("$@"); break ;;
        *) die "unknown argument '$1'; expected --input, --model, --labels, --output, --conf, --tag, --gpu, --cpu" ;;
    esac
done
[ -f "$input" ] || die "--input must name an existing video file, got '${input}'"
[ -f "$model" ] || die "--model must name an existing .onnx or .engine file, got '${model}'"
labels=${labels:-$(dirname "$model")/labels.txt}
[ -f "$labels" ] || die "--labels must name a class-names file (one per line), got '${labels}'"
[ -n "$gpu" ] || { if is_jetson; then gpu=1; else gpu=0; fi; }
variant=$([ "$gpu" = 1 ] && echo jetson || echo generic)
tag=${tag:-orin-kit/yolo-tiled:$variant}
stamp=$(date +%Y%m%d-%H%M%S)
name=$(basename "$input")
output=${output:-${name%.*}.$stamp.mp4}
outdir=$(pwd)/output
mkdir -p "$outdir"
# The image runs as uid 1000: a bind-mounted output dir must be writable for it (seed 004).
[ "$(stat -c %u "$outdir")" = 1000 ] || chmod a+rwx "$outdir"

gpu_flags=()
if [ "$gpu" = 1 ]; then
    # Jetson: the nvidia runtime, not --gpus (REFERENCE.md); check it is registered before running.
    "$docker" info --format '{{json .Runtimes}}' | grep -q '"nvidia"' \
        || die "the nvidia runtime is not registered with Docker; install nvidia-container-runtime or use --cpu"
    gpu_flags=(--runtime nvidia -e NVIDIA_VISIBLE_DEVICES=all -e NVIDIA_DRIVER_CAPABILITIES=compute,utility,video
               --network host)
fi
cmd=(python3 -m app.tiled --input "/videos/$name" --output "/output/$output" --engine "/models/$(basename "$model")"
     --labels /models/labels.txt)
[ -z "$conf" ] || cmd+=(--conf "$conf")
container="yolo-tiled-$stamp-$$"
trap '"$docker" rm -f "$container" >/dev/null 2>&1 || true' EXIT
"$docker" run --name "$container" --shm-size 2g ${gpu_flags[@]+"${gpu_flags[@]}"} \
    -v "$(cd "$(dirname "$model")" && pwd)/$(basename "$model"):/models/$(basename "$model"):ro" \
    -v "$(cd "$(dirname "$labels")" && pwd)/$(basename "$labels"):/models/labels.txt:ro" \
    -v "$(cd "$(dirname "$input")" && pwd):/videos:ro" \
    -v "$outdir:/output" \
    "$tag" "${cmd[@]}" ${app_args[@]+"${app_args[@]}"}
echo "output: $outdir/$output"
