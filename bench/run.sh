#!/usr/bin/env bash
# Benchmark: prints a table of Pulumi against kubectl on a local cluster of its own.
#   bench/run.sh            (BENCH_RUNS=5 bench/run.sh for more runs)
set -euo pipefail
. "$(dirname "$0")/../scripts/env.sh"

toolchain_env
build_program
# Its own cluster (state folder and ports), fresh, so neither dev nor the tests are disturbed.
export EXCHANGE_CLUSTER_STATE="$EXCHANGE_STATE/bench-cluster" EXCHANGE_CLUSTER_PORT_OFFSET=2000
trap '"$REPO_ROOT/cluster/local-cluster.sh" stop --purge || true' EXIT
"$REPO_ROOT/cluster/local-cluster.sh" stop --purge
"$REPO_ROOT/cluster/local-cluster.sh" start
eval "$("$REPO_ROOT/cluster/local-cluster.sh" env)"
EXCHANGE_TEST_KUBECONFIG="$KUBECONFIG" node "$REPO_ROOT/bin/bench/bench.js"
