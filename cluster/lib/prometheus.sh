# Prometheus on the real nodes (`start --prometheus`): upstream's server, built from its Go module
# into an image (images/build.sh prometheus) only for a cluster that asks for it, running
# monitoring/prometheus.yml and its alert rules as they are, in the namespace the program's
# NetworkPolicies admit to the metrics ports. It scrapes the pods directly (pod to pod, across the
# nodes' link); the tests reach its HTTP API from a node's namespace. Source it.
# shellcheck shell=bash

PROMETHEUS_NAMESPACE=monitoring

enables_prometheus() { [[ -f "$PROMETHEUS_FILE" ]]; }

# prometheus_objects: addons/prometheus.yaml with the built image, its user and port
# (images/images.json), and the ConfigMap of monitoring/'s files.
prometheus_objects() {
  local uid gid port hash files=("$REPO_DIR"/monitoring/{prometheus.yml,rules.yaml,rules.test.yaml})
  read -r uid gid port < <(jq -r '.images.prometheus | "\(.user.uid) \(.user.gid) \(.ports[] | select(.name == "web") | .port)"' \
    "$REPO_DIR/images/images.json")
  [[ -n "$port" ]] || die "images/images.json: no user or web port for prometheus"
  hash="$(cat "${files[@]}" | sha256sum | cut -c1-16)"
  fill addons/prometheus.yaml NAMESPACE="$PROMETHEUS_NAMESPACE" IMAGE="$(image_ref prometheus)" IMAGE_UID="$uid" IMAGE_GID="$gid" \
    PORT="$port" CONFIG_HASH="$hash"
  echo ---
  kubectl create configmap prometheus --namespace "$PROMETHEUS_NAMESPACE" "${files[@]/#/--from-file=}" \
    --dry-run=client --output yaml
}

# After the nodes are up and have its image: the objects, then until the server is ready (its
# TSDB open, its configuration and rules loaded).
start_prometheus() {
  prometheus_objects | kubectl apply -f - >/dev/null
  kubectl -n "$PROMETHEUS_NAMESPACE" rollout status deployment/prometheus --timeout=120s >/dev/null \
    || die "Prometheus not ready; see kubectl -n $PROMETHEUS_NAMESPACE describe pods -l app.kubernetes.io/name=prometheus"
}
