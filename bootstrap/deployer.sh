#!/usr/bin/env bash
# The deployer identity CI deploys with, for a cluster admin (kubectl with admin rights on the
# target cluster's context):
#   bootstrap/deployer.sh apply [NAMESPACE...]    the ServiceAccount, and its Role and RoleBinding in
#                                                 each namespace the stacks deploy into (default: default)
#   bootstrap/deployer.sh kubeconfig [--duration D] [--context NAME]
#                                                 prints a kubeconfig for it: the current context's
#                                                 server and CA, a token from the TokenRequest API
#                                                 (default lifetime 24h), context NAME (default: the
#                                                 current context's, so a stack's kubernetes:context
#                                                 still matches)
#   bootstrap/deployer.sh delete [NAMESPACE...]   removes all of it; every token issued for it stops working
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ACCOUNT=exchange-deployer
ACCOUNT_NAMESPACE=exchange-deployer

usage() { sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

apply() {
  kubectl apply -f "$here/deployer/identity.yaml"
  for namespace in "${@:-default}"; do
    kubectl apply -n "$namespace" -f "$here/deployer/namespace-access.yaml"
  done
}

delete() {
  for namespace in "${@:-default}"; do
    kubectl delete -n "$namespace" --ignore-not-found -f "$here/deployer/namespace-access.yaml"
  done
  kubectl delete --ignore-not-found -f "$here/deployer/identity.yaml"
}

kubeconfig() {
  local duration=24h context
  context="$(kubectl config current-context)"
  while (( $# )); do
    case "$1" in
      --duration) duration="${2:?}"; shift 2 ;;
      --context) context="${2:?}"; shift 2 ;;
      *) usage ;;
    esac
  done
  local server ca token
  server="$(kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.server}')"
  ca="$(kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')"
  if [[ -z "$ca" ]]; then
    local ca_file
    ca_file="$(kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority}')"
    [[ -n "$ca_file" ]] || { echo "the current context's cluster has no CA certificate" >&2; exit 1; }
    ca="$(base64 -w0 <"$ca_file")"
  fi
  # TokenRequest: a token bound to the ServiceAccount, expiring after $duration; no Secret holds it.
  token="$(kubectl create token "$ACCOUNT" -n "$ACCOUNT_NAMESPACE" --duration "$duration")"
  cat <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: $context
    cluster:
      server: $server
      certificate-authority-data: $ca
users:
  - name: $ACCOUNT
    user:
      token: $token
contexts:
  - name: $context
    context:
      cluster: $context
      user: $ACCOUNT
current-context: $context
EOF
}

case "${1:-}" in
  apply) shift; apply "$@" ;;
  delete) shift; delete "$@" ;;
  kubeconfig) shift; kubeconfig "$@" ;;
  *) usage ;;
esac
