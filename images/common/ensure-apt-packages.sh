#!/bin/sh
# ensure-apt-packages PKG...
# Install with apt only the packages the base image lacks, so the generic build (whose stand-in base
# already carries them) needs no network, while an L4T base gets them from its apt sources.
set -eu
missing=""
for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -z "$missing" ]; then
    echo "ensure-apt-packages: all present: $*"
    exit 0
fi
echo "ensure-apt-packages: installing$missing"
apt-get update
# shellcheck disable=SC2086  # word splitting of the package list is intended
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
rm -rf /var/lib/apt/lists/*
