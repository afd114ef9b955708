#!/usr/bin/env bash
# Tests of the images, without a cluster: the programs' unit tests, then every image built
# (images/build.sh; seconds when cached) and run with runc under the platform's pod
# constraints (imagetest/). Needs root, runc, unshare, nsenter and ip.
#
#   images/test.sh [go test flags, e.g. -run TestPlatformImages -v]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=../toolchain/lib.sh
. ../toolchain/lib.sh

for tool in runc unshare nsenter ip; do
  command -v "$tool" >/dev/null || die "$tool is not installed (see toolchain/debian-packages.txt)"
done

# The flags build.sh compiles with: the tests then reuse its compiled packages.
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath -buildvcs=false"

log "unit tests"
go test ./...

archives="$(mktemp)"
trap 'rm -f "$archives"' EXIT
./build.sh >"$archives"
log "images under runc"
IMAGE_ARCHIVES="$archives" go test -tags imagetest -count=1 "$@" ./imagetest
