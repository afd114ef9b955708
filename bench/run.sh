#!/usr/bin/env bash
# Benchmark: prints Markdown tables of Pulumi against Helm and kubectl on a local cluster of its
# own, and where Pulumi's time goes.
#   bench/run.sh               (BENCH_RUNS=5 bench/run.sh for more rounds; default 3)
#   bench/run.sh --node real   on a real node: time until the first request is served
# BENCH_COMMIT names what is measured when this is no git checkout (e.g. an exported commit).
set -euo pipefail
. "$(dirname "$0")/../scripts/env.sh"

node_kind=kwok
if [[ "${1:-}" == --node ]]; then
  node_kind="${2:?--node takes kwok or real}"
fi
export BENCH_NODE="$node_kind" EXCHANGE_STATE

if [[ -z "${BENCH_COMMIT:-}" ]]; then
  BENCH_COMMIT="$(git -C "$REPO_ROOT" rev-parse --short HEAD)"
  # The benchmark's own output (docs/benchmark, written by an earlier run) changes nothing measured.
  if git -C "$REPO_ROOT" status --porcelain --untracked-files=no -- . ':!docs/benchmark' | grep -q .; then
    BENCH_COMMIT+=" with uncommitted changes"
  fi
fi
export BENCH_COMMIT

toolchain_env "$node_kind"
eval "$("$REPO_ROOT/toolchain/build-go-tool.sh" helm)"
build_program
# Its own cluster, so neither dev nor the tests are disturbed.
# Ports shifted by EXCHANGE_BENCH_PORT_OFFSET (default 2000), clear of the other clusters.
fresh_cluster "bench-cluster-$node_kind" "${EXCHANGE_BENCH_PORT_OFFSET:-2000}" "$node_kind"
node "$REPO_ROOT/bin/bench/bench.js"
