#!/usr/bin/env bash
# The real nodes' volume recycler, a component of the local cluster (started by node.sh, its log
# in logs/volume-recycler.log): a pool volume whose claim was deleted (Released) gets its folder
# emptied, then its claimRef removed, which makes it Available to the next claim. A new stack
# never sees an old one's data, and a destroy/up cycle never runs out of volumes.
#
#   volume-recycler.sh KUBECONFIG VOLUMES
#
# VOLUMES is the pool's folder: only a volume whose path is in it is ever wiped.
#
# Why not Kubernetes' own recycler (reclaim policy Recycle and the controller-manager's recycler
# pod, which this cluster used before): its hostPath plugin fills in one pod object shared by every
# recycle in flight (pkg/volume/hostpath, Recycle; the fix, kubernetes/kubernetes#97827, was never
# merged), and an uninstall deletes postgres' and redis' claims at once. Two recycles then race on
# that pod's name and path: one deletes the other's pod (seen here: exchange-pv-2 "Recycle failed:
# failed to delete recycler pod: pods "recycler-for-exchange-pv-6" not found", the volume marked
# Failed), a pod may wipe the other volume's folder and leave its own unwiped, and a recycle may
# wait for a pod that was created under another name, its volume Released meanwhile (a claim
# Pending for 39 s in the benchmark's slow installs). Here volumes are recycled one at a time.
set -uo pipefail

export KUBECONFIG="$1"
volumes="$2"

# recycle NAME PATH: empties the folder, then frees the volume. The patch's test makes it a no-op
# for a volume an earlier line of the watch already freed.
recycle() {
  local name="$1" path="$2"
  if [[ "$path" != "$volumes"/pv-* ]]; then
    echo "$name: $path is not in the pool's folder, left alone"
    return
  fi
  find "$path" -mindepth 1 -delete || { echo "$name: could not empty $path, left Released"; return; }
  kubectl patch pv "$name" --type=json --output=name \
    -p '[{"op": "test", "path": "/status/phase", "value": "Released"}, {"op": "remove", "path": "/spec/claimRef"}]' \
    >/dev/null 2>&1 && echo "$(date -u +%FT%TZ) $name: $path emptied, volume Available"
}

# A line per change of any pool volume: name, phase, path. The API server ends a watch now and then
# (and kubectl with it); the loop starts it again.
while :; do
  kubectl get pv -l exchange-platform/local-volume=true --watch \
    -o jsonpath='{.metadata.name} {.status.phase} {.spec.hostPath.path}{"\n"}' |
    while read -r name phase path; do
      [[ "$phase" != Released ]] || recycle "$name" "$path"
    done
  sleep 1
done
