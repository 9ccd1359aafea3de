#!/usr/bin/env bash
# Build native/thresholdckks (threshold CKKS over Lattigo v6) as a C shared library for
# fedfabric.he.lattigo, and print its path. The library lands in
# $FEDFABRIC_CACHE/thresholdckks-<hash of the sources and this script>/libthresholdckks.so
# (FEDFABRIC_CACHE defaults to ~/.cache/fedfabric) and is reused while the sources stay the same.
# Quiet: the Go output goes to a log file, whose end is shown if the build fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src="$here/thresholdckks"
cache=${FEDFABRIC_CACHE:-$HOME/.cache/fedfabric}

hash=$(cd "$src" && { find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print0 |
  LC_ALL=C sort -z | xargs -0 sha256sum; sha256sum < "$here/build-thresholdckks.sh"; } |
  sha256sum | cut -c1-16)
out="$cache/thresholdckks-$hash"
lib="$out/libthresholdckks.so"
if [ -f "$lib" ]; then
  echo "$lib"
  exit 0
fi

mkdir -p "$out"
tmp=$(mktemp -d "$out/build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log="$out/build.log"
if ! (cd "$src" && GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=1 \
      go build -buildmode=c-shared -trimpath -o "$tmp/libthresholdckks.so" .) >"$log" 2>&1; then
  echo "building native/thresholdckks failed; the end of $log:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi
mv -f "$tmp/libthresholdckks.h" "$out/libthresholdckks.h"
mv -f "$tmp/libthresholdckks.so" "$lib"  # atomic: a concurrent build just replaces it
echo "$lib"
