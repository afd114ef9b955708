#!/usr/bin/env bash
# The README's first command: deploy the dev stack onto the embedded local cluster.
# Builds or reuses the toolchain, starts the cluster, runs `pulumi up` with the policy pack,
# prints the outputs and how to look at the result.
set -euo pipefail
. "$(dirname "$0")/env.sh"

toolchain_env
build_program
"$REPO_ROOT/cluster/local-cluster.sh" start
eval "$("$REPO_ROOT/cluster/local-cluster.sh" env)"

cd "$REPO_ROOT"
# Only dev goes to the local cluster: the stack is named here, never taken from the environment.
pulumi stack select --create dev --non-interactive >&2
pulumi up --stack dev --policy-pack "$REPO_ROOT/policy" --yes --non-interactive
pulumi stack output --stack dev
cat <<NEXT

Deployed the dev stack to the local cluster. Look at it with:
  export KUBECONFIG=$KUBECONFIG
  kubectl get deployments,services,endpoints,ingress,pvc -n default
Stop the cluster with: cluster/local-cluster.sh stop
NEXT
