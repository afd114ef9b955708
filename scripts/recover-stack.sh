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

# 3. Each pending create of a Kubernetes object: if the object exists, the pending operation
#    becomes a resource of the state, with the inputs the program gave it and its ID (namespace/
#    name, or name for a cluster-scoped kind), so the next `up` compares the program with what it
#    asked for and finds nothing to do; otherwise the create never reached the API server. This is
#    what `refresh --import-pending-creates` is for, but the engine drops the operations that flag
#    marks (3.276.0 keeps only pending creates across a deployment); and `pulumi import` would take
#    the live object as the inputs, so that the next `up` replaces every imported Service (its
#    clusterIP differs from the program's none). Other pending creates (a random password never
#    stored anywhere) are dropped by the refresh below; the next `up` creates them.
state="$(mktemp -d)"
trap 'rm -rf "$state"' EXIT
pulumi stack export --stack "$stack" >"$state/exported.json"
while IFS=$'\t' read -r urn api_version kind namespace name; do
  resource="$kind"
  [[ "$api_version" == */* ]] && resource="$kind.${api_version#*/}.${api_version%/*}"
  if id="$(kubectl get "$resource" "$name" ${namespace:+--namespace "$namespace"} \
    -o 'jsonpath={.metadata.namespace}/{.metadata.name}' 2>/dev/null)"; then
    echo "recover-stack: adopting $kind ${id#/}, created by the interrupted update" >&2
    jq -n --arg key "$urn" --arg value "${id#/}" '{ key: $key, value: $value }'
  fi
done < <(jq -r '
  .deployment.pending_operations[]? | select(.type == "creating") | .resource
  | select(.type | startswith("kubernetes:"))
  | [.urn, .inputs.apiVersion, .inputs.kind, (.inputs.metadata.namespace // ""), .inputs.metadata.name] | @tsv
  ' "$state/exported.json") >"$state/ids.json"

if [[ -s "$state/ids.json" ]]; then
  # Appended after every resource already recorded: whatever they depend on (parent, provider)
  # was recorded before their create started. The refresh below reads each back from the cluster.
  jq --slurpfile ids "$state/ids.json" '
    ($ids | from_entries) as $id
    | .deployment.resources += [.deployment.pending_operations[]
        | select(.type == "creating" and $id[.resource.urn] != null)
        | .resource + { id: $id[.resource.urn], outputs: (.resource.outputs // .resource.inputs) }]
    | .deployment.pending_operations |= map(select(.type != "creating" or $id[.resource.urn] == null))
    ' "$state/exported.json" >"$state/adopted.json"
  pulumi stack import --stack "$stack" --file "$state/adopted.json"
fi
pulumi refresh --stack "$stack" --yes --skip-preview --non-interactive --clear-pending-creates
