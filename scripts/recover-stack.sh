#!/usr/bin/env bash
# Brings a stack back after an interrupted `pulumi up` (Ctrl-C, a killed runner, the API server
# gone mid-update); the next `pulumi up` then converges. Run it from the project folder:
#   scripts/recover-stack.sh dev
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

# 3. Operations that started but never finished are dropped from the state; the objects they may
#    have created are adopted by the next `pulumi up` (server-side apply upserts).
pulumi refresh --stack "$stack" --yes --skip-preview --non-interactive --clear-pending-creates
