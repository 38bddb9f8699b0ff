#!/usr/bin/env bash
# Build the reference images (seed 001 "Phase 3: build.sh"): checks the platform, tags, reports sizes.
#   images/build.sh [--variant generic|jetson] [--image gliner2|yolo-tiled|all] [--tag-suffix S] [--no-cache]
# Default variant: jetson on a Jetson (tegra in /proc/cpuinfo or /etc/nv_tegra_release), else generic.
# generic builds on the stand-in bases (`sudo .venv/bin/python -m conformance engine up`) from the local
# wheelhouse (made on first use), with no network; jetson builds on the NVIDIA L4T bases.
# A thin wrapper: the kit's one implementation (builder detection, contexts, variants, tags) is
# `python -m conformance images build` (conformance/docker/scripts.py).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
py=${PY:-$root/.venv/bin/python}
[ -x "$py" ] || py=python3
case "${1:-}" in
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
cd "$root"
ORIN_KIT_PROG=build.sh exec "$py" -m conformance images build "$@"
