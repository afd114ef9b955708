#!/usr/bin/env bash
# A local Kubernetes cluster for `pulumi up` and the end-to-end tests, with no container runtime:
# etcd, kube-apiserver, kube-controller-manager and kube-scheduler run as plain processes, and
# kwok plays two fake nodes (pods are scheduled and marked Ready, nothing runs). Everything
# listens on 127.0.0.1 only.
#
#   cluster/local-cluster.sh start          start (or say it is running); builds binaries if needed
#   cluster/local-cluster.sh stop [--purge] stop every component; --purge also wipes all state
#   cluster/local-cluster.sh status         one line per component; non-zero if any is down
#   cluster/local-cluster.sh env            prints `export KUBECONFIG=...`
#   cluster/local-cluster.sh restart NAME   restart one component of a running cluster (fault tests)
#
# Pods get fake 10.244.x.y IPs and Services fake 10.96.x.y IPs: they are only values in the API,
# never dial them (nothing listens there, and traffic off loopback is not allowed on these hosts).
set -euo pipefail

CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$CLUSTER_DIR")"
# shellcheck source-path=SCRIPTDIR source=../toolchain/lib.sh
. "$REPO_DIR/toolchain/lib.sh"

STATE="${EXCHANGE_CLUSTER_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/exchange-platform/cluster}"
PKI="$STATE/pki"
RUN="$STATE/run"
LOGS="$STATE/logs"
VOLUMES="$STATE/volumes"
KUBECONFIG_FILE="$STATE/kubeconfig"
# Written when the state folder is created; start refuses, and `stop --purge` never wipes, a
# non-empty folder without it, so a mistyped EXCHANGE_CLUSTER_STATE cannot touch anything else.
MARKER="$STATE/.exchange-local-cluster"

CONTEXT=exchange-local
# EXCHANGE_CLUSTER_PORT_OFFSET shifts every port, so a second cluster (the test command's own,
# with its own EXCHANGE_CLUSTER_STATE) runs beside the one `deploy:dev` started.
PORT_OFFSET="${EXCHANGE_CLUSTER_PORT_OFFSET:-0}"
ETCD_PORT=$((12379 + PORT_OFFSET))
ETCD_PEER_PORT=$((12380 + PORT_OFFSET))
API_PORT=$((16443 + PORT_OFFSET))
KCM_PORT=$((16257 + PORT_OFFSET))
SCHEDULER_PORT=$((16259 + PORT_OFFSET))
SERVICE_CIDR=10.96.0.0/16
POD_CIDR=10.244.0.0/16
NODES=(exchange-worker-1 exchange-worker-2)
PV_COUNT=6

# Start order; stop goes the other way.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

