#!/usr/bin/env bash
# The cold path, as a new user meets it: clones this repository into a temporary folder and runs
# the README's two commands there with empty, temporary Go module and build caches, toolchain
# cache, npm cache, Pulumi home and state, then prints how long each stage took. The user's own
# caches, state and clusters are never touched (the clusters here run on shifted ports).
#
#   scripts/cold-path.sh [--keep] [--deploy-only] [FOLDER]
#
# FOLDER (default: a new temporary folder) must be empty or absent. --keep leaves it in place
# (its caches can then warm a machine); otherwise it is removed at the end. --deploy-only stops
# after the first command, `npm run deploy:dev`, whose cold time is the figure docs/measured.md
# gives. Takes about 40 minutes on 2 cores for the first command; not part of `npm test`
# (tests/toolchain/ holds the cheap guard). It prints the load average at the start and the end:
# a figure means little without it.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

keep=false deploy_only=false
while [[ "${1:-}" == --* ]]; do
  case "$1" in
    --keep) keep=true ;;
    --deploy-only) deploy_only=true ;;
    *) echo "cold-path: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
root="${1:-$(mktemp -d -t exchange-cold-path.XXXXXX)}"
mkdir -p "$root"
[[ -z "$(ls -A "$root")" ]] || { echo "cold-path: $root is not empty" >&2; exit 2; }
root="$(cd "$root" && pwd)"

export GOMODCACHE="$root/go-mod-cache" GOCACHE="$root/go-build-cache"
export EXCHANGE_CACHE="$root/exchange-cache" EXCHANGE_STATE="$root/state"
export XDG_STATE_HOME="$root/xdg-state" PULUMI_HOME="$root/pulumi-home"
export npm_config_cache="$root/npm-cache"
# Beside (never instead of) the user's own dev and test clusters.
export EXCHANGE_CLUSTER_PORT_OFFSET=3000 EXCHANGE_TEST_PORT_OFFSET=4000
export EXCHANGE_CLUSTER_STATE="$root/state/dev-cluster"
unset PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE PULUMI_CONFIG_PASSPHRASE_FILE KUBECONFIG

clone="$root/clone"
git clone -q "$repo" "$clone"
# The repo's tests read the shared folder beside a clone, as in CI.
[[ -d "$repo/../shared" ]] && ln -s "$repo/../shared" "$root/shared"

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  "$clone/cluster/local-cluster.sh" stop --purge >/dev/null 2>&1 || true
  if ! $keep; then chmod -R u+w "$root" 2>/dev/null; rm -rf "$root"; fi
}
trap cleanup EXIT

# children_cpu: CPU seconds (user + system) of every process this script has started and waited
# for, their own children included. A wall time on a shared machine says little; the CPU a stage
# spent says how long it would take on an idle one at best (CPU seconds / cores).
children_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%d", ($16 + $17) / hz }' "/proc/$$/stat"; }

# stage NAME CMD...: runs CMD in the clone with its output in a log, prints its wall time, its
# CPU time and the per-binary download and build times its log reports.
summary=()
stage() {
  local name="$1"; shift
  local log="$root/$name.log" start=$SECONDS cpu_start status=0
  cpu_start="$(children_cpu)"
  echo "cold-path: $name: $* (log $log)" >&2
  (cd "$clone" && "$@") >"$log" 2>&1 || status=$?
  summary+=("$(printf '%-12s %5d s  %6d CPU s  exit %d' "$name" $((SECONDS - start)) $(($(children_cpu) - cpu_start)) "$status")")
  grep -E ': (built in|failed after) [0-9]+ s' "$log" | sed 's/^\[[0-9:]*\] /    /' >&2 || true
  if (( status != 0 )); then tail -n 40 "$log" >&2; return "$status"; fi
}

overall=0
echo "cold-path: load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
stage deploy-dev npm run deploy:dev || overall=$?
echo "cold-path: load average after deploy:dev: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
if (( overall == 0 )) && ! $deploy_only; then
  "$clone/cluster/local-cluster.sh" stop --purge >/dev/null 2>&1
  stage test npm test || overall=$?
  tail -n 1 "$root/test.log" >&2
fi
echo "cold-path summary (machine: $(nproc) cores):" >&2
printf '  %s\n' "${summary[@]}" >&2
$keep && echo "cold-path: kept $root" >&2
exit "$overall"
