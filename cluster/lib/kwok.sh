# kwok: with NODE_KIND=kwok it plays two fake nodes (pods are scheduled and marked Ready, nothing
# runs) and the cloud's load balancer, ingress controller and volume recycler; beside a real node,
# when the cluster is started with --load-balancer, only the load balancer, which nothing else here
# provides. Source it.
# shellcheck shell=bash

KWOK_NODES=(exchange-worker-1 exchange-worker-2)

# kwok_stages: the Stage files kwok loads, comma-separated: upstream's (installed next to the
# binary by build-cluster.sh) and ours, with the load balancer's address filled in.
kwok_stages() {
  local stages=() lb_ip=127.0.0.1 file
  if [[ "$NODE_KIND" == real ]]; then
    lb_ip="$NODE_IP"
  else
    stages+=("$KWOK_STAGES"/*.yaml "$CLUSTER_DIR/kwok/ingress-load-balancer.yaml" "$CLUSTER_DIR/kwok/local-volume-recycle.yaml")
  fi
  file="$STATE/kwok/service-load-balancer.yaml"
  mkdir -p "$STATE/kwok"
  fill kwok/service-load-balancer.yaml LOAD_BALANCER_IP="$lb_ip" >"$file"
  stages+=("$file")
  local IFS=,
  echo "${stages[*]}"
}

start_kwok() {
  # The node IP is loopback so that anything that would talk to a "kubelet" stays on this
  # machine; no kwok server is started, so nothing listens for it. KWOK_WORKDIR keeps a
  # developer's own ~/.kwok/kwok.yaml out of this cluster. The kwok binary's lease duration
  # defaults to 0, i.e. no node leases (kwokctl sets 40); upstream's heartbeat-with-lease stage,
  # like kwokctl, relies on leases for liveness and refreshes node status only every 10 min. It
  # manages only nodes carrying the kwok annotation, so a real node's pods are never touched.
  KWOK_WORKDIR="$STATE/kwok" launch kwok "$(command -v kwok)" \
    --kubeconfig="$KUBECONFIG_FILE" --config="$(kwok_stages)" \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --node-ip=127.0.0.1 --cidr="$POD_CIDR" --node-lease-duration-seconds=40
}

# kwok_objects: the fake nodes and the pre-made volumes, as one YAML stream.
kwok_objects() {
  local i node
  for node in "${KWOK_NODES[@]}"; do echo ---; fill manifests/node.yaml NAME="$node"; done
  for ((i = 1; i <= PV_COUNT; i++)); do
    mkdir -p "$VOLUMES/pv-$i"
    echo ---
    fill manifests/persistent-volume.yaml NAME="exchange-pv-$i" PATH="$VOLUMES/pv-$i"
  done
}

wait_for_kwok_nodes() {
  kubectl wait --for=condition=Ready node "${KWOK_NODES[@]}" --timeout=60s >/dev/null \
    || die "fake nodes not Ready; see $LOGS/kwok.log"
}
