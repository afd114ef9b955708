# NetworkPolicies on the real nodes (`start --network-policies`): kube-network-policies, built from
# its Go module (toolchain/build-cluster.sh network-policies), runs beside kube-proxy as a process
# in each node's namespaces (one per node, as upstream's DaemonSet), judging the connections that
# leave that node's pods and namespace. Source it.
#
# Its design (upstream's): the first packet of each new connection goes to it through an NFQUEUE;
# it finds the pods behind both addresses in its informers, evaluates the NetworkPolicies that
# select them and answers accept or drop. Later packets of an accepted connection pass on
# conntrack's ESTABLISHED state without asking again.
#
# Two things differ from upstream's DaemonSet, both for this node:
# - Steering. Upstream writes an nftables table whose rules end in nftables' `queue` statement,
#   which this machine's kernel lacks (CONFIG_NFT_QUEUE unset; the xt NFQUEUE target is built in):
#   that table never loads, and the enforcer logs each failed sync ("syncing nftables rules").
#   The node steers packets to the same queue with iptables instead (steer_new_connections):
#   every new connection at POSTROUTING, after kube-proxy's DNAT, so a connection to a Service
#   address is judged by the pod behind it. Upstream queues only connections of pods that some
#   policy selects; here every pod's new connection is judged, and one that no policy selects is
#   accepted. As upstream (its `meta skuid 0 accept`), connections that the node's own root
#   processes open are not judged: the kubelet's probes, and `local-cluster.sh netns-exec` / `curl`.
# - Credentials. v0.8.0 reads only in-cluster credentials (no --kubeconfig): a token of its
#   ServiceAccount and the cluster CA at the fixed path client-go reads, which here is in the
#   node's own /run (a tmpfs of its mount namespace, gone with the node), and the "kubernetes"
#   Service's address in its environment, reached through kube-proxy as a pod reaches it.
#
# Fail closed: --fail-open=false and a queue rule without a bypass, so while the enforcer is not
# running (crashed, being restarted) the kernel drops the new connections it would have judged,
# rather than letting them through unjudged. TERM (stop, restart) ends v0.8.0 at once, without
# its clean-up (it handles only SIGINT), which is what keeps that so.
# shellcheck shell=bash

NETWORK_POLICIES_QUEUE=100
NETWORK_POLICIES_CHAIN=EXCHANGE-NETWORK-POLICIES
# Loopback of the node's namespace: nothing outside the node reads the enforcer's metrics.
NETWORK_POLICIES_METRICS=127.0.0.1:9080
SERVICE_ACCOUNT_DIR=/run/secrets/kubernetes.io/serviceaccount
# The "kubernetes" Service, which the API server's certificate names (pki.sh).
KUBERNETES_SERVICE_ADDRESS=10.96.0.1
# Every start and restart issues a new token; a year outlasts any run of a local cluster.
NETWORK_POLICIES_TOKEN_DURATION=8760h

enforces_network_policies() { [[ -f "$NETWORK_POLICIES_FILE" ]]; }

# Healthy: it listens on its queue (it binds it once its informers have synced) and the node
# steers connections to that queue.
network_policies_healthy() {
  # shellcheck disable=SC2016 # an awk program
  node_exec awk -v queue="$NETWORK_POLICIES_QUEUE" '$1 == queue { bound = 1 } END { exit !bound }' \
    /proc/net/netfilter/nfnetlink_queue \
    && node_exec iptables -w 10 -t mangle -C POSTROUTING -j "$NETWORK_POLICIES_CHAIN" 2>/dev/null
}

# The ServiceAccount's token and the cluster CA where rest.InClusterConfig reads them.
write_network_policies_credentials() {
  local token
  token="$(kubectl --namespace kube-system create token kube-network-policies \
    --duration="$NETWORK_POLICIES_TOKEN_DURATION")" || die "could not issue a token for kube-network-policies"
  node_exec install -d -m 0700 "$SERVICE_ACCOUNT_DIR"
  node_exec install -m 0644 "$PKI/ca.crt" "$SERVICE_ACCOUNT_DIR/ca.crt"
  # shellcheck disable=SC2016 # expanded by the inner sh
  printf '%s' "$token" | node_exec sh -c 'umask 077 && cat >"$1"' sh "$SERVICE_ACCOUNT_DIR/token"
}

# Every new connection leaving through POSTROUTING to the enforcer's queue, except those the
# node's root processes open; replaced as a whole (iptables-restore declares the chain anew), so
# a restart never leaves a moment without the rule.
steer_new_connections() {
  printf '%s\n' '*mangle' ":$NETWORK_POLICIES_CHAIN - [0:0]" \
    "-A $NETWORK_POLICIES_CHAIN -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN" \
    "-A $NETWORK_POLICIES_CHAIN -m owner --uid-owner 0 -j RETURN" \
    "-A $NETWORK_POLICIES_CHAIN -j NFQUEUE --queue-num $NETWORK_POLICIES_QUEUE" \
    COMMIT | node_exec iptables-restore -w 10 --noflush
  node_exec iptables -w 10 -t mangle -C POSTROUTING -j "$NETWORK_POLICIES_CHAIN" 2>/dev/null \
    || node_exec iptables -w 10 -t mangle -I POSTROUTING -j "$NETWORK_POLICIES_CHAIN"
}

# On the selected node, after kube-proxy (the API server is reached through the "kubernetes"
# Service) and the cluster objects (that Service's endpoint). The steering goes first: from then on nothing passes
# unjudged; until the enforcer listens, the kernel drops what it would judge (TCP retries).
start_kube_network_policies() {
  kubectl apply -f "$CLUSTER_DIR/addons/kube-network-policies.yaml" >/dev/null
  write_network_policies_credentials
  steer_new_connections
  # argv[0] carries the state folder, for is_ours: none of its flags names a file.
  # shellcheck disable=SC2016 # expanded by the inner bash
  KUBERNETES_SERVICE_HOST=$KUBERNETES_SERVICE_ADDRESS KUBERNETES_SERVICE_PORT=443 launch_in_node "kube-network-policies$NODE_SUFFIX" \
    bash -c 'exec -a "$0" "$@"' "$RUN/kube-network-policies$NODE_SUFFIX" "$(command -v kube-network-policies)" \
    --hostname-override="$NODE_NAME" --nfqueue-id="$NETWORK_POLICIES_QUEUE" --fail-open=false \
    --metrics-bind-address="$NETWORK_POLICIES_METRICS"
}

# network_policies_components: the enforcers' component names, one per node.
network_policies_components() {
  local i
  for ((i = 1; i <= $(node_count); i++)); do select_node "$i"; echo "kube-network-policies$NODE_SUFFIX"; done
  select_node 1
}

start_network_policies_on_node() {
  start_kube_network_policies
  wait_up "kube-network-policies$NODE_SUFFIX" 60
}
