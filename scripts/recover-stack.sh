#!/usr/bin/env bash
# Brings a stack back after an interrupted `pulumi up` (Ctrl-C, a killed runner, the API server
# gone mid-update); the next `pulumi up` then converges. Run it from the project folder, with
# kubectl pointed at the stack's cluster (KUBECONFIG, as for `pulumi up`):
#   scripts/recover-stack.sh dev
#
# Objects whose create was interrupted are imported into the state, not left for the next `up`
# to adopt: a Kubernetes provider from v4.29.0 on creates client-side and fails with
# AlreadyExists on an object that is already there (unless the provider option
# upsertExistingObjects is set, which this project leaves off: it would also silently take over
# an object that someone else created under the same name). Importing works with every provider
# version, so recovery does not depend on which one runs.
set -euo pipefail
stack="${1:?usage: scripts/recover-stack.sh STACK}"

# 1. File backend only: gocloud's fileblob writes the checkpoint atomically (temp file + rename)
#    but its metadata sidecar (<stack>.json.attrs, only the content type) in place, so a kill at
#    that instant leaves it empty and every later command (cancel too) fails with "failed to load checkpoint:
#    EOF". An absent sidecar is fine, an empty one is not: remove empty ones.
backend="$(pulumi whoami --verbose --non-interactive | sed -n 's/^Backend URL: *//p')"
if [[ "$backend" == file://* ]]; then
  state_dir="${backend#file://}"
  find "${state_dir%%\?*}/.pulumi" -name '*.attrs' -empty -print -delete
fi

# 2. A killed pulumi leaves its lock behind; with no lock this says so and changes nothing.
pulumi cancel --stack "$stack" --yes --non-interactive || true

# 3. Each pending create of a Kubernetes object: if the object exists, its provider ID (namespace/
#    name, or name for a cluster-scoped kind) is imported; otherwise the create never reached the
#    API server and the pending operation is dropped. Other pending creates (a random password
#    never stored anywhere) are dropped too; the next `up` creates them.
imports=()
while IFS=$'\t' read -r urn api_version kind namespace name; do
  resource="$kind"
  [[ "$api_version" == */* ]] && resource="$kind.${api_version#*/}.${api_version%/*}"
  if id="$(kubectl get "$resource" "$name" ${namespace:+--namespace "$namespace"} \
    -o 'jsonpath={.metadata.namespace}/{.metadata.name}' 2>/dev/null)"; then
    imports+=(--import-pending-creates "$urn" --import-pending-creates "${id#/}")
    echo "recover-stack: importing $kind ${id#/}, created by the interrupted update" >&2
  fi
done < <(pulumi stack export --stack "$stack" | jq -r '
  .deployment.pending_operations[]? | select(.type == "creating") | .resource
  | select(.type | startswith("kubernetes:"))
  | [.urn, .inputs.apiVersion, .inputs.kind, (.inputs.metadata.namespace // ""), .inputs.metadata.name] | @tsv')

pulumi refresh --stack "$stack" --yes --skip-preview --non-interactive "${imports[@]}" --clear-pending-creates
