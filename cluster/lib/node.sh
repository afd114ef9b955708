# A real node: containerd (with Debian's runc and CNI plugins), kubelet and kube-proxy in the
# node's own namespaces (netns.sh), the images built here, and the add-ons that make it a working
# cluster: CoreDNS, Traefik (Ingress, ingress-nginx annotations, Gateway API) and local volumes
# that the cluster's recycler wipes (volume-recycler.sh). Source it.
# shellcheck shell=bash

# How many real nodes the cluster has (start --nodes N), written when it is created.
NODE_COUNT_FILE="$STATE/node-count"
node_count() { cat "$NODE_COUNT_FILE" 2>/dev/null || echo 1; }
NODE_ZONES=(a b c d e f g h i)
# shellcheck disable=SC2034 # read by local-cluster.sh
MAX_NODES=${#NODE_ZONES[@]}
NODE_API_PORT=6443
CLUSTER_DNS_IP=10.96.0.10
# Traefik's Service: the address Ingresses get as their status, inside the nodes' namespaces.
INGRESS_IP=10.96.0.80
# The cluster's cgroup subtree in every hierarchy: the node processes' own (node/) and each node's
# pods (pods-I/, that kubelet's cgroupRoot), so stop finds every process the nodes started, shims
# and containers included.
CGROUP_NAME="exchange-local-$PORT_OFFSET"
IMAGE_LIST="$STATE/images.list"

node_pod_subnet() { echo "10.244.$(($1 - 1)).0/24"; }

# select_node I: the node that the node functions below act on. Node 1 keeps the names a
# one-node cluster always had; node I > 1 adds "-nI" to its name and to its components' names.
# Each node has a /24 of the pod network on its bridge, whose first address is its InternalIP
# (the kubelet refuses a loopback node IP), an address on the link between the nodes (netns.sh),
# and a zone, one zone per node.
select_node() {
  NODE_INDEX="$1"
  NODE_SUFFIX=""
  ((NODE_INDEX == 1)) || NODE_SUFFIX="-n$NODE_INDEX"
  NODE_NAME="exchange-node$NODE_SUFFIX"
  NODE_DIR="$STATE/node$NODE_SUFFIX"
  NODE_POD_SUBNET="$(node_pod_subnet "$NODE_INDEX")"
  NODE_IP="${NODE_POD_SUBNET%.0/24}.1"
  # shellcheck disable=SC2034 # read by netns.sh
  NODE_LINK_IP="$(node_link_ip "$NODE_INDEX")"
  NODE_ZONE="local-${NODE_ZONES[NODE_INDEX - 1]}"
  NODE_CGROUP_ROOT="/$CGROUP_NAME/pods-$NODE_INDEX"
  CONTAINERD_SOCKET="$RUN/containerd$NODE_SUFFIX.sock"
  # containerd's client, from the build cache (status runs without putting the build on PATH).
  CTR=("$EXCHANGE_CACHE/containerd-v$CONTAINERD_VERSION/bin/ctr" --address "$CONTAINERD_SOCKET")
}
select_node 1

# select_node_of COMPONENT: selects the node a component belongs to and sets COMPONENT_BASE to
# its name without the node's suffix.
select_node_of() {
  if [[ "$1" =~ ^(.*)-n([0-9]+)$ ]]; then
    select_node "${BASH_REMATCH[2]}"
    COMPONENT_BASE="${BASH_REMATCH[1]}"
  else
    select_node 1
    COMPONENT_BASE="$1"
  fi
}

# for_each_node FUNCTION: FUNCTION once per node, with that node selected; node 1 selected after.
for_each_node() {
  local i
  for ((i = 1; i <= $(node_count); i++)); do select_node "$i"; "$1"; done
  select_node 1
}

# node_components: the real nodes' components in start order (stop goes the other way): the API
# server's ways in and out are the cluster's, each node has its own namespace and processes.
node_components() {
  local i
  echo api-forwarder-host
  (($(node_count) == 1)) || echo pod-network
  for ((i = 1; i <= $(node_count); i++)); do
    select_node "$i"
    printf '%s\n' "node-namespace$NODE_SUFFIX" "api-forwarder-node$NODE_SUFFIX"
    ((i > 1)) || echo kubelet-egress
    printf '%s\n' "containerd$NODE_SUFFIX" "kubelet$NODE_SUFFIX" "kube-proxy$NODE_SUFFIX"
  done
  select_node 1
  echo volume-recycler
}

# shellcheck disable=SC2034 # read by control-plane.sh
APISERVER_NODE_FLAGS=(
  --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt"
  --kubelet-client-key="$PKI/apiserver-kubelet-client.key"
  --kubelet-preferred-address-types=InternalIP
  --egress-selector-config-file="$STATE/egress-selector.yaml"
)
# An HPA scales down only after its recommendation stayed lower for this long: upstream's 5 min
# default would make every autoscaling drill wait five idle minutes. Production keeps its own
# (an HPA's behavior.scaleDown overrides either); scale-up is immediate in both.
# shellcheck disable=SC2034 # read by control-plane.sh
CONTROLLER_MANAGER_NODE_FLAGS=(--horizontal-pod-autoscaler-downscale-stabilization=30s)

# node_healthy COMPONENT: the component of whichever node it belongs to is healthy; the node
# selected before stays selected.
node_healthy() {
  local selected="$NODE_INDEX" healthy=0
  select_node_of "$1"
  node_component_healthy "$COMPONENT_BASE" || healthy=1
  select_node "$selected"
  return "$healthy"
}

node_component_healthy() {
  case "$1" in
    pod-network) pod_network_healthy ;;
    node-namespace) netns_healthy ;;
    api-forwarder-host | api-forwarder-node | kubelet-egress | volume-recycler) true ;;
    containerd) "${CTR[@]}" version >/dev/null 2>&1 ;;
    kubelet) node_exec curl --silent --fail --max-time 3 --output /dev/null http://127.0.0.1:10248/healthz ;;
    kube-proxy) node_exec curl --silent --fail --max-time 3 --output /dev/null http://127.0.0.1:10256/livez ;;
    kube-network-policies) network_policies_healthy ;;
    *) return 1 ;;
  esac
}

