#!/usr/bin/env bash
# Builds the local Kubernetes cluster's binaries from the Go module proxy (the only place binaries
# can come from here) into a machine-level cache keyed by version, and prints `export` lines that
# put them first on PATH:
#
#   eval "$(toolchain/build-cluster.sh [kwok|real|network-policies]...)"
#
# Always the control plane and kubectl, and for each part named (default: EXCHANGE_CLUSTER_NODE,
# else kwok): kwok, which plays fake nodes and, beside a real node, the cloud's load balancer
# (cluster/lib/kwok.sh); real, what a real node runs: kubelet, kube-proxy, containerd with its runc
# shim and ctr, and the Gateway API CRDs that the node's ingress controller serves (runc and the
# CNI plugins come from Debian, see debian-packages.txt); network-policies, the real node's
# NetworkPolicy enforcer, kube-network-policies (cluster/lib/network-policies.sh). `real` alone,
# the first command's, skips kwok's and the enforcer's compiles: the dev stack has no LoadBalancer
# Service, and a cluster enforces NetworkPolicies only when started with --network-policies.
#
# stdout carries only those lines; progress and errors go to stderr. A component is rebuilt only
# when its versioned folder is incomplete, so a warm run takes well under a second. A cold run
# took 13 minutes on 2 cores shared with another build (etcd 1.5, kwok 3, Kubernetes 8.5), plus
# module downloads on a machine whose Go module cache is empty. The real node adds containerd
# (8.5 min with its downloads, on 2 cores shared with other builds) and kubelet and kube-proxy
# (under 2 min once the control plane is built: they share most of its packages).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MODULES="$TOOLCHAIN_DIR/cluster"
# shellcheck source=cluster/commands.env
. "$MODULES/commands.env"
K8S_HOME="$EXCHANGE_CACHE/kubernetes-v$KUBERNETES_VERSION"
# The node's commands sit in a folder of their own, so adding them never invalidates (and
# rebuilds) a control-plane folder that kwok clusters already use.
K8S_NODE_HOME="$EXCHANGE_CACHE/kubernetes-node-v$KUBERNETES_VERSION"
ETCD_HOME="$EXCHANGE_CACHE/etcd-v$ETCD_VERSION"
KWOK_HOME="$EXCHANGE_CACHE/kwok-v$KWOK_VERSION"
NETWORK_POLICIES_HOME="$EXCHANGE_CACHE/kube-network-policies-v$KUBE_NETWORK_POLICIES_VERSION"
CONTAINERD_HOME="$EXCHANGE_CACHE/containerd-v$CONTAINERD_VERSION"
GATEWAY_API_HOME="$EXCHANGE_CACHE/gateway-api-v$GATEWAY_API_VERSION"
read -r -a K8S_CMDS <<<"$KUBERNETES_CONTROL_PLANE_CMDS"
read -r -a K8S_NODE_CMDS <<<"$KUBERNETES_NODE_CMDS"
CONTAINERD_CMDS=(containerd containerd-shim-runc-v2 ctr)
BUILD_LOGS="$EXCHANGE_CACHE/logs"

