#!/usr/bin/env bash
# An S3-compatible store for the backup drills (tests/e2e/backups.test.ts): SeaweedFS's
# `weed mini` (one process: master, volume server, filer, S3 gateway), built from the Go module
# here only when the drills ask for it, run inside the real node's network namespace, where the
# pods reach it on the node's address. Nothing of it is on deploy:dev's path.
#
#   object-store.sh start NODE_IP   builds or reuses weed, starts it; prints "ENDPOINT PORT BUCKET"
#                                   and writes the access keys to $STORE_DIR/credentials (KEY=value)
#   object-store.sh stop            stops what start started (the drills also stop it to make the
#                                   store unreachable, then start it again on the same data)
#
# The S3 gateway speaks HTTPS (pgBackRest has no plain HTTP) with a self-signed certificate for
# NODE_IP, made here with openssl. It ends by itself after an hour if nobody stops it. Needs the
# cluster's environment (EXCHANGE_CLUSTER_STATE, as scripts/test.sh exports it) and go.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
# shellcheck source=../../toolchain/lib.sh
. "$REPO/toolchain/lib.sh"

STORE_DIR="${EXCHANGE_CLUSTER_STATE:?EXCHANGE_CLUSTER_STATE is not set (the real-node cluster state folder)}/object-store"
S3_PORT=9443
BUCKET=exchange-backups
LIFETIME_SECONDS=3600
# The binary is cached by the module's content: a changed go.mod or go.sum builds a new one.
WEED="$EXCHANGE_CACHE/object-store/weed-$(cat "$HERE/go.mod" "$HERE/go.sum" | sha256sum | cut -c1-16)"

build() {
  [[ -x "$WEED" ]] && return
  mkdir -p "$(dirname "$WEED")"
  log "object store: building SeaweedFS's weed (first time only; minutes)"
  (cd "$HERE" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$WEED.partial" github.com/seaweedfs/seaweedfs/weed) \
    || die "weed did not build"
  mv "$WEED.partial" "$WEED"
}

start() {
  local node_ip="${1:?usage: object-store.sh start NODE_IP}" deadline
  build
  mkdir -p "$STORE_DIR/data"
  if [[ ! -s "$STORE_DIR/credentials" ]]; then
    printf 'AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n' "$(openssl rand -hex 10)" "$(openssl rand -hex 20)" \
      >"$STORE_DIR/credentials"
    chmod 600 "$STORE_DIR/credentials"
  fi
  if [[ ! -s "$STORE_DIR/cert.pem" ]]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=object-store \
      -addext "subjectAltName=IP:$node_ip" -keyout "$STORE_DIR/key.pem" -out "$STORE_DIR/cert.pem" 2>/dev/null
  fi
  # weed mini creates the bucket and an identity with these keys from its environment. Every
  # descriptor it could inherit from the caller is closed or redirected, lib.sh's log descriptor
  # (4) too: the drills read this script's output to its end, and a store holding the pipe kept
  # them waiting for its whole lifetime.
  (
    set -a
    # shellcheck source=/dev/null
    . "$STORE_DIR/credentials"
    export S3_BUCKET="$BUCKET"
    set +a
    setsid timeout "$LIFETIME_SECONDS" "$REPO/cluster/local-cluster.sh" netns-exec "$WEED" mini \
      -dir="$STORE_DIR/data" -ip="$node_ip" -s3.port.https="$S3_PORT" \
      -s3.cert.file="$STORE_DIR/cert.pem" -s3.key.file="$STORE_DIR/key.pem" \
      -webdav=false -admin.ui=false -s3.port.iceberg=0 \
      >>"$STORE_DIR/weed.log" 2>&1 </dev/null 4>&- &
    echo $! >"$STORE_DIR/pid"
  )
  deadline=$((SECONDS + 120))
  until "$REPO/cluster/local-cluster.sh" netns-exec curl -sk -o /dev/null --max-time 2 "https://$node_ip:$S3_PORT/"; do
    ((SECONDS < deadline)) || die "the object store did not answer on https://$node_ip:$S3_PORT within 120 s (see $STORE_DIR/weed.log)"
    sleep 1
  done
  echo "$node_ip $S3_PORT $BUCKET"
}

stop() {
  local pid
  pid="$(cat "$STORE_DIR/pid" 2>/dev/null)" || return 0
  # The process group start made: timeout, and weed inside it.
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do
    kill -0 -- "-$pid" 2>/dev/null || break
    sleep 1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$STORE_DIR/pid"
}

case "${1:-}" in
  start) start "${@:2}" ;;
  stop) stop ;;
  *) die "usage: object-store.sh start NODE_IP | stop" ;;
esac
