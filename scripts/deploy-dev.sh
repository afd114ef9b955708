#!/usr/bin/env bash
# The README's first command: deploy the dev stack onto the embedded local cluster and show it
# serving. Builds or reuses the toolchain and the images, starts the cluster with its real node,
# runs `pulumi up` with the policy pack, then sends one request through the ingress controller
# (from inside the node's network namespace, the only place its addresses may be reached).
set -euo pipefail
. "$(dirname "$0")/env.sh"

toolchain_env real
build_program
"$REPO_ROOT/cluster/local-cluster.sh" start --node real
eval "$("$REPO_ROOT/cluster/local-cluster.sh" env)"

cd "$REPO_ROOT"
# Only dev goes to the local cluster: the stack is named here, never taken from the environment.
pulumi stack select --create dev --non-interactive >&2
# No preview first: it would run the program and the policy pack a second time (docs/measured.md
# gives the cost); the policy pack still checks every step of the update.
pulumi up --stack dev --policy-pack "$REPO_ROOT/policy" --yes --skip-preview --non-interactive
pulumi stack output --stack dev

# The platform answering: /backend/health through the ingress reaches the router's /health.
# The controller may take a moment to pick up the new routes: a few tries, then the answer.
answer=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
  if answer="$("$REPO_ROOT/cluster/local-cluster.sh" curl /backend/health --fail 2>&1)"; then
    break
  fi
  sleep 2
done
cat <<NEXT

Deployed the dev stack to the local cluster. Through the ingress:
  \$ cluster/local-cluster.sh curl /backend/health
  $answer
Send your own (from inside the node's network namespace):
  cluster/local-cluster.sh curl /backend/api/v1/orders
Look at it with kubectl or pulumi in this shell after:
  source scripts/shell-env.sh
  kubectl get deployments,services,endpoints,ingress,pvc -n default
Stop the cluster with: cluster/local-cluster.sh stop
NEXT
