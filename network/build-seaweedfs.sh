#!/usr/bin/env bash
# Build the pinned SeaweedFS `weed` binary (our S3 server) from its Go module into a cache outside
# the repo. Reuses the cached binary when `go version -m` shows the pinned module version.
#
# Like build-fabric.sh, the build goes through a throwaway wrapper module that requires the pinned
# pseudo-version (the proxy reachable here refuses version lists). Module hashes are still checked
# against the Go checksum database. The cold build takes about 4 minutes on 2 cores.
set -euo pipefail
SEAWEEDFS_MODULE=github.com/seaweedfs/seaweedfs
SEAWEEDFS_PSEUDO=v0.0.0-20261109003541-7506e5f91cd6
short=${SEAWEEDFS_PSEUDO##*-}
cache=${FEDFABRIC_CACHE:-$HOME/.cache/fedfabric}
dir="$cache/seaweedfs-$short"
bin="$dir/weed"

is_current() {
  [ -x "$bin" ] || return 1
  go version -m "$bin" 2>/dev/null |
    grep -qE "^[[:space:]]+mod[[:space:]]+$SEAWEEDFS_MODULE[[:space:]]+$SEAWEEDFS_PSEUDO[[:space:]]"
}

if is_current; then
  echo "seaweedfs $short: cached binary $bin"
  exit 0
fi

echo "seaweedfs $short: building $bin (about 4 minutes the first time)"
work="$dir/build"
rm -rf "$work" && mkdir -p "$work"
log="$work/build.log"
export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0
if ! (cd "$work" && go mod init fedfabric.local/seaweedfsbuild &&
      go get "$SEAWEEDFS_MODULE@$SEAWEEDFS_PSEUDO" &&
      go build -trimpath -o "$bin.new" "$SEAWEEDFS_MODULE/weed") > "$log" 2>&1; then
  echo "seaweedfs: build failed; last lines of $log:" >&2
  tail -n 30 "$log" >&2
  rm -f "$bin.new"
  exit 1
fi
mv -f "$bin.new" "$bin"
is_current || { echo "seaweedfs: built $bin does not report $SEAWEEDFS_PSEUDO" >&2; exit 1; }
echo "seaweedfs $short: built $bin"