PARTS=("$@")
(( ${#PARTS[@]} > 0 )) || PARTS=("${EXCHANGE_CLUSTER_NODE:-kwok}")
for part in "${PARTS[@]}"; do
  [[ "$part" == kwok || "$part" == real || "$part" == network-policies ]] \
    || die "a part is kwok, real or network-policies, not '$part'"
done
wants() { [[ " ${PARTS[*]} " == *" $1 "* ]]; }

command -v go >/dev/null || die "go is not on PATH"

# The wrapper go.mod files pin the same versions as versions.env; refuse to build one release under
# another release's folder name. After a bump, cluster/update-modules.sh regenerates them.
grep -q "^[[:space:]]*k8s.io/kubernetes v$KUBERNETES_VERSION\b" "$MODULES/kubernetes/go.mod" \
  || die "cluster/kubernetes/go.mod does not require k8s.io/kubernetes v$KUBERNETES_VERSION; run toolchain/cluster/update-modules.sh"
grep -q "=> k8s.io/api v0.${KUBERNETES_VERSION#*.}$" "$MODULES/kubernetes/go.mod" \
  || die "cluster/kubernetes/go.mod does not replace staging modules with v0.${KUBERNETES_VERSION#*.}; run toolchain/cluster/update-modules.sh"
grep -q "^require go.etcd.io/etcd/server/v3 v$ETCD_VERSION$" "$MODULES/etcd/go.mod" \
  || die "cluster/etcd/go.mod does not require etcd v$ETCD_VERSION; run toolchain/cluster/update-modules.sh"

have_all() { # DIR FILE...: every file is present in DIR
  local dir="$1" file; shift
  for file in "$@"; do [[ -s "$dir/$file" ]] || return 1; done
}

# install_into DIR FILE... -- BUILD_CMD...: unless DIR already has every FILE, runs BUILD_CMD with
# $OUT set to a scratch folder next to DIR and then swaps it in, so an interrupted build never
# leaves a half-filled folder that would later pass for a complete one.
install_into() {
  local dir="$1"; shift
  local files=()
  while [[ "$1" != -- ]]; do files+=("$1"); shift; done
  shift
  have_all "$dir" "${files[@]}" && return 0
  local label; label="$(basename "$dir")"
  local out="$dir.partial"
  rm -rf "$out" && mkdir -p "$out"
  log "$label: building (log $BUILD_LOGS/$label.log)"
  OUT="$out" run_with_progress "$label" "$BUILD_LOGS/$label.log" "$@" || die "$label: build failed"
  have_all "$out" "${files[@]}" || die "$label: build finished without producing ${files[*]}"
  rm -rf "$dir" && mv "$out" "$dir"
}

# Concurrent callers (a test run starting while another builds) wait for one build instead of
# racing on the same folders.
mkdir -p "$EXCHANGE_CACHE" "$BUILD_LOGS"
exec 9>"$EXCHANGE_CACHE/.build-cluster.lock"
flock 9

# Without these the binaries report v0.0.0-master+$Format:%H$, which kubectl cannot even parse
# ("client version error"), and clients such as the Pulumi provider misjudge the server's
# version. client-go carries its own copy of the version variables.
k8s_minor="${KUBERNETES_VERSION#*.}"; k8s_minor="${k8s_minor%%.*}"
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=v$KUBERNETES_VERSION -X $pkg.gitMajor=${KUBERNETES_VERSION%%.*}"
  k8s_ldflags+=" -X $pkg.gitMinor=$k8s_minor -X $pkg.gitTreeState=clean"
done

# -trimpath keeps this machine's paths out of the binaries; -buildvcs=false because the wrapper
# modules sit inside the project's git checkout, whose state says nothing about these builds.
# Downloads are timed apart from the compile (log line "...: built in N s"), so a cold run's log
# shows where its minutes go.
download() { run_with_progress "$1: module download" "$BUILD_LOGS/$1.download.log" go mod download; }
# build_k8s_cmds CMD...: commands of the kubernetes wrapper module (its tool block lists them all).
build_k8s_cmds() {
  cd "$MODULES/kubernetes" && download kubernetes \
    && go build -trimpath -buildvcs=false -ldflags "$k8s_ldflags" -o "$OUT/bin/" "${@/#/k8s.io/kubernetes/cmd/}"
}
build_etcd() { cd "$MODULES/etcd" && download etcd && go build -trimpath -buildvcs=false -ldflags "-s -w" -o "$OUT/bin/etcd" .; }
# kwok's go.mod has no replace directives, so a plain versioned install needs no wrapper module.
# The kwok binary simulates nothing until it is given Stages; the module ships upstream's default
# ones (what kwokctl uses), installed next to the binary so they always match its version:
# nodes turn Ready and keep a lease, pods turn Ready at once, Job pods complete, deleted pods go.
KWOK_STAGES=(node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
  pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml)
build_kwok() {
  GOBIN="$OUT/bin" go install -trimpath -buildvcs=false -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"
  local src stage
  src="$(cd "$OUT" && module_dir "sigs.k8s.io/kwok@v$KWOK_VERSION")"
  mkdir -p "$OUT/stages"
  for stage in "${KWOK_STAGES[@]}"; do cp "$src/kustomize/stage/$stage" "$OUT/stages/"; done
}

# containerd's go.mod has no replace directives either. Static (no cgo), without the btrfs
# snapshotter, which needs cgo and C headers; the node uses overlayfs. The version variable makes
# `containerd --version` and the CRI's runtime version say what this is.
build_containerd() {
  local cmd pkgs=()
  for cmd in "${CONTAINERD_CMDS[@]}"; do pkgs+=("github.com/containerd/containerd/v2/cmd/$cmd@v$CONTAINERD_VERSION"); done
  CGO_ENABLED=0 GOBIN="$OUT/bin" go install -tags no_btrfs -trimpath -buildvcs=false \
    -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=v$CONTAINERD_VERSION" "${pkgs[@]}"
}
# kube-network-policies' go.mod has no replace directives either. Its one command is the package
# cmd/, which `go install` names after the folder: installed as cmd, renamed to what it is.
build_network_policies() {
  GOBIN="$OUT/bin" go install -trimpath -buildvcs=false -ldflags "-s -w" \
    "sigs.k8s.io/kube-network-policies/cmd@v$KUBE_NETWORK_POLICIES_VERSION"
  mv "$OUT/bin/cmd" "$OUT/bin/kube-network-policies"
}
# Only the CRD manifests of the standard channel are used; the module is never compiled.
build_gateway_api() {
  local src
  src="$(cd "$OUT" && module_dir "sigs.k8s.io/gateway-api@v$GATEWAY_API_VERSION")"
  mkdir -p "$OUT/crds"
  cp "$src"/config/crd/standard/*.yaml "$OUT/crds/"
}

install_into "$ETCD_HOME" bin/etcd -- build_etcd
install_into "$K8S_HOME" "${K8S_CMDS[@]/#/bin/}" -- build_k8s_cmds "${K8S_CMDS[@]}"
paths=("$K8S_HOME/bin" "$ETCD_HOME/bin")
if wants kwok; then
  install_into "$KWOK_HOME" bin/kwok "${KWOK_STAGES[@]/#*\//stages/}" -- build_kwok
  paths+=("$KWOK_HOME/bin")
fi
if wants real; then
  install_into "$CONTAINERD_HOME" "${CONTAINERD_CMDS[@]/#/bin/}" -- build_containerd
  install_into "$K8S_NODE_HOME" "${K8S_NODE_CMDS[@]/#/bin/}" -- build_k8s_cmds "${K8S_NODE_CMDS[@]}"
  install_into "$GATEWAY_API_HOME" crds/gateway.networking.k8s.io_gateways.yaml -- build_gateway_api
  paths+=("$K8S_NODE_HOME/bin" "$CONTAINERD_HOME/bin")
fi
if wants network-policies; then
  install_into "$NETWORK_POLICIES_HOME" bin/kube-network-policies -- build_network_policies
  paths+=("$NETWORK_POLICIES_HOME/bin")
fi

# $PATH stays literal: it is the caller's, expanded where the output is eval'ed.
# shellcheck disable=SC2016
printf 'export PATH=%s"$PATH"\n' "$(printf '%q:' "${paths[@]}")"
