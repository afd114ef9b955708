#!/usr/bin/env bash
# The README's second command: every test. Unit tests (program and policy pack, under mocks),
# then the real toolchain: workflow, shell and Go format lint, the images' tests, previews with
# the policy pack, and end-to-end tests on the embedded local cluster, which is stopped at the
# end whatever happened.
set -euo pipefail
. "$(dirname "$0")/env.sh"

RESULTS="$(mktemp -d)"
passed=0 failed=0 suites_failed=0
# The suites and checks that failed, named again at the end: a CI log is often read from its tail.
failed_names=()

# run_suite NAME CMD...: runs a mocha suite, keeps its counts, goes on after a failure so one
# broken suite does not hide the others' results.
run_suite() {
  local name="$1"; shift
  log "== $name"
  local status=0
  "$@" 2>&1 | tee "$RESULTS/$name.log" || status=$?
  local p f
  p="$(grep -Eo '^ +[0-9]+ passing' "$RESULTS/$name.log" | grep -Eo '[0-9]+' | tail -1 || true)"
  f="$(grep -Eo '^ +[0-9]+ failing' "$RESULTS/$name.log" | grep -Eo '[0-9]+' | tail -1 || true)"
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  if (( status != 0 )); then
    suites_failed=$((suites_failed + 1)) failed_names+=("$name")
    log "$name: FAILED (exit $status)"
  fi
}

# run_check NAME CMD...: a check that is not a mocha suite counts as one test, passed or failed.
run_check() {
  local name="$1"; shift
  log "== $name"
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); suites_failed=$((suites_failed + 1)) failed_names+=("$name")
    log "$name: FAILED"
  fi
}

# run_go_suite NAME CMD...: runs go tests (CMD sets no -v of its own; GOFLAGS=-v makes every
# go test name each test), keeps their counts (subtests included) like run_suite.
run_go_suite() {
  local name="$1"; shift
  log "== $name"
  local status=0
  GOFLAGS="${GOFLAGS:+$GOFLAGS }-v" "$@" 2>&1 | tee "$RESULTS/$name.log" || status=$?
  local p f
  p="$(grep -Ec '^ *--- PASS: ' "$RESULTS/$name.log" || true)"
  f="$(grep -Ec '^ *--- FAIL: ' "$RESULTS/$name.log" || true)"
  passed=$((passed + p)); failed=$((failed + f))
  if (( status != 0 )); then
    suites_failed=$((suites_failed + 1)) failed_names+=("$name")
    log "$name: FAILED (exit $status)"
  fi
}

# failure_summary: for each failed suite, mocha's failure report (from "N failing" on, each
# failure's title and first lines) or go test's FAIL lines; for a failed check, its name.
failure_summary() {
  local name
  for name in "${failed_names[@]}"; do
    echo "-- $name"
    if [[ -f "$RESULTS/$name.log" ]]; then
      { sed -n '/^ *[0-9][0-9]* failing$/,$p' "$RESULTS/$name.log"; grep -E '^ *--- FAIL: ' "$RESULTS/$name.log"; } | head -n 60 || true
    fi
  done
}

# repo_files [PATHSPEC...]: the repo's files, tracked or new (not ignored), one a line.
repo_files() {
  local file
  git ls-files --cached --others --exclude-standard -- "$@" | while IFS= read -r file; do
    if [[ -f "$file" ]]; then printf '%s\n' "$file"; fi
  done
}

