#!/usr/bin/env bash
# PostgreSQL's backups for an operator (docs/backups.md), with the caller's kubectl context
# (`source scripts/shell-env.sh` for the local dev cluster):
#
#   scripts/postgres-backup.sh status              last backups, archiver state, sidecar's last lines
#   scripts/postgres-backup.sh backup              a full backup now
#   scripts/postgres-backup.sh restore --latest    everything archived, into the stack's own claim
#   scripts/postgres-backup.sh restore --time T    the state at T ('2026-12-02 14:03:07+00')
#
# A restore stops the server (the StatefulSet scaled to 0), runs pgbackrest-restore in a Job on
# the claim with the pod's own image, env and volumes, and starts the server again, which replays
# the archived WAL to the target and promotes. A refused target (before the first backup, in the
# future) changes nothing and the server is started again as it was. EXCHANGE_NAMESPACE (default
# `default`) is the platform's namespace; EXCHANGE_RESTORE_TIMEOUT (default 3600) bounds the Job.
set -euo pipefail

NAMESPACE="${EXCHANGE_NAMESPACE:-default}"
STATEFULSET=exchange-postgres
POD="$STATEFULSET-0"
JOB="$STATEFULSET-restore"
RESTORE_TIMEOUT="${EXCHANGE_RESTORE_TIMEOUT:-3600}"

kube() { kubectl --namespace "$NAMESPACE" "$@"; }
say() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

status() {
  echo "== backups (pgbackrest info)"
  # The archiver's state below matters most when the repository cannot be read.
  kube exec "$POD" -c backup -- pgbackrest info || echo "the repository cannot be read (exit $?)"
  echo "== WAL archiving (pg_stat_archiver)"
  # shellcheck disable=SC2016 # expanded by the container's shell, from its own env
  kube exec "$POD" -c postgres -- sh -c 'psql -h /var/run/postgresql -U "$POSTGRES_USER" -d postgres -Xx -c "
    SELECT archived_count, last_archived_wal, last_archived_time,
           failed_count, last_failed_wal, last_failed_time, now() AS checked_at
    FROM pg_stat_archiver"'
  echo "== backup sidecar, last lines"
  kube logs "$POD" -c backup --tail=5
}

# restore_job ARG...: the Job that runs `pgbackrest-restore ARG...` on the claim, as JSON.
restore_job() {
  kube get statefulset "$STATEFULSET" -o json | jq --arg job "$JOB" --args '
    .spec.template.spec as $pod
    | ($pod.containers[] | select(.name == "postgres")) as $server
    | {
        apiVersion: "batch/v1", kind: "Job",
        metadata: {name: $job, labels: {app: $job, "app.kubernetes.io/part-of": "exchange"}},
        spec: {
          backoffLimit: 0,
          template: {
            metadata: {labels: {app: $job}},
            spec: ($pod | del(.initContainers) | .restartPolicy = "Never" | .containers = [{
              name: "restore", image: $server.image, env: $server.env, resources: $server.resources,
              securityContext: $server.securityContext, volumeMounts: $server.volumeMounts,
              command: ["pgbackrest-restore"], args: $ARGS.positional
            }])
          }
        }
      }' "$@"
}

# job_result: "succeeded" or "failed" once the Job has ended, within RESTORE_TIMEOUT seconds.
job_result() {
  local deadline=$((SECONDS + RESTORE_TIMEOUT)) state
  while ((SECONDS < deadline)); do
    state="$(kube get job "$JOB" -o jsonpath='{.status.succeeded}/{.status.failed}')"
    [[ "$state" == 1/* ]] && { echo succeeded; return; }
    [[ "$state" == */1 ]] && { echo failed; return; }
    sleep 2
  done
  echo "timed out"
}

start_server() {
  kube scale statefulset "$STATEFULSET" --replicas=1 >/dev/null
  local deadline=$((SECONDS + RESTORE_TIMEOUT))
  until kube get pod "$POD" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$POD was not created"
    sleep 1
  done
  kube wait --for=condition=Ready "pod/$POD" --timeout="${RESTORE_TIMEOUT}s" >/dev/null
}

restore() {
  local -a target
  case "${1:-}" in
    --latest) target=(latest) ;;
    --time) target=(time "${2:?--time needs a time, e.g. '2026-12-02 14:03:07+00'}") ;;
    *) die "restore --latest | restore --time 'YYYY-MM-DD HH:MM:SS+00'" ;;
  esac
  local started=$SECONDS result logs checked=0
  kube get statefulset "$STATEFULSET" >/dev/null || die "no StatefulSet $STATEFULSET in namespace $NAMESPACE"
  # With the server up, the target is checked before anything stops; a refusal costs nothing.
  if kube get pod "$POD" >/dev/null 2>&1; then
    kube exec "$POD" -c backup -- pgbackrest-restore check "${target[@]}" || checked=$?
    if ((checked == 2)); then
      say "the restore was refused; nothing was changed, the server was not stopped"
      exit 2
    fi
  fi
  say "stopping the server ($STATEFULSET scaled to 0)"
  kube scale statefulset "$STATEFULSET" --replicas=0 >/dev/null
  kube wait --for=delete "pod/$POD" --timeout=300s >/dev/null 2>&1 || true
  kube get pod "$POD" >/dev/null 2>&1 && die "$POD is still there; the server must be stopped first"
  local stopped=$SECONDS
  say "restoring: pgbackrest-restore ${target[*]}"
  kube delete job "$JOB" --ignore-not-found --wait=true >/dev/null
  restore_job "${target[@]}" | kube apply -f - >/dev/null
  result="$(job_result)"
  logs="$(kube logs "job/$JOB" 2>&1 || true)"
  printf '%s\n' "$logs" >&2
  local restored=$SECONDS
  kube delete job "$JOB" --wait=false >/dev/null
  if [[ "$result" != succeeded ]]; then
    if grep -q 'pgbackrest-restore: refused' <<<"$logs"; then
      say "the restore was refused; nothing was changed: starting the server as it was"
      start_server
      exit 2
    fi
    die "the restore $result; the server stays stopped (replicas 0): see the output above, then run the restore again"
  fi
  say "starting the server: it replays the archived WAL up to the target, then promotes"
  start_server
  say "done: stop $((stopped - started)) s, restore $((restored - stopped)) s, recovery and start $((SECONDS - restored)) s, total $((SECONDS - started)) s"
  say "take a full backup now (scripts/postgres-backup.sh backup): the restored server is on a new timeline"
}

command -v kubectl >/dev/null || die "kubectl is not on PATH (source scripts/shell-env.sh)"
command -v jq >/dev/null || die "jq is not installed"
case "${1:-}" in
  status) status ;;
  backup) kube exec "$POD" -c backup -- pgbackrest backup --type=full ;;
  restore) restore "${@:2}" ;;
  *) die "usage: $0 status | backup | restore --latest | restore --time 'YYYY-MM-DD HH:MM:SS+00'" ;;
esac
