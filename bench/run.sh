#!/usr/bin/env bash
# Benchmark: prints a table of Pulumi against kubectl on a local cluster of its own.
#   bench/run.sh            (BENCH_RUNS=5 bench/run.sh for more runs)
set -euo pipefail
. "$(dirname "$0")/../scripts/env.sh"

toolchain_env
build_program
# Its own cluster, so neither dev nor the tests are disturbed.
fresh_cluster bench-cluster 2000
node "$REPO_ROOT/bin/bench/bench.js"
