#!/usr/bin/env bash
# Builds the local Kubernetes control plane from the Go module proxy (the only place binaries can
# come from here) into a machine-level cache keyed by version, and prints `export` lines that put
# them first on PATH:
#
#   eval "$(toolchain/build-cluster.sh)"
#
# stdout carries only those lines; progress and errors go to stderr. A component is rebuilt only
# when its versioned bin folder is incomplete, so a warm run takes seconds. A cold run takes
# about half an hour on 2 cores, most of it kube-apiserver and kubectl.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MODULES="$TOOLCHAIN_DIR/cluster"
K8S_BIN="$EXCHANGE_CACHE/kubernetes-v$KUBERNETES_VERSION/bin"
ETCD_BIN="$EXCHANGE_CACHE/etcd-v$ETCD_VERSION/bin"
KWOK_BIN="$EXCHANGE_CACHE/kwok-v$KWOK_VERSION/bin"
K8S_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
BUILD_LOGS="$EXCHANGE_CACHE/logs"

command -v go >/dev/null || die "go is not on PATH"

# The wrapper go.mod files pin the same versions as versions.env; refuse to build one release under
# another release's folder name. After a bump, cluster/update-modules.sh regenerates them.
grep -q "^[[:space:]]*k8s.io/kubernetes v$KUBERNETES_VERSION\b" "$MODULES/kubernetes/go.mod" \
  || die "cluster/kubernetes/go.mod does not require k8s.io/kubernetes v$KUBERNETES_VERSION; run toolchain/cluster/update-modules.sh"
grep -q "=> k8s.io/api v0.${KUBERNETES_VERSION#*.}$" "$MODULES/kubernetes/go.mod" \
  || die "cluster/kubernetes/go.mod does not replace staging modules with v0.${KUBERNETES_VERSION#*.}; run toolchain/cluster/update-modules.sh"
grep -q "^require go.etcd.io/etcd/server/v3 v$ETCD_VERSION$" "$MODULES/etcd/go.mod" \
  || die "cluster/etcd/go.mod does not require etcd v$ETCD_VERSION; run toolchain/cluster/update-modules.sh"

have_all() { # DIR NAME...: every binary is present
  local dir="$1" name; shift
  for name in "$@"; do [[ -x "$dir/$name" ]] || return 1; done
}

# install_into DIR NAME... -- BUILD_CMD...: runs BUILD_CMD with $OUT set to a scratch folder next
# to DIR, then swaps it in, so an interrupted build never leaves a half-filled bin folder behind.
install_into() {
  local dir="$1"; shift
  local names=()
  while [[ "$1" != -- ]]; do names+=("$1"); shift; done
  shift
  have_all "$dir" "${names[@]}" && return 0
  local label; label="$(basename "$(dirname "$dir")")"
  local out="$dir.partial"
  rm -rf "$out" && mkdir -p "$out"
  log "$label: building ${names[*]} (log $BUILD_LOGS/$label.log)"
  OUT="$out" run_with_progress "$label" "$BUILD_LOGS/$label.log" "$@" || die "$label: build failed"
  have_all "$out" "${names[@]}" || die "$label: build finished without producing ${names[*]}"
  rm -rf "$dir" && mv "$out" "$dir"
}

# Concurrent callers (a test run starting while another builds) wait for one build instead of
# racing on the same folders.
mkdir -p "$EXCHANGE_CACHE" "$BUILD_LOGS"
exec 9>"$EXCHANGE_CACHE/.build-cluster.lock"
flock 9

# Without these the binaries report v0.0.0: the apiserver then derives a 0.0 emulation version and
# clients (kubectl, the Pulumi provider) misjudge the server. client-go carries its own copy.
k8s_minor="${KUBERNETES_VERSION#*.}"; k8s_minor="${k8s_minor%%.*}"
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=v$KUBERNETES_VERSION -X $pkg.gitMajor=${KUBERNETES_VERSION%%.*}"
  k8s_ldflags+=" -X $pkg.gitMinor=$k8s_minor -X $pkg.gitTreeState=clean"
done

# -trimpath keeps this machine's paths out of the binaries; -buildvcs=false because the wrapper
# modules sit inside the project's git checkout, whose state says nothing about these builds.
build_k8s() { cd "$MODULES/kubernetes" && go build -trimpath -buildvcs=false -ldflags "$k8s_ldflags" -o "$OUT/" tool; }
build_etcd() { cd "$MODULES/etcd" && go build -trimpath -buildvcs=false -ldflags "-s -w" -o "$OUT/etcd" .; }
# kwok's go.mod has no replace directives, so a plain versioned install needs no wrapper module.
build_kwok() { GOBIN="$OUT" go install -trimpath -buildvcs=false -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"; }

install_into "$ETCD_BIN" etcd -- build_etcd
install_into "$KWOK_BIN" kwok -- build_kwok
install_into "$K8S_BIN" "${K8S_CMDS[@]}" -- build_k8s

printf 'export PATH=%q:%q:%q:"$PATH"\n' "$K8S_BIN" "$ETCD_BIN" "$KWOK_BIN"
