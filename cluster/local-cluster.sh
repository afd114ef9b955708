#!/usr/bin/env bash
# A local Kubernetes cluster for `pulumi up` and the tests: etcd, kube-apiserver,
# kube-controller-manager and kube-scheduler as plain processes on 127.0.0.1, and nodes of one of
# two kinds:
#   kwok  two fake nodes played by kwok: pods are scheduled and marked Ready, nothing runs. Fast;
#         the engine tests (tests/integration) use it. The default.
#   real  real nodes (one unless --nodes N): each with containerd, runc, kubelet and kube-proxy
#         inside a network namespace of its own that has no route out, the nodes joined by a link
#         of their own (lib/netns.sh), each in a zone of its own; CoreDNS, Traefik (ingress and
#         Gateway API) and recycled local volumes. Pods run the images built by images/build.sh.
# A LoadBalancer Service gets its address from kwok, which with kwok nodes always runs; beside a
# real node only with --load-balancer (or EXCHANGE_CLUSTER_LOAD_BALANCER=true), which builds kwok
# (6.5 min cold) when it is missing: the dev stack has no LoadBalancer Service, so the first
# command neither builds nor starts it. Likewise a real node enforces NetworkPolicies only with
# --network-policies (or EXCHANGE_CLUSTER_NETWORK_POLICIES=true), which builds its enforcer,
# kube-network-policies, when it is missing (lib/network-policies.sh), and serves the resource
# metrics API (HPAs, kubectl top) only with --metrics-server (EXCHANGE_CLUSTER_METRICS_SERVER=true),
# which builds metrics-server's image when it is missing (lib/metrics-server.sh), and runs
# Prometheus with the platform's scrape configuration and alert rules only with --prometheus
# (EXCHANGE_CLUSTER_PROMETHEUS=true), which builds its image when it is missing (lib/prometheus.sh).
#
#   cluster/local-cluster.sh start [--node kwok|real] [--nodes N] [--load-balancer]
#                                  [--network-policies] [--metrics-server] [--prometheus]
#                                       start (or say it is running; each option adds its
#                                       part to a running cluster, --prometheus applies
#                                       monitoring/ again); builds what is missing. Node
#                                       kind: --node, else EXCHANGE_CLUSTER_NODE, else kwok; real
#                                       nodes: --nodes, else EXCHANGE_CLUSTER_NODES, else 1;
#                                       changing either needs `stop --purge` first
#   cluster/local-cluster.sh stop [--purge]   stop every component; --purge also wipes all state
#   cluster/local-cluster.sh status           one line per component; non-zero if any is down
#   cluster/local-cluster.sh env              prints `export KUBECONFIG=...`
#   cluster/local-cluster.sh restart NAME     restart one component (fault tests); another
#                                       node's components end in -nI (kubelet-n2)
#   cluster/local-cluster.sh kill-node I      node I lost: its kubelet, kube-proxy, containerd
#                                       and containers killed, its link down (drills)
#   cluster/local-cluster.sh netns-exec [--node I] CMD..  run CMD inside a real node's network
#                                       namespace (node 1's unless --node), the only place pod
#                                       and Service addresses may be reached
#   cluster/local-cluster.sh curl URL|/PATH [CURL_ARGS..]  curl from inside that namespace; a
#                                       bare /PATH goes through the ingress controller
#   cluster/local-cluster.sh images           the images on the real node: "<ref> <archive>" lines
#   cluster/local-cluster.sh log NAME         a component's log (names: status)
#
# Never dial a pod (10.244.x) or Service (10.96.x) address from the host's own namespace: with
# kwok nodes nothing listens there, and traffic off loopback is not allowed on these machines.
set -euo pipefail

CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$CLUSTER_DIR")"
# shellcheck source-path=SCRIPTDIR source=../toolchain/lib.sh
. "$REPO_DIR/toolchain/lib.sh"
# shellcheck source=lib/common.sh
. "$CLUSTER_DIR/lib/common.sh"
# shellcheck source=lib/pki.sh
. "$CLUSTER_DIR/lib/pki.sh"
# shellcheck source=lib/control-plane.sh
. "$CLUSTER_DIR/lib/control-plane.sh"
# shellcheck source=lib/kwok.sh
. "$CLUSTER_DIR/lib/kwok.sh"
# shellcheck source=lib/netns.sh
. "$CLUSTER_DIR/lib/netns.sh"
# shellcheck source=lib/node.sh
. "$CLUSTER_DIR/lib/node.sh"
# shellcheck source=lib/network-policies.sh
. "$CLUSTER_DIR/lib/network-policies.sh"
# shellcheck source=lib/metrics-server.sh
. "$CLUSTER_DIR/lib/metrics-server.sh"
# shellcheck source=lib/prometheus.sh
. "$CLUSTER_DIR/lib/prometheus.sh"

