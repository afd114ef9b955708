# Shared helpers for the toolchain and cluster scripts. Source it; it defines functions only.
# shellcheck shell=bash

TOOLCHAIN_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
. "$TOOLCHAIN_DIR/versions.env"

# Built binaries live in a machine-level cache keyed by version, outside the clone, so a fresh
# clone on the same machine (CI) reuses them and a second set-up takes seconds.
EXCHANGE_CACHE="${EXCHANGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/exchange-platform}"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
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
    tail -n 40 "$logfile" >&2
    return "$status"
  fi
  log "$label: built in $((SECONDS - start)) s"
}