usage() { sed -n '7,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# --- processes -------------------------------------------------------------------------------

pid_of() { cat "$RUN/$1.pid" 2>/dev/null || true; }

# is_ours NAME PID: the process runs the component's binary with this state folder in its
# arguments, so a pid reused by an unrelated process (after a reboot or crash) is never touched.
is_ours() {
  local name="$1" pid="$2" argv0 args
  [[ "$pid" =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
  args="$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  argv0="$(head -n 1 <<<"$args")"
  [[ "$(basename "$argv0")" == "$name" && "$args" == *"$STATE/"* ]]
}

running() { local pid; pid="$(pid_of "$1")"; is_ours "$1" "$pid"; }

# healthy NAME: the component answers its own health check (kwok has no endpoint of its own
# here; start checks its work instead, by waiting for the nodes to turn Ready).
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
  esac
}

up() { running "$1" && healthy "$1"; }

# launch NAME CMD...: runs CMD detached in its own session (so it outlives the calling shell and
# its Ctrl-C), with its output in logs/NAME.log; the pid file is written by the process itself
# just before it becomes CMD, so it is the component's own pid.
launch() {
  local name="$1"; shift
  local logfile="$LOGS/$name.log"
  [[ -f "$logfile" ]] && mv -f "$logfile" "$logfile.prev"
  rm -f "$RUN/$name.pid"
  # shellcheck disable=SC2016 # expanded by the inner bash, on purpose
  # fd 8 (the state lock) is closed so the long-lived component does not hold the lock.
  setsid -f bash -c 'echo $$ >"$0"; exec "$@"' "$RUN/$name.pid" "$@" </dev/null >"$logfile" 2>&1 8>&-
  local i
  for ((i = 0; i < 50; i++)); do [[ -s "$RUN/$name.pid" ]] && return 0; sleep 0.1; done
  die "$name did not start; see $logfile"
}

# wait_up NAME SECONDS: until the component is healthy; fails early if its process died.
wait_up() {
  local name="$1" deadline=$((SECONDS + $2))
  until healthy "$name"; do
    if ! running "$name"; then
      log "$name exited; last lines of $LOGS/$name.log:"
      tail -n 30 "$LOGS/$name.log" >&2
      die "$name failed to start"
    fi
    ((SECONDS < deadline)) || die "$name not healthy after $2 s; see $LOGS/$name.log"
    sleep 0.5
  done
}

stop_component() {
  local name="$1" pid i
  pid="$(pid_of "$name")"
  if is_ours "$name" "$pid"; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do is_ours "$name" "$pid" || break; sleep 0.1; done
    if is_ours "$name" "$pid"; then
      log "$name ignored TERM for 15 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do is_ours "$name" "$pid" || break; sleep 0.1; done
    fi
  fi
  rm -f "$RUN/$name.pid"
}

stop_all() {
  local i
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do stop_component "${COMPONENTS[i]}"; done
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- certificates and kubeconfigs ------------------------------------------------------------

new_ca() { # NAME SUBJECT
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.crt" -days 3650 -sha256 \
    -subj "$2" 2>/dev/null
}

# sign CA NAME SUBJECT EXTENSIONS: a key and a certificate for NAME signed by CA.
sign() {
  local ca="$1" name="$2" subject="$3" extensions="$4"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "$subject" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial -days 3650 -sha256 \
    -extfile <(printf '%s\n' "$extensions") -out "$name.crt" 2>/dev/null
  rm -f "$name.csr"
}

write_kubeconfig() { # FILE USER CERT_NAME
  local file="$1" user="$2" cert="$3"
  local k=(kubectl config --kubeconfig="$file")
  "${k[@]}" set-cluster "$CONTEXT" --server="https://127.0.0.1:$API_PORT" \
    --certificate-authority="$PKI/ca.crt" --embed-certs=true >/dev/null
  "${k[@]}" set-credentials "$user" --client-certificate="$PKI/$cert.crt" \
    --client-key="$PKI/$cert.key" --embed-certs=true >/dev/null
  "${k[@]}" set-context "$CONTEXT" --cluster="$CONTEXT" --user="$user" >/dev/null
  "${k[@]}" use-context "$CONTEXT" >/dev/null
  chmod 600 "$file"
}

# Made once, at the first start: a CA, the apiserver's serving cert, a client cert per identity,
# the front-proxy (request-header) CA and client, the service-account signing key pair, and the
# kubeconfigs that use them.
ensure_pki() {
  [[ -f "$PKI/.complete" ]] && return 0
  log "creating certificates and kubeconfigs in $PKI"
  rm -rf "$PKI" "$KUBECONFIG_FILE"
  mkdir -p "$PKI"
  (
    cd "$PKI"
    umask 077
    new_ca ca "/CN=$CONTEXT-ca"
    # 10.96.0.1 is the "kubernetes" Service's address, which in-cluster clients would use.
    sign ca apiserver "/CN=kube-apiserver" "$(printf '%s\n' \
      'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=serverAuth' \
      'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local')"
    local client='keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth'
    sign ca admin "/O=system:masters/CN=$CONTEXT-admin" "$client"
    sign ca kube-controller-manager "/CN=system:kube-controller-manager" "$client"
    sign ca kube-scheduler "/CN=system:kube-scheduler" "$client"
    # The apiserver publishes the request-header CA for delegated authentication; without one the
    # controller-manager and scheduler log an error about it every few seconds, forever.
    new_ca front-proxy-ca "/CN=$CONTEXT-front-proxy-ca"
    sign front-proxy-ca front-proxy-client "/CN=front-proxy-client" "$client"
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  )
  write_kubeconfig "$KUBECONFIG_FILE" "$CONTEXT-admin" admin
  write_kubeconfig "$PKI/kube-controller-manager.kubeconfig" system:kube-controller-manager kube-controller-manager
  write_kubeconfig "$PKI/kube-scheduler.kubeconfig" system:kube-scheduler kube-scheduler
  touch "$PKI/.complete"
}

# --- components ------------------------------------------------------------------------------

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
  # The "kubernetes" Service gets no endpoints (--endpoint-reconciler-type=none): they would be
  # the advertise address, 127.0.0.1, which Endpoints validation rejects (loopback), so the
  # reconciler would fail and log every 10 s. Nothing in this cluster runs that could use them.
  # Without a watch grace period, a TERM leaves it waiting a minute for its clients' open watches.
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
    --authorization-mode=Node,RBAC --allow-privileged=true --profiling=false
}

start_kube_controller_manager() {
  # Leader election is pointless with one instance and only delays the controllers' start. The
  # flex-volume folder defaults to one under /usr/libexec, which it would create.
  launch kube-controller-manager "$(command -v kube-controller-manager)" \
    --bind-address=127.0.0.1 --secure-port="$KCM_PORT" --cert-dir="$STATE/kube-controller-manager" \
    --flex-volume-plugin-dir="$STATE/kube-controller-manager/flexvolume" \
    --kubeconfig="$PKI/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig="$PKI/kube-controller-manager.kubeconfig" \
    --authorization-kubeconfig="$PKI/kube-controller-manager.kubeconfig" \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
    --use-service-account-credentials=true --cluster-name="$CONTEXT" \
    --leader-elect=false --profiling=false
}

start_kube_scheduler() {
  launch kube-scheduler "$(command -v kube-scheduler)" \
    --bind-address=127.0.0.1 --secure-port="$SCHEDULER_PORT" --cert-dir="$STATE/kube-scheduler" \
    --kubeconfig="$PKI/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig="$PKI/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig="$PKI/kube-scheduler.kubeconfig" \
    --leader-elect=false --profiling=false
}

start_kwok() {
  # Upstream's stages (installed next to the binary by build-cluster.sh) plus ours (load-balancer
  # status, volume recycling). The node IP is loopback so that anything that would talk to a "kubelet"
  # stays on this machine; no kwok server is started, so nothing listens for it. KWOK_WORKDIR
  # keeps a developer's own ~/.kwok/kwok.yaml out of this cluster. The kwok binary's lease
  # duration defaults to 0, i.e. no node leases (kwokctl sets 40); upstream's heartbeat-with-lease
  # stage, like kwokctl, relies on leases for liveness and refreshes node status only every 10 min.
  local stages
  stages="$(printf '%s,' "$KWOK_STAGES"/*.yaml "$CLUSTER_DIR"/kwok/*.yaml)"
  KWOK_WORKDIR="$STATE/kwok" launch kwok "$(command -v kwok)" \
    --kubeconfig="$KUBECONFIG_FILE" --config="${stages%,}" \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --node-ip=127.0.0.1 --cidr="$POD_CIDR" --node-lease-duration-seconds=40
}

# fill TEMPLATE NAME [PATH]: a manifest from cluster/manifests with its placeholders filled in.
fill() { sed -e "s|@NAME@|$2|g" -e "s|@PATH@|${3:-}|g" "$CLUSTER_DIR/manifests/$1"; }

apply_cluster_objects() {
  local i node
  {
    cat "$CLUSTER_DIR/manifests/cluster.yaml"
    for node in "${NODES[@]}"; do echo ---; fill node.yaml "$node"; done
    for ((i = 1; i <= PV_COUNT; i++)); do
      mkdir -p "$VOLUMES/pv-$i"
      echo ---; fill persistent-volume.yaml "exchange-pv-$i" "$VOLUMES/pv-$i"
    done
  } | kubectl apply -f - >/dev/null
}

wait_for_default_service_account() {
  local deadline=$((SECONDS + 60))
  until kubectl get serviceaccount default --namespace default >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "no default ServiceAccount after 60 s; see $LOGS/kube-controller-manager.log"
    sleep 0.5
  done
}

# lock_state: one start or stop at a time (parallel test runners may all call start).
lock_state() {
  if [[ -d "$STATE" && ! -f "$MARKER" && -n "$(ls -A "$STATE")" ]]; then
    die "$STATE is not empty and was not made by this script; set EXCHANGE_CLUSTER_STATE to another folder"
  fi
  mkdir -p "$STATE" "$RUN" "$LOGS" "$VOLUMES"
  touch "$MARKER"
  exec 8>"$STATE/.lock"
  flock 8
}

all_up() { local c; for c in "${COMPONENTS[@]}"; do up "$c" || return 1; done; }

use_built_binaries() {
  eval "$("$REPO_DIR/toolchain/build-cluster.sh")"
  KWOK_STAGES="$EXCHANGE_CACHE/kwok-v$KWOK_VERSION/stages"
  export KUBECONFIG="$KUBECONFIG_FILE"
}

# --- commands --------------------------------------------------------------------------------

cmd_start() {
  local began=$SECONDS
  lock_state
  if all_up; then
    log "cluster already running (context $CONTEXT, https://127.0.0.1:$API_PORT)"
    return 0
  fi
  # Whatever is left of an earlier run (a crash, a half-finished start) goes first, so every
  # component starts from a known state.
  stop_all
  use_built_binaries
  local port
  for port in "$ETCD_PORT" "$ETCD_PEER_PORT" "$API_PORT" "$KCM_PORT" "$SCHEDULER_PORT"; do
    ! port_in_use "$port" || die "127.0.0.1:$port is in use by a process this script did not start"
  done
  ensure_pki

  start_etcd
  wait_up etcd 60
  start_kube_apiserver
  wait_up kube-apiserver 120
  start_kube_controller_manager
  start_kube_scheduler
  start_kwok
  wait_up kube-controller-manager 60
  wait_up kube-scheduler 60

  apply_cluster_objects
  kubectl wait --for=condition=Ready node "${NODES[@]}" --timeout=60s >/dev/null \
    || die "fake nodes not Ready; see $LOGS/kwok.log"
  wait_for_default_service_account
  log "cluster ready in $((SECONDS - began)) s: context $CONTEXT, https://127.0.0.1:$API_PORT"
  log "use it with: eval \"\$(cluster/local-cluster.sh env)\""
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
# restart would; the others reconnect by themselves.
cmd_restart() {
  local name="${1:-}"
  [[ " ${COMPONENTS[*]} " == *" $name "* ]] || usage
  lock_state
  all_up || die "cluster is not running; use start"
  use_built_binaries
  stop_component "$name"
  "start_${name//-/_}"
  wait_up "$name" 120
  log "$name restarted"
}

cmd_status() {
  local c pid down=0 detail
  for c in "${COMPONENTS[@]}"; do
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

case "${1:-}" in
  start) cmd_start ;;
  stop) shift; cmd_stop "$@" ;;
  status) cmd_status ;;
  restart) shift; cmd_restart "$@" ;;
  env) printf 'export KUBECONFIG=%q\n' "$KUBECONFIG_FILE" ;;
  *) usage ;;
esac