PV_COUNT=6

# usage: this file's opening comment.
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}" >&2; exit 2; }

# existing_node_kind: the node kind of the cluster in $STATE, empty for none yet (clusters made
# before there were two kinds have kwok nodes).
existing_node_kind() {
  if [[ -f "$NODE_KIND_FILE" ]]; then cat "$NODE_KIND_FILE"; elif [[ -d "$STATE/etcd" ]]; then echo kwok; fi
}
NODE_KIND="$(existing_node_kind)"
NODE_KIND="${NODE_KIND:-${EXCHANGE_CLUSTER_NODE:-kwok}}"

# runs_kwok: kwok is a component of this cluster (its nodes, or the load balancer beside a real node).
runs_kwok() { [[ "$NODE_KIND" != real || -f "$LOAD_BALANCER_FILE" ]]; }

# components: start order; stop goes the other way.
components() {
  printf '%s\n' "${CONTROL_PLANE[@]}"
  ! runs_kwok || echo kwok
  [[ "$NODE_KIND" != real ]] || node_components
  ! enforces_network_policies || network_policies_components
}

# is_component NAME: NAME is one of this cluster's components. Not `components | grep -q`: grep
# leaves at the first match, and under pipefail the rest of the list, written to a closed pipe,
# fails the test.
is_component() { grep -qx -- "$1" < <(components); }

all_up() { local c; for c in $(components); do up "$c" || return 1; done; }

