# The local cluster's state folder, ports and process handling, shared by every part of
# ../local-cluster.sh. Source it; it defines variables and functions only.
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables here are read by the files that source this one

STATE="${EXCHANGE_CLUSTER_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/exchange-platform/cluster}"
PKI="$STATE/pki"
RUN="$STATE/run"
LOGS="$STATE/logs"
VOLUMES="$STATE/volumes"
KUBECONFIG_FILE="$STATE/kubeconfig"
# Written when the state folder is created; start refuses, and `stop --purge` never wipes, a
# non-empty folder without it, so a mistyped EXCHANGE_CLUSTER_STATE cannot touch anything else.
MARKER="$STATE/.exchange-local-cluster"
# The node kind (kwok or real) the cluster was started with; every later command reads it here.
NODE_KIND_FILE="$STATE/node-kind"
# Present when kwok plays the cloud's load balancer beside a real node (start --load-balancer).
LOAD_BALANCER_FILE="$STATE/load-balancer"
# Present when the real node enforces NetworkPolicies (start --network-policies).
NETWORK_POLICIES_FILE="$STATE/network-policies"
# Present when the cluster serves the resource metrics API (start --metrics-server).
METRICS_SERVER_FILE="$STATE/metrics-server"
# Present when the cluster runs Prometheus (start --prometheus).
PROMETHEUS_FILE="$STATE/prometheus"

CONTEXT=exchange-local
# EXCHANGE_CLUSTER_PORT_OFFSET shifts every port, so a second cluster (the test command's own,
# with its own EXCHANGE_CLUSTER_STATE) runs beside the one `deploy:dev` started.
PORT_OFFSET="${EXCHANGE_CLUSTER_PORT_OFFSET:-0}"
[[ "$PORT_OFFSET" =~ ^[0-9]+$ ]] || { echo "EXCHANGE_CLUSTER_PORT_OFFSET must be a number" >&2; exit 2; }
ETCD_PORT=$((12379 + PORT_OFFSET))
ETCD_PEER_PORT=$((12380 + PORT_OFFSET))
API_PORT=$((16443 + PORT_OFFSET))
KCM_PORT=$((16257 + PORT_OFFSET))
SCHEDULER_PORT=$((16259 + PORT_OFFSET))
SERVICE_CIDR=10.96.0.0/16
POD_CIDR=10.244.0.0/16

# --- processes -------------------------------------------------------------------------------

pid_of() { cat "$RUN/$1.pid" 2>/dev/null || true; }

# binary_of NAME: the program a component runs (the name its process shows as argv[0]).
binary_of() {
  case "$1" in
    api-forwarder-host | api-forwarder-node* | kubelet-egress) echo socat ;;
    # These show a path named after the component itself as argv[0].
    node-namespace* | kube-network-policies* | pod-network | volume-recycler) echo "$1" ;;
    # Another node's component: its binary's name and the node's suffix (node.sh).
    *) echo "${1%-n[0-9]*}" ;;
  esac
}

# is_ours NAME PID: the process runs the component's binary with this state folder in its
# arguments, so a pid reused by an unrelated process (after a reboot or crash) is never touched.
is_ours() {
  local name="$1" pid="$2" argv0 args
  [[ "$pid" =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
  args="$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  argv0="$(head -n 1 <<<"$args")"
  [[ "$(basename "$argv0")" == "$(binary_of "$name")" && "$args" == *"$STATE/"* ]]
}

running() { local pid; pid="$(pid_of "$1")"; is_ours "$1" "$pid"; }

up() { running "$1" && healthy "$1"; }

# launch NAME CMD...: runs CMD detached in its own session (so it outlives the calling shell and
# its Ctrl-C), with its output in logs/NAME.log; the pid file is written by the process itself
# just before it becomes CMD, so it is the component's own pid. LAUNCH_CGROUPS, if set, names
# cgroup.procs files the process joins first (the real node's processes, see node.sh).
launch() {
  local name="$1"; shift
  local logfile="$LOGS/$name.log"
  [[ -f "$logfile" ]] && mv -f "$logfile" "$logfile.prev"
  rm -f "$RUN/$name.pid"
  # shellcheck disable=SC2016 # expanded by the inner bash, on purpose
  # fd 8 (the state lock) is closed so the long-lived component does not hold the lock, and fd 4
  # (lib.sh's log output) so that it does not keep a caller's pipe open.
  LAUNCH_CGROUPS="${LAUNCH_CGROUPS:-}" setsid -f bash -c '
    for procs in $LAUNCH_CGROUPS; do echo $$ >"$procs"; done
    unset LAUNCH_CGROUPS
    echo $$ >"$0"
    exec "$@"' "$RUN/$name.pid" "$@" </dev/null >"$logfile" 2>&1 4>&- 8>&-
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

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

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

# fill FILE NAME=VALUE...: FILE (a path under cluster/) with each @NAME@ replaced by VALUE.
fill() {
  local file="$1" args=() pair; shift
  for pair in "$@"; do args+=(-e "s|@${pair%%=*}@|${pair#*=}|g"); done
  sed "${args[@]}" "$CLUSTER_DIR/$file"
}
