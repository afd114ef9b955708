# The real nodes' namespaces and the only ways in and out of them (layout "B": every node
# process and pod lives in a network namespace that this cluster's start created, with no route
# out). Source it.
#
#   node-namespace[-nI] holds node I's network and mount namespaces (node-namespace.sh)
#   pod-network         with several nodes: the network namespace of the nodes' link, a bridge
#                       that each node's namespace joins through an interface pair, and through
#                       which each node routes the other nodes' pod addresses (connect_node)
#   api-forwarder-host  host side of the API server's way in: a Unix socket in the state folder
#                       relayed to the API server on 127.0.0.1
#   api-forwarder-node[-nI]  namespace side: $NODE_IP:$NODE_API_PORT relayed to that socket; the
#                       node's kubelet, kube-proxy and (through the "kubernetes" Service) pods use it
#   kubelet-egress      the API server's way into the cluster network (kubelets' logs, exec and
#                       port-forward, webhooks, aggregated APIs): an HTTP CONNECT proxy on a Unix
#                       socket that dials from inside node 1's namespace, and from there through
#                       the nodes' link to every node and pod (--egress-selector-config-file), so
#                       the host never sends to a 10.x address
#
# Unix sockets are files, not network endpoints, so they connect two network namespaces without
# any interface or route between them. The interface pairs of the nodes' link are made inside
# the namespaces they join: none touches the host's.
# shellcheck shell=bash

# The machine-wide record of the real nodes running here (one file each), the kernel settings
# found before the first of them started, and the mount-point folders it had to create: the
# kubelet changes kernel settings that are not per namespace, and the last node to stop puts them
# back. /run is emptied by a reboot, as are the settings.
MACHINE_DIR=/run/exchange-platform
KERNEL_SETTINGS=(vm.overcommit_memory kernel.panic kernel.panic_on_oops)
# Mount points for node-namespace.sh's bind mounts; they must exist on the host, empty.
HOST_MOUNT_POINTS=(/var/lib/kubelet /var/lib/cni)

holder_pid() { pid_of "node-namespace$NODE_SUFFIX"; }

# node_exec CMD...: CMD inside the selected node's network and mount namespaces.
node_exec() {
  local pid; pid="$(holder_pid)"
  is_ours "node-namespace$NODE_SUFFIX" "$pid" || die "node $NODE_NAME is not running (no node-namespace$NODE_SUFFIX process)"
  nsenter --target "$pid" --net --mount -- "$@"
}

# netns_exec CMD...: CMD inside the selected node's network namespace only, with the host's
# files: how tests and users send traffic to pod and Service addresses.
netns_exec() {
  local pid; pid="$(holder_pid)"
  is_ours "node-namespace$NODE_SUFFIX" "$pid" || die "the real node is not running; start the cluster with --node real"
  exec nsenter --target "$pid" --net -- "$@"
}

# launch_in_node NAME CMD...: launch, inside the selected node's namespaces and the nodes' cgroup.
launch_in_node() {
  local name="$1"; shift
  LAUNCH_CGROUPS="$(node_cgroup_procs)" launch "$name" nsenter --target "$(holder_pid)" --net --mount -- "$@"
}

# --- the machine-wide record -----------------------------------------------------------------

# node_alive STATE: the node of the cluster whose state folder is STATE still runs.
node_alive() {
  local pid args
  pid="$(cat "$1/run/node-namespace.pid" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  args="$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n 1)" || return 1
  [[ "$args" == "$1/run/node-namespace" ]]
}