# --- cgroups ---------------------------------------------------------------------------------

# cgroup_mounts: the mount point of every cgroup hierarchy (v1 controllers, v2 or both).
cgroup_mounts() { awk '$9 == "cgroup" || $9 == "cgroup2" { print $5 }' /proc/self/mountinfo; }

node_cgroup_procs() {
  local mount
  for mount in $(cgroup_mounts); do printf '%s ' "$mount/$CGROUP_NAME/node/cgroup.procs"; done
}

create_node_cgroups() {
  local mount dir file
  local groups=("$CGROUP_NAME" "$CGROUP_NAME/node") i
  for ((i = 1; i <= $(node_count); i++)); do groups+=("$CGROUP_NAME/pods-$i"); done
  for mount in $(cgroup_mounts); do
    for dir in "${groups[@]/#/$mount/}"; do
      mkdir -p "$dir"
      # v1 cpuset: a new group has no CPUs or memory nodes until given its parent's.
      for file in cpuset.cpus cpuset.mems; do
        if [[ -f "$dir/$file" && -z "$(cat "$dir/$file")" ]]; then cat "$(dirname "$dir")/$file" >"$dir/$file"; fi
      done
    done
    # v2 alone (no v1 controllers): the kubelets' groups below need the controllers delegated.
    if [[ "$mount" == /sys/fs/cgroup && -f "$mount/cgroup.controllers" ]]; then
      for dir in "$CGROUP_NAME" "${groups[@]:2}"; do
        sed 's/\([^ ]*\)/+\1/g' "$mount/cgroup.controllers" >"$mount/$dir/cgroup.subtree_control"
      done
    fi
  done
}

# cgroup_pids [GROUP]: every process in the cgroup subtree GROUP (default: the cluster's, every
# node's processes and pods), in any hierarchy.
cgroup_pids() {
  local group="${1:-$CGROUP_NAME}" mount
  for mount in $(cgroup_mounts); do
    # A group may vanish while it is read.
    if [[ -d "$mount/$group" ]]; then find "$mount/$group" -name cgroup.procs -exec cat {} + 2>/dev/null || true; fi
  done | sort -un
}

