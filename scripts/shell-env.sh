# One line for running `pulumi` or `kubectl` by hand against the local dev cluster:
#
#   source scripts/shell-env.sh
#
# Puts the toolchain on PATH (building what is missing) and exports the Pulumi backend, the
# passphrase file, the offline flags and the local cluster's KUBECONFIG: the same environment
# the deploy and test commands use. The set-up runs in a child shell, so a failure reports its
# error and leaves the calling shell open and unchanged; only the exports come back.
# shellcheck shell=bash

exchange_shell_env() {
  local repo exports
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  exports="$(bash -c '
    set -euo pipefail
    . "$1/scripts/env.sh"
    toolchain_env >&2
    "$1/cluster/local-cluster.sh" env
    for name in PATH PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE_FILE \
      PULUMI_SKIP_UPDATE_CHECK PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION; do
      [[ -n "${!name:-}" ]] && printf "export %s=%q\n" "$name" "${!name}"
    done' _ "$repo")" || {
    echo "shell-env: set-up failed; nothing was changed in this shell" >&2
    return 1
  }
  eval "$exports"
  echo "shell-env: pulumi $(pulumi version), kubectl context $(kubectl config current-context 2>/dev/null || echo "none yet (run npm run deploy:dev)")," \
    "backend $PULUMI_BACKEND_URL" >&2
}
exchange_shell_env