# other_nodes: how many real nodes of other clusters run on this machine (entries of crashed
# ones are dropped on the way).
other_nodes() {
  local entry count=0
  for entry in "$MACHINE_DIR"/nodes/*; do
    [[ -f "$entry" && "$(basename "$entry")" != "$CGROUP_NAME" ]] || continue
    if node_alive "$(cat "$entry")"; then count=$((count + 1)); else rm -f "$entry"; fi
  done
  echo "$count"
}

with_machine_lock() {
  mkdir -p "$MACHINE_DIR/nodes"
  (flock 7 && "$@") 7>"$MACHINE_DIR/.lock"
}

register_node_locked() {
  local setting dir
  if [[ "$(other_nodes)" == 0 && ! -f "$MACHINE_DIR/kernel-settings" ]]; then
    for setting in "${KERNEL_SETTINGS[@]}"; do
      printf '%s=%s\n' "$setting" "$(sysctl -n "$setting")"
    done >"$MACHINE_DIR/kernel-settings"
  fi
  for dir in "${HOST_MOUNT_POINTS[@]}"; do
    [[ -d "$dir" ]] && continue
    mkdir -p "$dir"
    echo "$dir" >>"$MACHINE_DIR/created-folders"
  done
  echo "$STATE" >"$MACHINE_DIR/nodes/$CGROUP_NAME"
}

unregister_node_locked() {
  rm -f "$MACHINE_DIR/nodes/$CGROUP_NAME"
  [[ "$(other_nodes)" == 0 ]] || return 0
  if [[ -f "$MACHINE_DIR/kernel-settings" ]]; then
    log "restoring kernel settings the kubelet changed: $(tr '\n' ' ' <"$MACHINE_DIR/kernel-settings")"
    xargs sysctl -q -w <"$MACHINE_DIR/kernel-settings" || log "could not restore every kernel setting"
  fi
  if [[ -f "$MACHINE_DIR/created-folders" ]]; then
    # Only while empty: with no node running, nothing is mounted on them anywhere.
    xargs -r rmdir --ignore-fail-on-non-empty <"$MACHINE_DIR/created-folders" || true
  fi
  rm -rf "$MACHINE_DIR"
}

register_node() { with_machine_lock register_node_locked; }
unregister_node() { [[ -d "$MACHINE_DIR" ]] || return 0; with_machine_lock unregister_node_locked; }

# --- components ------------------------------------------------------------------------------

start_node_namespace() {
  mkdir -p "$NODE_DIR/var-log" "$NODE_DIR/kubelet" "$NODE_DIR/cni-cache"
  LAUNCH_CGROUPS="$(node_cgroup_procs)" launch "node-namespace$NODE_SUFFIX" unshare --net --mount -- \
    "$CLUSTER_DIR/lib/node-namespace.sh" "$RUN/node-namespace$NODE_SUFFIX" "$NODE_DIR" "$NODE_IP" \
    "${NODE_POD_SUBNET#*/}" "$SERVICE_CIDR"
}

start_api_forwarder_host() {
  launch api-forwarder-host socat "UNIX-LISTEN:$RUN/api.sock,fork,unlink-early,mode=600" "TCP:127.0.0.1:$API_PORT"
}

start_api_forwarder_node() {
  launch_in_node "api-forwarder-node$NODE_SUFFIX" socat "TCP-LISTEN:$NODE_API_PORT,bind=$NODE_IP,fork,reuseaddr" \
    "UNIX-CONNECT:$RUN/api.sock"
}

start_kubelet_egress() {
  launch_in_node kubelet-egress socat "UNIX-LISTEN:$RUN/kubelet-egress.sock,fork,unlink-early,mode=600" \
    "EXEC:$CLUSTER_DIR/lib/http-connect.sh"
}

# The namespace is ready once the holder has set it up (its bridge carries the node's address).
netns_healthy() {
  local pid; pid="$(holder_pid)"
  nsenter --target "$pid" --net -- ip -4 -o address show dev cni0 2>/dev/null | grep -q " $NODE_IP/"
}

# --- the nodes' link (several nodes) ---------------------------------------------------------

# node_link_ip I: node I's address on the link between the nodes.
node_link_ip() { echo "10.250.0.$1"; }
NODE_LINK_PREFIX=24

start_pod_network() {
  # argv[0] carries the state folder, for is_ours.
  # shellcheck disable=SC2016 # expanded by the inner bash
  launch pod-network unshare --net -- bash -c 'ip link set lo up && ip link add nodes0 type bridge &&
    ip link set nodes0 up && exec -a "$0" sleep infinity' "$RUN/pod-network"
}

pod_network_healthy() {
  nsenter --target "$(pid_of pod-network)" --net -- ip -o link show dev nodes0 2>/dev/null | grep -q "state UP\|,UP"
}

# connect_node: the selected node's namespace joins the link (an interface pair made in the
# link's namespace, one end moved straight into the node's), and routes every other node's pod
# subnet to that node's link address. Pod traffic between nodes keeps its addresses (no
# encapsulation, no NAT), as with a cloud's routes or flannel's host-gw.
connect_node() {
  local link_pid node_pid i
  link_pid="$(pid_of pod-network)" node_pid="$(holder_pid)"
  nsenter --target "$link_pid" --net -- ip link add "node$NODE_INDEX" type veth peer name eth0 netns "$node_pid"
  nsenter --target "$link_pid" --net -- ip link set "node$NODE_INDEX" master nodes0 up
  node_exec ip address add "$NODE_LINK_IP/$NODE_LINK_PREFIX" dev eth0
  node_exec ip link set eth0 up
  for ((i = 1; i <= $(node_count); i++)); do
    ((i == NODE_INDEX)) || node_exec ip route add "$(node_pod_subnet "$i")" via "$(node_link_ip "$i")" dev eth0
  done
}
