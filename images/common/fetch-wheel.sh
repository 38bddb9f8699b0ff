#!/bin/sh
# fetch-wheel URL CACHE_DIR [SHA256]
# Put the wheel at URL into CACHE_DIR (a BuildKit cache mount) and print its path (seed 000, "BuildKit
# Wheel Cache + Retry"): curl retries transient failures (HTTP 5xx, timeouts, refused connections); a
# cached wheel that fails the integrity check (sha256 when given, always a CRC test of every zip member)
# is deleted and downloaded again, so a truncated download never poisons the cache.
# The same file runs in the image builds and in conformance/test_image_wheel_fetch.py.
set -eu
if [ "$#" -lt 2 ]; then
    echo "usage: fetch-wheel URL CACHE_DIR [SHA256]" >&2
    exit 2
fi
url=$1
cache=$2
sha=${3:-}
# The file name pip needs is the URL's last segment, with a percent-encoded '+' (local version) decoded.
name=$(basename "${url%%\?*}" | sed 's/%2[Bb]/+/g')
case "$name" in
    *.whl) ;;
    *) echo "fetch-wheel: URL must end in a .whl file name, got '$url'" >&2; exit 2 ;;
esac
dest="$cache/$name"

verify() {
    [ -s "$1" ] || return 1
    if [ -n "$sha" ]; then
        echo "$sha  $1" | sha256sum -c --status - || return 1
    fi
    python3 -m zipfile -t "$1" >/dev/null 2>&1
}

mkdir -p "$cache"
if [ -f "$dest" ] && ! verify "$dest"; then
    echo "fetch-wheel: cached $name fails its integrity check; deleting it and downloading again" >&2
    rm -f "$dest"
fi
if [ ! -f "$dest" ]; then
    curl --fail --location --silent --show-error \
        --retry 5 --retry-delay 1 --retry-connrefused --connect-timeout 20 \
        --output "$dest.part" "$url"
    if ! verify "$dest.part"; then
        rm -f "$dest.part"
        echo "fetch-wheel: $name from $url fails its integrity check (sha256 '${sha:-not given}', zip CRC); expected a complete wheel" >&2
        exit 1
    fi
    mv "$dest.part" "$dest"
fi
echo "$dest"
