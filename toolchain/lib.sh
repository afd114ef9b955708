# Shared helpers for the toolchain and cluster scripts. Source it; it defines functions only.
# shellcheck shell=bash

TOOLCHAIN_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
. "$TOOLCHAIN_DIR/versions.env"

# Built binaries live in a machine-level cache keyed by version, outside the clone, so a fresh
# clone on the same machine (CI) reuses them and a second set-up takes seconds.
EXCHANGE_CACHE="${EXCHANGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/exchange-platform}"

# module_dir [MODULE[@VERSION]]: prints the source folder of a module in the Go module cache,
# downloading it first. Run it inside the module whose requirement names the version (or give
# @VERSION). `go list -m -f '{{.Dir}}'` prints an empty Dir for a module that is not downloaded
# yet, which on an empty cache silently became a path under /; `go mod download -json` fetches
# it and prints Dir afterwards, and an empty or missing folder is an error here, never a path.
module_dir() {
  local json dir
  json="$(go mod download -json "$@")" || die "go mod download $*: failed"
  dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json")"
  [[ -n "$dir" && -d "$dir" ]] || die "go mod download $*: no module folder in its answer"
  printf '%s\n' "$dir"
}

# Log lines go to the stderr the script was started with (fd 4), even from a build step whose
# own output run_with_progress sends to a log file, so nested steps still report their times.
exec 4>&2

# npm_with_extra_ca ARGS...: npm with the machine's extra CAs. scripts/env.sh keeps
# NODE_EXTRA_CA_CERTS (e.g. a proxy's CA in front of the registry) aside as
# EXCHANGE_NPM_EXTRA_CA_CERTS, since only npm needs it; a Node.js from the registry does not read
# the system's store, so without it every fetch fails TLS and npm falls back, after minutes of
# retries, to whatever its cache holds.
npm_with_extra_ca() {
  if [[ -n "${EXCHANGE_NPM_EXTRA_CA_CERTS:-}" ]]; then
    NODE_EXTRA_CA_CERTS="$EXCHANGE_NPM_EXTRA_CA_CERTS" npm "$@"
  else
    npm "$@"
  fi
}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&4; }
die() { log "error: $*"; exit 1; }

# run_with_progress LABEL LOGFILE CMD...: runs CMD in the background with its output in LOGFILE
# and prints a progress line every 30 s, so a long Go build never sits silent. Returns CMD's
# exit status; on failure the tail of the log is shown.
run_with_progress() {
  local label="$1" logfile="$2"; shift 2
  mkdir -p "$(dirname "$logfile")"
  local start=$SECONDS
  "$@" >"$logfile" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 5
    if (( (SECONDS - start) % 30 < 5 )) && kill -0 "$pid" 2>/dev/null; then
      log "$label: still building ($((SECONDS - start)) s, log $logfile)"
    fi
  done
  local status=0
  wait "$pid" || status=$?
  if (( status != 0 )); then
    log "$label: failed after $((SECONDS - start)) s; last lines of $logfile:"
    tail -n 40 "$logfile" >&4
    return "$status"
  fi
  log "$label: built in $((SECONDS - start)) s"
}