# remove_node_cgroups: ends whatever still runs in the subtree (containers, shims, the holder),
# politely first, then removes the groups, deepest first.
remove_node_cgroups() {
  local pids i mount
  pids="$(cgroup_pids)"
  if [[ -n "$pids" ]]; then
    log "ending $(wc -w <<<"$pids") remaining node processes (containers, shims)"
    # shellcheck disable=SC2086 # a list of pids
    kill -TERM $pids 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do [[ -z "$(cgroup_pids)" ]] && break; sleep 0.2; done
    pids="$(cgroup_pids)"
    # shellcheck disable=SC2086
    [[ -z "$pids" ]] || kill -KILL $pids 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do [[ -z "$(cgroup_pids)" ]] && break; sleep 0.1; done
  fi
  for mount in $(cgroup_mounts); do
    if [[ -d "$mount/$CGROUP_NAME" ]]; then
      find "$mount/$CGROUP_NAME" -depth -type d -exec rmdir {} + || log "could not remove every group of $mount/$CGROUP_NAME"
    fi
  done
}

# --- certificates and configuration ----------------------------------------------------------

# The selected node's credentials and its components' configuration files, and the API server's
# flags' files, all from templates in cluster/node/ and cluster/addons/.
prepare_node() {
  client_cert "kubelet$NODE_SUFFIX" "/O=system:nodes/CN=system:node:$NODE_NAME"
  # Through the namespace's forwarder; the API server's certificate names "kubernetes".
  write_kubeconfig "$PKI/kubelet$NODE_SUFFIX.kubeconfig" "system:node:$NODE_NAME" "kubelet$NODE_SUFFIX" \
    "https://$NODE_IP:$NODE_API_PORT" kubernetes
  write_kubeconfig "$PKI/kube-proxy$NODE_SUFFIX.kubeconfig" system:kube-proxy kube-proxy \
    "https://$NODE_IP:$NODE_API_PORT" kubernetes

  mkdir -p "$NODE_DIR/cni" "$NODE_DIR/containerd" "$NODE_DIR/cni-ipam"
  local values=(STATE="$STATE" RUN="$RUN" PKI="$PKI" NODE_DIR="$NODE_DIR" NODE_IP="$NODE_IP"
    NODE_POD_SUBNET="$NODE_POD_SUBNET" POD_CIDR="$POD_CIDR" CLUSTER_DNS_IP="$CLUSTER_DNS_IP"
    NODE_CGROUP_ROOT="$NODE_CGROUP_ROOT" NODE_NAME="$NODE_NAME" CONTAINERD_SOCKET="$CONTAINERD_SOCKET"
    KUBE_PROXY_KUBECONFIG="$PKI/kube-proxy$NODE_SUFFIX.kubeconfig"
    SANDBOX_IMAGE="$(image_ref pause)")
  fill node/containerd.toml "${values[@]}" >"$NODE_DIR/containerd.toml"
  # The pods' network: the node's /24 on its bridge, addresses kept in the node's state, no
  # masquerade (there is nothing outside the nodes to reach).
  fill node/cni.conflist "${values[@]}" >"$NODE_DIR/cni/10-exchange.conflist"
  fill node/kubelet.yaml "${values[@]}" >"$NODE_DIR/kubelet.yaml"
  fill node/kube-proxy.yaml "${values[@]}" >"$NODE_DIR/kube-proxy.yaml"
  if ((NODE_INDEX == 1)); then
    fill node/egress-selector.yaml "${values[@]}" >"$STATE/egress-selector.yaml"
  fi
}

# The credentials every node shares: the API server's as the kubelets' client, kube-proxy's.
prepare_nodes() {
  client_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  client_cert kube-proxy "/CN=system:kube-proxy"
  for_each_node prepare_node
}

# --- images ----------------------------------------------------------------------------------

