# Sourced by the deploy and test commands: the toolchain on PATH, a local Pulumi backend, a
# passphrase for stack secrets. Everything machine-level lives outside the clone.
# shellcheck shell=bash

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../toolchain/lib.sh
. "$REPO_ROOT/toolchain/lib.sh"

# The project's Node.js (toolchain/versions.env) first on PATH, for npm, the program, the pack and
# the tests alike: a warm check is one `node --version`.
eval "$("$REPO_ROOT/toolchain/build-node.sh")"

EXCHANGE_STATE="${EXCHANGE_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/exchange-platform}"
mkdir -p "$EXCHANGE_STATE"

# A local file backend unless the user chose one (pulumi login, or PULUMI_BACKEND_URL).
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$EXCHANGE_STATE/pulumi-state}"
mkdir -p "$EXCHANGE_STATE/pulumi-state"

# Stack secrets are encrypted with a passphrase. Dev's is generated once per machine and kept
# in a 0600 file beside the state, never in the repo; set PULUMI_CONFIG_PASSPHRASE(_FILE) to
# use your own (prod: a real passphrase from your secret store, or a KMS secrets provider).
if [[ -z "${PULUMI_CONFIG_PASSPHRASE:-}" && -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
  passphrase_file="$EXCHANGE_STATE/dev-passphrase"
  if [[ ! -s "$passphrase_file" ]]; then
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$passphrase_file")
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$passphrase_file"
fi

export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

# NODE_EXTRA_CA_CERTS (a machine's extra CAs, e.g. for a proxy in front of the npm registry)
# matters only to npm. Every other node process would read and parse the bundle at start for
# nothing: each pulumi run starts four (the program, the policy pack, two helpers of the
# language host) and none of them makes a TLS connection. So npm alone gets it
# (toolchain/lib.sh's npm_with_extra_ca).
if [[ -n "${NODE_EXTRA_CA_CERTS:-}" ]]; then
  export EXCHANGE_NPM_EXTRA_CA_CERTS="$NODE_EXTRA_CA_CERTS"
  unset NODE_EXTRA_CA_CERTS
fi

# debian_packages: installs what toolchain/debian-packages.txt lists and dpkg lacks, so a new
# machine needs nothing installed by hand. apt-get update runs only when something is missing.
debian_packages() {
  local wanted missing=()
  mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$REPO_ROOT/toolchain/debian-packages.txt")
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  (( ${#missing[@]} == 0 )) && return 0
  log "installing Debian packages: ${missing[*]}"
  # shellcheck disable=SC2015 # die when either apt-get fails
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >&2 || die "could not install ${missing[*]}"
}

# toolchain_env [PART...]: builds what is missing (seconds when warm) and puts it on PATH; PARTs
# are toolchain/build-cluster.sh's (default kwok). The builds run side by side: on a cold machine
# one's module downloads and Debian fetches overlap another's compile. Part real (the deploy and
# test commands) also builds the images now rather than when the cluster starts, so they overlap
# the Pulumi build.
toolchain_env() {
  local parts=("${@:-kwok}") out pulumi_pid cluster_pid images_pid="" status=0
  debian_packages
  out="$(mktemp -d)"
  "$REPO_ROOT/toolchain/build-pulumi.sh" >"$out/pulumi" & pulumi_pid=$!
  "$REPO_ROOT/toolchain/build-cluster.sh" "${parts[@]}" >"$out/cluster" & cluster_pid=$!
  if [[ " ${parts[*]} " == *" real "* ]]; then
    "$REPO_ROOT/images/build.sh" >/dev/null & images_pid=$!
  fi
  wait "$pulumi_pid" || status=1
  wait "$cluster_pid" || status=$((status + 2))
  [[ -z "$images_pid" ]] || wait "$images_pid" || status=$((status + 4))
  (( status & 1 )) && die "the Pulumi toolchain did not build"
  (( status & 2 )) && die "the local cluster's binaries did not build"
  (( status & 4 )) && die "the images did not build"
  eval "$(cat "$out/pulumi" "$out/cluster")"
  rm -rf "$out"
}

# npm_install DIR: `npm ci` when the lock file changed since the last install there.
npm_install() {
  local dir="$1" stamp="$1/node_modules/.exchange-lock-stamp"
  if [[ -f "$stamp" ]] && cmp -s "$dir/package-lock.json" "$stamp"; then
    return 0
  fi
  # A node_modules that is a link belongs to another checkout (a git worktree sharing its install):
  # npm ci would empty the link's target, under whoever else uses it. Its owner installs it.
  if [[ -L "$dir/node_modules" ]]; then
    log "not installing in ${dir#"$REPO_ROOT"/}: node_modules links to another checkout's"
    return 0
  fi
  log "npm ci in ${dir#"$REPO_ROOT"/}"
  (
    cd "$dir" || exit
    npm_with_extra_ca ci --no-audit --no-fund --loglevel=error >&2
  )
  cp "$dir/package-lock.json" "$stamp"
}

# build_program: dependencies and compiled JavaScript of the program and of the policy pack.
build_program() {
  npm_install "$REPO_ROOT"
  npm_install "$REPO_ROOT/policy"
  # The shared contract first (the pack and the program compile against it), then the pack: the
  # program's unit tests type-check against its testing entry.
  (cd "$REPO_ROOT/contract" && npm run --silent build >&2)
  (cd "$REPO_ROOT/policy" && npm run --silent build >&2)
  (cd "$REPO_ROOT" && npm run --silent build >&2)
}

# fresh_cluster NAME PORT_OFFSET [NODE_KIND]: a local cluster of the caller's own (state folder
# NAME, ports shifted by PORT_OFFSET, kwok nodes unless NODE_KIND is real), wiped and started now
# and wiped again on exit, beside (not instead of) the one deploy:dev uses. Exports KUBECONFIG and
# EXCHANGE_TEST_KUBECONFIG.
fresh_cluster() {
  export EXCHANGE_CLUSTER_STATE="$EXCHANGE_STATE/$1" EXCHANGE_CLUSTER_PORT_OFFSET="$2"
  trap '"$REPO_ROOT/cluster/local-cluster.sh" stop --purge || true' EXIT
  "$REPO_ROOT/cluster/local-cluster.sh" stop --purge
  "$REPO_ROOT/cluster/local-cluster.sh" start --node "${3:-kwok}"
  eval "$("$REPO_ROOT/cluster/local-cluster.sh" env)"
  export EXCHANGE_TEST_KUBECONFIG="$KUBECONFIG"
}
