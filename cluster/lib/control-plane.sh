# etcd, kube-apiserver, kube-controller-manager and kube-scheduler as plain processes on
# 127.0.0.1. Source it; NODE_KIND (kwok or real) selects the few flags only a real node needs.
# shellcheck shell=bash

# shellcheck disable=SC2034 # read by ../local-cluster.sh
CONTROL_PLANE=(etcd kube-apiserver kube-controller-manager kube-scheduler)

# healthy NAME: the component answers its own health check (kwok has no endpoint of its own
# here; start checks its work instead, by waiting for the nodes to turn Ready). The real node's
# components are checked in node.sh.
healthy() {
  local c=(curl --silent --fail --noproxy '*' --max-time 3 --output /dev/null)
  case "$1" in
    etcd) "${c[@]}" "http://127.0.0.1:$ETCD_PORT/health" ;;
    kube-apiserver)
      "${c[@]}" --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
        "https://127.0.0.1:$API_PORT/readyz" ;;
    # Self-signed serving certs (written to their --cert-dir); /healthz needs no credentials.
    kube-controller-manager) "${c[@]}" --insecure "https://127.0.0.1:$KCM_PORT/healthz" ;;
    kube-scheduler) "${c[@]}" --insecure "https://127.0.0.1:$SCHEDULER_PORT/healthz" ;;
    kwok) true ;;
    *) node_healthy "$1" ;;
  esac
}

start_etcd() {
  launch etcd "$(command -v etcd)" \
    --name="$CONTEXT" --data-dir="$STATE/etcd" \
    --listen-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="$CONTEXT=http://127.0.0.1:$ETCD_PEER_PORT"
}

start_kube_apiserver() {
  # The "kubernetes" Service gets no endpoints from the apiserver (--endpoint-reconciler-type=none):
  # they would be the advertise address, 127.0.0.1, which Endpoints validation rejects (loopback),
  # so the reconciler would fail and log every 10 s. A real node gets a hand-made EndpointSlice
  # instead (node.sh). Without a watch grace period, a TERM leaves it waiting a minute for its
  # clients' open watches.
  local node_flags=()
  [[ "$NODE_KIND" == real ]] && node_flags=("${APISERVER_NODE_FLAGS[@]}")
  launch kube-apiserver "$(command -v kube-apiserver)" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$API_PORT" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
    --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$PKI/front-proxy-client.crt" \
    --proxy-client-key-file="$PKI/front-proxy-client.key" \
    --endpoint-reconciler-type=none --shutdown-watch-termination-grace-period=2s \
    --authorization-mode=Node,RBAC --allow-privileged=true --profiling=false \
    "${node_flags[@]}"
}

start_kube_controller_manager() {
  # Leader election is pointless with one instance and only delays the controllers' start. The
  # flex-volume folder defaults to one under /usr/libexec, which it would create.
  local node_flags=()
  [[ "$NODE_KIND" == real ]] && node_flags=("${CONTROLLER_MANAGER_NODE_FLAGS[@]}")
  launch kube-controller-manager "$(command -v kube-controller-manager)" \
    --bind-address=127.0.0.1 --secure-port="$KCM_PORT" --cert-dir="$STATE/kube-controller-manager" \
    --flex-volume-plugin-dir="$STATE/kube-controller-manager/flexvolume" \
    --kubeconfig="$PKI/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig="$PKI/kube-controller-manager.kubeconfig" \
    --authorization-kubeconfig="$PKI/kube-controller-manager.kubeconfig" \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
    --use-service-account-credentials=true --cluster-name="$CONTEXT" \
    --leader-elect=false --profiling=false \
    "${node_flags[@]}"
}

start_kube_scheduler() {
  launch kube-scheduler "$(command -v kube-scheduler)" \
    --bind-address=127.0.0.1 --secure-port="$SCHEDULER_PORT" --cert-dir="$STATE/kube-scheduler" \
    --kubeconfig="$PKI/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig="$PKI/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig="$PKI/kube-scheduler.kubeconfig" \
    --leader-elect=false --profiling=false
}

wait_for_default_service_account() {
  local deadline=$((SECONDS + 60))
  until kubectl get serviceaccount default --namespace default >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "no default ServiceAccount after 60 s; see $LOGS/kube-controller-manager.log"
    sleep 0.5
  done
}