# Every image the cluster and the platform run is built here (images/build.sh prints one
# "<ref> <archive>" line per image) and imported into containerd: nothing can be pulled. An
# add-on's image only when the cluster runs that add-on.
build_images() {
  local addons=()
  ! enables_metrics_server || addons+=(metrics-server)
  ! enables_prometheus || addons+=(prometheus)
  log "building or reusing the images (images/build.sh)"
  {
    "$REPO_DIR/images/build.sh" || die "images/build.sh failed"
    ((${#addons[@]} == 0)) || "$REPO_DIR/images/build.sh" "${addons[@]}" || die "images/build.sh ${addons[*]} failed"
  } >"$IMAGE_LIST.partial"
  mv "$IMAGE_LIST.partial" "$IMAGE_LIST"
}

# image_ref NAME: the built image whose repository is localhost/exchange/NAME.
image_ref() {
  local ref
  ref="$(awk -v repo="localhost/exchange/$1" 'index($1, repo ":") == 1 { print $1; exit }' "$IMAGE_LIST")"
  [[ -n "$ref" ]] || die "images/build.sh built no localhost/exchange/$1 image"
  echo "$ref"
}

# import_images: each archive into containerd's k8s.io namespace, skipped when containerd already
# has that archive (same path, size and time) under that name.
import_images() {
  local ref archive stamp_dir="$NODE_DIR/imported" stamp output
  mkdir -p "$stamp_dir"
  while read -r ref archive; do
    [[ -n "$ref" ]] || continue
    stamp="$stamp_dir/$(sha256sum <<<"$ref" | cut -c1-16)"
    if [[ "$(cat "$stamp" 2>/dev/null)" == "$(stat -c '%n %s %Y' "$archive")" ]] \
      && "${CTR[@]}" -n k8s.io images ls -q "name==$ref" 2>/dev/null | grep -q .; then
      continue
    fi
    log "importing $ref"
    # ctr's own chatter (a cgroup v1 deprecation notice on every call) only matters on failure.
    output="$("${CTR[@]}" -n k8s.io images import "$archive" 2>&1)" \
      || die "could not import $archive: $output"
    "${CTR[@]}" -n k8s.io images ls -q "name==$ref" 2>/dev/null | grep -q . \
      || die "$archive did not give an image named $ref"
    stat -c '%n %s %Y' "$archive" >"$stamp"
  done <"$IMAGE_LIST"
}

# --- components ------------------------------------------------------------------------------

start_containerd() {
  launch_in_node "containerd$NODE_SUFFIX" "$(command -v containerd)" --config "$NODE_DIR/containerd.toml"
}

start_kubelet() {
  launch_in_node "kubelet$NODE_SUFFIX" "$(command -v kubelet)" --config="$NODE_DIR/kubelet.yaml" \
    --kubeconfig="$PKI/kubelet$NODE_SUFFIX.kubeconfig" --root-dir="$NODE_DIR/kubelet" \
    --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" \
    --node-labels="topology.kubernetes.io/zone=$NODE_ZONE"
}

start_kube_proxy() {
  launch_in_node "kube-proxy$NODE_SUFFIX" "$(command -v kube-proxy)" --config="$NODE_DIR/kube-proxy.yaml"
}

# The selected node's namespace, its way to the API server, its link to the other nodes.
start_node_namespaces() {
  start_node_namespace
  wait_up "node-namespace$NODE_SUFFIX" 20
  start_api_forwarder_node
  (($(node_count) == 1)) || connect_node
}

# The selected node's runtime with the images; its kubelet and kube-proxy.
start_node_runtime() {
  start_containerd
  wait_up "containerd$NODE_SUFFIX" 60
  import_images
  start_kubelet
  start_kube_proxy
}

wait_node_agents() {
  wait_up "kubelet$NODE_SUFFIX" 60
  wait_up "kube-proxy$NODE_SUFFIX" 60
}

start_nodes() {
  register_node
  create_node_cgroups
  start_api_forwarder_host
  if (($(node_count) > 1)); then
    start_pod_network
    wait_up pod-network 20
  fi
  for_each_node start_node_namespaces
  start_kubelet_egress
  for_each_node start_node_runtime
  for_each_node wait_node_agents
  start_volume_recycler
}

# The pool's recycler runs on the host: the volumes' folders are the host's, whichever node mounts
# them. volume-recycler.sh says why not Kubernetes' own recycler.
start_volume_recycler() {
  # argv[0] is a path in the state folder, for is_ours (the script's own would be bash's).
  # shellcheck disable=SC2016 # expanded by the inner bash
  launch volume-recycler bash -c 'exec -a "$0" bash "$@"' "$RUN/volume-recycler" \
    "$CLUSTER_DIR/lib/volume-recycler.sh" "$KUBECONFIG_FILE" "$VOLUMES"
}

# stop_node: every node's components (the NetworkPolicy enforcers first, whether or not this start
# had them), then whatever they left running, then the machine record.
stop_node() {
  local components i
  mapfile -t components < <(node_components; network_policies_components)
  for ((i = ${#components[@]} - 1; i >= 0; i--)); do stop_component "${components[i]}"; done
  remove_node_cgroups
  unregister_node
}

# kill_node: the selected node lost, as a machine that loses power: its link to the other nodes
# goes down, and its agents and every container are killed at once (SIGKILL, no clean-up); its
# namespace stays, holding nothing that answers. Not node 1, whose namespace carries the API
# server's ways into the cluster.
kill_node() {
  local name pids
  ((NODE_INDEX > 1)) || die "node 1 carries the API server's ways into the cluster; lose another one"
  node_exec ip link set eth0 down
  for name in kube-network-policies kubelet kube-proxy containerd api-forwarder-node; do
    name+="$NODE_SUFFIX"
    if running "$name"; then kill -KILL "$(pid_of "$name")"; fi
  done
  pids="$(cgroup_pids "${NODE_CGROUP_ROOT#/}")"
  # shellcheck disable=SC2086 # a list of pids
  [[ -z "$pids" ]] || kill -KILL $pids 2>/dev/null || true
  log "node $NODE_NAME lost: link down, agents and $(wc -w <<<"$pids") container processes killed"
}

# --- cluster objects -------------------------------------------------------------------------

node_objects() {
  local i crd traefik_crd_file
  traefik_crd_file="$(traefik_crds)"
  echo ---
  fill addons/kubernetes-endpoints.yaml NODE_IP="$NODE_IP" NODE_API_PORT="$NODE_API_PORT"
  for ((i = 1; i <= PV_COUNT; i++)); do
    # World-writable: each pod writes as its own user, and hostPath volumes get no fsGroup.
    mkdir -p "$VOLUMES/pv-$i" && chmod 0777 "$VOLUMES/pv-$i"
    echo ---
    fill manifests/persistent-volume.yaml NAME="exchange-pv-$i" PATH="$VOLUMES/pv-$i"
  done
  for crd in "$GATEWAY_API_CRDS"/*.yaml; do echo ---; cat "$crd"; done
  echo ---
  cat "$traefik_crd_file"
  echo ---
  fill addons/coredns.yaml CLUSTER_DNS_IP="$CLUSTER_DNS_IP" COREDNS_IMAGE="$(image_ref coredns)"
  echo ---
  fill addons/traefik.yaml INGRESS_IP="$INGRESS_IP" TRAEFIK_IMAGE="$(image_ref traefik)"
}

# traefik_crds: the file of Traefik's CRDs (traefik.io) in the module of the exact version the
# node's Traefik image is built from (images/traefik/go.mod names it), so the two never differ.
traefik_crds() {
  local dir file
  dir="$(cd "$REPO_DIR/images/traefik" && module_dir github.com/traefik/traefik/v3)" || return 1
  file="$dir/docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml"
  [[ -s "$file" ]] || die "no Traefik CRDs at $file"
  printf '%s\n' "$file"
}

# The Gateway and GatewayClass need the CRDs established first, so they go in a second apply.
node_gateway_objects() { cat "$CLUSTER_DIR/addons/gateway.yaml"; }

# wait_for_nodes SINCE: until every node is Ready and the add-ons serve, logging when each got
# there (seconds since SECONDS was SINCE).
wait_for_nodes() {
  local since="$1" i
  for ((i = 1; i <= $(node_count); i++)); do
    select_node "$i"
    kubectl wait --for=condition=Ready "node/$NODE_NAME" --timeout=90s >/dev/null \
      || die "node $NODE_NAME not Ready; see $LOGS/kubelet$NODE_SUFFIX.log"
  done
  select_node 1
  log "$(node_count) node(s) Ready after $((SECONDS - since)) s"
  kubectl wait --for=condition=Established crd --all --timeout=60s >/dev/null \
    || die "Gateway API and Traefik CRDs not established"
  node_gateway_objects | kubectl apply -f - >/dev/null
  kubectl -n kube-system rollout status deployment/coredns --timeout=120s >/dev/null \
    || die "CoreDNS not ready; see kubectl -n kube-system describe pods -l k8s-app=kube-dns"
  kubectl -n traefik rollout status deployment/traefik --timeout=120s >/dev/null \
    || die "Traefik not ready; see kubectl -n traefik describe pods"
  log "CoreDNS and Traefik ready after $((SECONDS - since)) s"
}