stop_all() {
  [[ "$NODE_KIND" != real ]] || stop_node
  stop_component kwok
  local i
  for ((i = ${#CONTROL_PLANE[@]} - 1; i >= 0; i--)); do stop_component "${CONTROL_PLANE[i]}"; done
}

use_built_binaries() {
  local parts=("$NODE_KIND")
  ! runs_kwok || parts+=(kwok)
  ! enforces_network_policies || parts+=(network-policies)
  eval "$("$REPO_DIR/toolchain/build-cluster.sh" "${parts[@]}")"
  KWOK_STAGES="$EXCHANGE_CACHE/kwok-v$KWOK_VERSION/stages"
  GATEWAY_API_CRDS="$EXCHANGE_CACHE/gateway-api-v$GATEWAY_API_VERSION/crds"
  export KUBECONFIG="$KUBECONFIG_FILE"
}

# Server-side: the Gateway API CRDs are too large for client-side apply's annotation.
apply_cluster_objects() {
  {
    cat "$CLUSTER_DIR/manifests/cluster.yaml"
    if [[ "$NODE_KIND" == real ]]; then node_objects; else kwok_objects; fi
  } | kubectl apply --server-side --force-conflicts -f - >/dev/null
}

# require_boolean VARIABLE VALUE: VALUE (the option's, or the variable's) is true or false.
require_boolean() {
  [[ "$2" == true || "$2" == false ]] || die "$1 must be true or false, not '$2'"
}

# add_image_addon MARKER START WHAT: an add-on with an image of its own, added to the running
# cluster: its marker, its image built and imported on every node, then START.
add_image_addon() {
  touch "$1"
  use_built_binaries
  build_images
  for_each_node import_images
  "$2"
  log "$3 added"
}

# --- commands --------------------------------------------------------------------------------

cmd_start() {
  local requested="${EXCHANGE_CLUSTER_NODE:-kwok}" load_balancer="${EXCHANGE_CLUSTER_LOAD_BALANCER:-false}"
  local network_policies="${EXCHANGE_CLUSTER_NETWORK_POLICIES:-false}" nodes="${EXCHANGE_CLUSTER_NODES:-1}"
  local metrics_server="${EXCHANGE_CLUSTER_METRICS_SERVER:-false}" prometheus="${EXCHANGE_CLUSTER_PROMETHEUS:-false}"
  while (( $# > 0 )); do
    case "$1" in
      --node) requested="${2:-}"; shift 2 || usage ;;
      --nodes) nodes="${2:-}"; shift 2 || usage ;;
      --load-balancer) load_balancer=true; shift ;;
      --network-policies) network_policies=true; shift ;;
      --metrics-server) metrics_server=true; shift ;;
      --prometheus) prometheus=true; shift ;;
      *) usage ;;
    esac
  done
  [[ "$requested" == kwok || "$requested" == real ]] || usage
  require_boolean EXCHANGE_CLUSTER_LOAD_BALANCER "$load_balancer"
  require_boolean EXCHANGE_CLUSTER_NETWORK_POLICIES "$network_policies"
  require_boolean EXCHANGE_CLUSTER_METRICS_SERVER "$metrics_server"
  require_boolean EXCHANGE_CLUSTER_PROMETHEUS "$prometheus"
  [[ "$network_policies" == false || "$requested" == real ]] \
    || die "only a real node enforces NetworkPolicies: add --node real"
  [[ "$metrics_server" == false || "$requested" == real ]] \
    || die "only real nodes have metrics to serve: add --node real"
  [[ "$prometheus" == false || "$requested" == real ]] \
    || die "only real nodes have targets to scrape: add --node real"
  if ! [[ "$nodes" =~ ^[1-9]$ ]] || ((nodes > MAX_NODES)); then
    die "--nodes (EXCHANGE_CLUSTER_NODES) must be 1 to $MAX_NODES, not '$nodes'"
  fi
  [[ "$nodes" == 1 || "$requested" == real ]] || die "--nodes is for real nodes (kwok always plays two): add --node real"
  local began=$SECONDS
  lock_state
  local existing
  existing="$(existing_node_kind)"
  if [[ -n "$existing" && "$existing" != "$requested" ]]; then
    die "this cluster's state ($STATE) was made with $existing nodes; to switch to $requested: cluster/local-cluster.sh stop --purge"
  fi
  if [[ -n "$existing" && "$(node_count)" != "$nodes" ]]; then
    die "this cluster's state ($STATE) was made with $(node_count) node(s); to have $nodes: cluster/local-cluster.sh stop --purge"
  fi
  NODE_KIND="$requested"
  if all_up; then
    if $load_balancer && ! runs_kwok; then
      touch "$LOAD_BALANCER_FILE"
      use_built_binaries
      start_kwok
      wait_up kwok 60
      log "load balancer (kwok) added"
    fi
    if $network_policies && ! enforces_network_policies; then
      touch "$NETWORK_POLICIES_FILE"
      use_built_binaries
      for_each_node start_network_policies_on_node
      log "NetworkPolicy enforcement (kube-network-policies) added"
    fi
    if $metrics_server && ! enables_metrics_server; then
      add_image_addon "$METRICS_SERVER_FILE" start_metrics_server "resource metrics API (metrics-server)"
    fi
    if $prometheus && ! enables_prometheus; then
      add_image_addon "$PROMETHEUS_FILE" start_prometheus Prometheus
    elif $prometheus; then
      # Already there: monitoring/'s files again, which rolls the pod when they changed.
      use_built_binaries
      start_prometheus
      log "Prometheus: monitoring/ applied"
    fi
    log "cluster already running ($NODE_KIND nodes, context $CONTEXT, https://127.0.0.1:$API_PORT)"
    return 0
  fi
  # Whatever is left of an earlier run (a crash, a half-finished start) goes first, so every
  # component starts from a known state.
  stop_all
  echo "$NODE_KIND" >"$NODE_KIND_FILE"
  echo "$nodes" >"$NODE_COUNT_FILE"
  if $load_balancer; then touch "$LOAD_BALANCER_FILE"; else rm -f "$LOAD_BALANCER_FILE"; fi
  if $network_policies; then touch "$NETWORK_POLICIES_FILE"; else rm -f "$NETWORK_POLICIES_FILE"; fi
  if $metrics_server; then touch "$METRICS_SERVER_FILE"; else rm -f "$METRICS_SERVER_FILE"; fi
  if $prometheus; then touch "$PROMETHEUS_FILE"; else rm -f "$PROMETHEUS_FILE"; fi
  use_built_binaries
  local port
  for port in "$ETCD_PORT" "$ETCD_PEER_PORT" "$API_PORT" "$KCM_PORT" "$SCHEDULER_PORT"; do
    ! port_in_use "$port" || die "127.0.0.1:$port is in use by a process this script did not start"
  done
  ensure_pki
  if [[ "$NODE_KIND" == real ]]; then
    build_images
    prepare_nodes
  fi

  start_etcd
  wait_up etcd 60
  start_kube_apiserver
  wait_up kube-apiserver 120
  start_kube_controller_manager
  start_kube_scheduler
  wait_up kube-controller-manager 60
  wait_up kube-scheduler 60
  local control_plane_ready=$SECONDS

  if [[ "$NODE_KIND" == real ]]; then
    start_nodes
    apply_cluster_objects
    ! runs_kwok || start_kwok
    ! enforces_network_policies || for_each_node start_network_policies_on_node
    wait_for_nodes "$began"
    if enables_metrics_server; then
      start_metrics_server
      log "resource metrics API served after $((SECONDS - began)) s"
    fi
    if enables_prometheus; then
      start_prometheus
      log "Prometheus ready after $((SECONDS - began)) s"
    fi
  else
    start_kwok
    apply_cluster_objects
    wait_for_kwok_nodes
  fi
  wait_for_default_service_account
  log "cluster ready in $((SECONDS - began)) s (control plane $((control_plane_ready - began)) s):" \
    "$NODE_KIND nodes$([[ "$NODE_KIND" != real ]] || echo " ($(node_count))"), context $CONTEXT, https://127.0.0.1:$API_PORT"
  log "use it with: eval \"\$(cluster/local-cluster.sh env)\""
  [[ "$NODE_KIND" != real ]] || log "send traffic with: cluster/local-cluster.sh curl /backend/health"
}

