#!/usr/bin/env bash
# Build the reference images (seed 001 "Phase 3: build.sh"): checks the platform, tags, reports sizes.
#   images/build.sh [--variant generic|jetson] [--image gliner2|yolo-tiled|all] [--tag-suffix S] [--no-cache]
# Default variant: jetson on a Jetson (tegra in /proc/cpuinfo or /etc/nv_tegra_release), else generic.
# generic builds on the stand-in bases (`sudo .venv/bin/python -m conformance engine up`) from the local
# wheelhouse (`make images-wheelhouse`), with no network; jetson builds on the NVIDIA L4T bases.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
py=${PY:-$root/.venv/bin/python}
[ -x "$py" ] || py=python3
# buildx where installed (Orin, laptops); else BuildKit through a client older than 23 (REFERENCE.md:
# Debian's /usr/bin/docker with DOCKER_BUILDKIT=1).
docker=${DOCKER:-docker}
if "$docker" buildx version >/dev/null 2>&1; then
    build=("$docker" buildx build --load)
else
    docker=/usr/bin/docker
    build=("$docker" build)
fi

is_jetson() { grep -qi tegra /proc/cpuinfo 2>/dev/null || [ -f /etc/nv_tegra_release ]; }
usage() { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; }

variant=""; which=all; suffix=""; extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --variant) variant=${2:?--variant needs generic or jetson}; shift 2 ;;
        --image) which=${2:?--image needs gliner2, yolo-tiled or all}; shift 2 ;;
        --tag-suffix) suffix=${2:?--tag-suffix needs a value}; shift 2 ;;
        --no-cache) extra+=(--no-cache); shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "build.sh: unknown argument '$1'; expected --variant, --image, --tag-suffix, --no-cache" >&2; exit 2 ;;
    esac
done
[ -n "$variant" ] || { if is_jetson; then variant=jetson; else variant=generic; fi; }
case "$variant" in
    generic) network=none ;;
    jetson)
        network=default
        is_jetson || echo "build.sh: warning: not a Jetson (no tegra in /proc/cpuinfo); the jetson variant needs arm64 L4T bases" >&2 ;;
    *) echo "build.sh: --variant must be generic or jetson, got '$variant'" >&2; exit 2 ;;
esac
case "$which" in
    all) images=(gliner2 yolo-tiled) ;;
    gliner2|yolo-tiled) images=("$which") ;;
    *) echo "build.sh: --image must be gliner2, yolo-tiled or all, got '$which'" >&2; exit 2 ;;
esac

cd "$root"
mkdir -p build/wheelhouse/torch build/wheelhouse/pypi   # bind-mount sources must exist (empty for jetson)
args=()
if [ "$variant" = generic ]; then
    "$py" -m conformance images wheelhouse >/dev/null
fi
while IFS= read -r line; do args+=("$line"); done < <("$py" -m conformance images build-args "$variant")

export DOCKER_BUILDKIT=1
for name in "${images[@]}"; do
    tag="orin-kit/$name:$variant$suffix"
    echo "==> building $tag (images/$name/Dockerfile, network: $network)"
    start=$(date +%s)
    "${build[@]}" --progress=plain --network="$network" "${args[@]}" ${extra[@]+"${extra[@]}"} \
        -f "images/$name/Dockerfile" -t "$tag" .
    size=$("$docker" image inspect -f '{{.Size}}' "$tag")
    echo "==> built $tag in $(( $(date +%s) - start )) s, $(awk -v b="$size" 'BEGIN { printf "%.2f GB", b / 1e9 }')"
done
echo "Run: images/run.sh --help   |   compose: docker compose -f images/compose.yaml up -d"
