#!/usr/bin/env bash
# The admission policies: the policy pack's per-object rules (Services ClusterIP unless allowlisted,
# no NodePort, no externalIPs, LoadBalancer source ranges, no ingress-nginx snippets) enforced by
# the API server itself, for a cluster admin (kubectl with admin rights on the target cluster's
# context; node, and the pack built: npm --prefix policy ci && npm --prefix policy run build):
#   bootstrap/admission.sh apply [POLICY_PACK_CONFIG]    installs or updates them at the levels and
#                                                        with the allowlists of that file (the one
#                                                        given to --policy-pack-config; none: the
#                                                        pack's defaults); a policy it disables is unbound
#   bootstrap/admission.sh render [POLICY_PACK_CONFIG]   prints the manifests instead
#   bootstrap/admission.sh delete                        removes all of it
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RENDER="$here/../policy/bin/admission/render.js"
LABEL=app.kubernetes.io/part-of=exchange-admission
PARAMS_NAMESPACE=exchange-admission

usage() { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

render() {
  (( $# <= 1 )) || usage
  [[ -f "$RENDER" ]] || { echo "the policy pack is not built: npm --prefix policy ci && npm --prefix policy run build" >&2; exit 1; }
  node "$RENDER" "$@"
}

apply() {
  local manifests applied binding
  manifests="$(render "$@")"
  applied="$(kubectl apply -o name -f - <<<"$manifests")"
  printf '%s\n' "$applied"
  # A binding the config no longer renders (its policy is now disabled) would go on enforcing it.
  for binding in $(kubectl get validatingadmissionpolicybindings -l "$LABEL" -o name); do
    grep -qxF "$binding" <<<"$applied" || kubectl delete "$binding"
  done
}

delete() {
  # Bindings first: a binding left without its params would refuse every object its policy matches.
  kubectl delete validatingadmissionpolicybindings -l "$LABEL" --ignore-not-found
  kubectl delete validatingadmissionpolicies -l "$LABEL" --ignore-not-found
  kubectl delete namespace "$PARAMS_NAMESPACE" --ignore-not-found
}

case "${1:-}" in
  apply) shift; apply "$@" ;;
  render) shift; render "$@" ;;
  delete) shift; (( $# == 0 )) || usage; delete ;;
  *) usage ;;
esac
