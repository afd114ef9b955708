# The resource metrics API on the real nodes (`start --metrics-server`): metrics-server, built from
# its Go module into an image (images/build.sh metrics-server) only for a cluster that asks for it,
# runs as upstream ships it, a Deployment in kube-system behind the APIService
# v1beta1.metrics.k8s.io. HorizontalPodAutoscalers and `kubectl top` read it. Source it.
#
# The API server reaches it as it reaches every aggregated API and webhook: the APIService names
# a Service, the API server dials that Service's cluster address (it does not route to
# endpoints, --enable-aggregator-routing is off), and its egress selection "cluster" sends the
# dial through the kubelet-egress proxy (netns.sh), inside node 1's namespace, where kube-proxy
# turns the Service address into a pod's. No packet leaves the host's own namespace for it.
# shellcheck shell=bash

METRICS_SERVER_API=v1beta1.metrics.k8s.io

enables_metrics_server() { [[ -f "$METRICS_SERVER_FILE" ]]; }

# metrics_server_objects: upstream's manifests (the module's manifests/base) with this cluster's
# changes (addons/metrics-server/kustomization.yaml), rendered by kubectl's own kustomize.
metrics_server_objects() {
  local upstream dir="$STATE/metrics-server-manifests" uid gid
  upstream="$(cd "$REPO_DIR/images/metrics-server" && module_dir "sigs.k8s.io/metrics-server")/manifests/base" \
    || die "no metrics-server module; see images/metrics-server/go.mod"
  [[ -s "$upstream/kustomization.yaml" ]] || die "no upstream manifests at $upstream"
  read -r uid gid < <(jq -r '.images["metrics-server"].user | "\(.uid) \(.gid)"' "$REPO_DIR/images/images.json")
  # kustomize takes no absolute path to a base: a link to it beside the kustomization.
  rm -rf "$dir" && mkdir -p "$dir"
  ln -s "$upstream" "$dir/upstream"
  fill addons/metrics-server/kustomization.yaml IMAGE="$(image_ref metrics-server)" IMAGE_UID="$uid" IMAGE_GID="$gid" \
    >"$dir/kustomization.yaml"
  # Upstream's base still uses commonLabels, of which kustomize warns on every render.
  kubectl kustomize "$dir" 2> >(grep -v "'commonLabels' is deprecated" >&2)
}

# After the nodes are up and have its image: the objects, then until the API server serves
# metrics.k8s.io (the APIService Available: the API server has reached it through its egress).
start_metrics_server() {
  metrics_server_objects | kubectl apply -f - >/dev/null
  kubectl -n kube-system rollout status deployment/metrics-server --timeout=120s >/dev/null \
    || die "metrics-server not ready; see kubectl -n kube-system describe pods -l k8s-app=metrics-server"
  kubectl wait --for=condition=Available "apiservice/$METRICS_SERVER_API" --timeout=60s >/dev/null \
    || die "the API server does not reach metrics-server; see kubectl describe apiservice $METRICS_SERVER_API"
}