# shell_scripts_clean: no finding in any shell script (the *.sh files and every file whose first
# line starts a shell), with the settings in .shellcheckrc.
shell_scripts_clean() {
  local file scripts=()
  while IFS= read -r file; do
    if [[ "$file" == *.sh ]] || head -n 1 "$file" | grep -qE '^#!.*\b(ba|da)?sh\b'; then
      scripts+=("$file")
    fi
  done < <(repo_files)
  (( ${#scripts[@]} > 0 )) || { log "no shell scripts found"; return 1; }
  shellcheck "${scripts[@]}"
}

# go_files_formatted: gofmt would change none of the Go files (gofmt -l lists the ones it would).
go_files_formatted() {
  local go_files unformatted
  mapfile -t go_files < <(repo_files '*.go')
  (( ${#go_files[@]} > 0 )) || { log "no Go files found"; return 1; }
  unformatted="$(gofmt -l "${go_files[@]}")" || return 1
  [[ -z "$unformatted" ]] || { log "not formatted by gofmt (gofmt -w fixes them):"$'\n'"$unformatted"; return 1; }
}

cd "$REPO_ROOT"
build_program

# Lint and format (ESLint + Prettier over the paths .prettierignore does not exclude): a
# violation fails the run like a failing test.
run_check lint npm run --silent lint
run_suite unit npx mocha 'bin/tests/unit/**/*.test.js'
# package.json's engines admit the other LTS line too: the program's unit tests run on it as well.
unit_tests_on_node() {
  (eval "$("$REPO_ROOT/toolchain/build-node.sh" "$1")" && node --version && npx mocha 'bin/tests/unit/**/*.test.js')
}
run_suite unit-node-other-lts unit_tests_on_node "$NODE_OTHER_LTS_VERSION"
run_suite policy npm --prefix policy test --silent

# kwok: the engine tests' fake nodes, and the load balancer beside the e2e suites' real node;
# network-policies: that node's NetworkPolicy enforcer.
toolchain_env real kwok network-policies
# After toolchain_env: it asks the built CLI and plugins which versions they are.
run_suite toolchain npx mocha 'bin/tests/toolchain/**/*.test.js'
eval "$("$REPO_ROOT/toolchain/build-go-tool.sh" actionlint)"
run_check actionlint actionlint -no-color .github/workflows/*.yml
run_check shellcheck shell_scripts_clean
run_check gofmt go_files_formatted

# The project's own language host: module resolution, plugin commands, the pack launcher's exit
# codes (with the node toolchain_env put first on PATH).
run_go_suite language-host go -C "$REPO_ROOT/toolchain/pulumi/language-nodejs" test ./...

# The images' own tests (their programs' unit tests, then each image under runc) need no cluster:
# run before any, so they never compete for the cores. toolchain_env real has built the images;
# images/build.sh inside finds them in the cache, as the real node below does.
run_go_suite images images/test.sh

# The tests' own cluster, so a developer's dev stack is never touched.
# EXCHANGE_TEST_PORT_OFFSET lets a second test run (e.g. scripts/cold-path.sh) go beside this one.
fresh_cluster test-cluster "${EXCHANGE_TEST_PORT_OFFSET:-1000}"

run_suite integration npx mocha --timeout 1800000 --bail=false 'bin/tests/integration/**/*.test.js'

# Real traffic: a cluster with a real node (containerd, kubelet, kube-proxy, CoreDNS, Traefik) in
# a network namespace of its own, running the images built here, enforcing NetworkPolicies: every
# suite runs under the program's policies, as on a production cluster. The kwok cluster goes
# first, so the two never compete for the 2 cores.
"$REPO_ROOT/cluster/local-cluster.sh" stop --purge
EXCHANGE_CLUSTER_LOAD_BALANCER=true EXCHANGE_CLUSTER_NETWORK_POLICIES=true \
  fresh_cluster e2e-cluster "$(( ${EXCHANGE_TEST_PORT_OFFSET:-1000} + 500 ))" real
export EXCHANGE_E2E_KUBECONFIG="$KUBECONFIG"
run_suite e2e npx mocha --timeout 1800000 --bail=false 'bin/tests/e2e/**/*.test.js'

# Several real nodes: Pulumi.prod.yaml as written on 3 nodes in 3 zones, enforcing
# NetworkPolicies, serving the metrics API its HPAs read and scraped by Prometheus (with the
# alert rules' unit tests), then drained, loaded and a node lost. After the one-node cluster has
# stopped, so the two never compete for the cores.
"$REPO_ROOT/cluster/local-cluster.sh" stop --purge
EXCHANGE_CLUSTER_NODES=3 EXCHANGE_CLUSTER_NETWORK_POLICIES=true EXCHANGE_CLUSTER_METRICS_SERVER=true EXCHANGE_CLUSTER_PROMETHEUS=true \
  fresh_cluster nodes-cluster "$(( ${EXCHANGE_TEST_PORT_OFFSET:-1000} + 600 ))" real
export EXCHANGE_E2E_KUBECONFIG="$KUBECONFIG"
run_suite nodes npx mocha --timeout 1800000 --bail=false 'bin/tests/nodes/**/*.test.js'

# Stopped here rather than by the trap, so that the count below is the run's last line.
trap - EXIT
"$REPO_ROOT/cluster/local-cluster.sh" stop --purge

echo
if (( ${#failed_names[@]} > 0 )); then
  echo "failed:"
  failure_summary
fi
echo "total: $passed passed, $failed failed"
(( failed == 0 && suites_failed == 0 ))