cmd_stop() {
  local purge=false
  case "${1:-}" in
    --purge) purge=true ;;
    "") ;;
    *) usage ;;
  esac
  [[ -d "$STATE" ]] || { log "cluster not running (no state in $STATE)"; return 0; }
  lock_state
  stop_all
  if $purge; then
    log "wiping $STATE"
    rm -rf "$STATE"
  fi
  log "cluster stopped"
}

# Ends one component and starts it again with the same arguments, as a crash and a supervisor
# restart would; the others reconnect by themselves. The node's namespace holder cannot be
# restarted alone: everything on the node lives in its namespaces.
cmd_restart() {
  local name="${1:-}"
  # shellcheck disable=SC2015 # usage when either test fails
  [[ "$name" != node-namespace* && "$name" != pod-network ]] && is_component "$name" || usage
  lock_state
  all_up || die "cluster is not running; use start"
  use_built_binaries
  stop_component "$name"
  select_node_of "$name"
  "start_${COMPONENT_BASE//-/_}"
  select_node 1
  wait_up "$name" 120
  log "$name restarted"
}

cmd_status() {
  local c pid down=0 detail
  for c in $(components); do
    pid="$(pid_of "$c")"
    if ! is_ours "$c" "$pid"; then
      detail="down"; down=1
    elif ! healthy "$c"; then
      detail="unhealthy (pid $pid, log $LOGS/$c.log)"; down=1
    else
      detail="up (pid $pid)"
    fi
    printf '%-24s %s\n' "$c" "$detail"
  done
  return "$down"
}

# select_real_node I: selects this cluster's real node I, or fails naming the ones it has.
select_real_node() {
  if [[ "$NODE_KIND" != real ]] || ! [[ "$1" =~ ^[1-9]$ ]] || (($1 > $(node_count))); then
    die "this cluster has no real node '$1' ($([[ "$NODE_KIND" == real ]] && echo "its nodes: 1 to $(node_count)" || echo "its nodes are kwok's"))"
  fi
  select_node "$1"
}

cmd_kill_node() {
  [[ -n "${1:-}" ]] || usage
  lock_state
  select_real_node "$1"
  kill_node
}

cmd_netns_exec() {
  if [[ "${1:-}" == --node ]]; then
    select_real_node "${2:-}"
    shift 2
  fi
  [[ $# -gt 0 ]] || usage
  netns_exec "$@"
}

cmd_curl() {
  local target="${1:-}"
  [[ -n "$target" ]] || usage
  shift
  [[ "$target" == /* ]] && target="http://$INGRESS_IP$target"
  netns_exec curl --silent --show-error --max-time 10 "$@" "$target"
}

cmd_log() {
  [[ -n "${1:-}" ]] || usage
  is_component "$1" || die "no component '$1' (status lists them)"
  cat "$LOGS/$1.log"
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  status) cmd_status ;;
  restart) shift; cmd_restart "$@" ;;
  kill-node) shift; cmd_kill_node "$@" ;;
  env) printf 'export KUBECONFIG=%q\n' "$KUBECONFIG_FILE" ;;
  netns-exec) shift; cmd_netns_exec "$@" ;;
  curl) shift; cmd_curl "$@" ;;
  images) [[ -f "$IMAGE_LIST" ]] || die "no real node in $STATE"; cat "$IMAGE_LIST" ;;
  log) shift; cmd_log "$@" ;;
  *) usage ;;
esac
