#!/usr/bin/env bash
# Tests of the images, without a cluster: the programs' unit tests, then every image built
# (images/build.sh; seconds when cached) and run with runc under the platform's pod
# constraints (imagetest/). Needs root, runc, unshare, nsenter, ip and jq.
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
# Every image of images.json, the on-demand ones too: each one's config is checked against its
# facts. The test command's several-node cluster runs those anyway, so this builds them only earlier.
mapfile -t names < <(jq -r '.images | keys[]' images.json)
./build.sh "${names[@]}" >"$archives"
log "images under runc"
IMAGE_ARCHIVES="$archives" go test -tags imagetest -count=1 "$@" ./imagetest
