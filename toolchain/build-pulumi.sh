#!/usr/bin/env bash
# Builds the offline Pulumi toolchain from the Go module proxy, once per version, and registers
# the provider plugins. Usage: eval "$(toolchain/build-pulumi.sh)"
#
# Installs, keyed by version under $EXCHANGE_CACHE (a binary is built only when it is missing, or
# when what it is built from changed; see stamp):
#   pulumi-v$PULUMI_VERSION/bin/            pulumi, pulumi-language-nodejs, pulumi-resource-pulumi-nodejs
#   pulumi-resource-kubernetes-v$PULUMI_KUBERNETES_VERSION/pulumi-resource-kubernetes
#   pulumi-resource-random-v$PULUMI_RANDOM_VERSION/pulumi-resource-random
# stdout carries only `export NAME=...` lines; every log line goes to stderr.
#
# What the module proxy serves decides what is built (details in toolchain/pulumi/*/go.mod):
# - pulumi: upstream pkg/v3 cmd/pulumi, built through the wrapper module toolchain/pulumi/cli.
# - pulumi-language-nodejs: upstream's module is not served, so toolchain/pulumi/language-nodejs
#   is our own small host that runs the program through @pulumi/pulumi's cmd/run.
# - pulumi-resource-kubernetes: the only served commit of provider/v4, upstream's v4.25.0; built,
#   reporting and registered as $PULUMI_KUBERNETES_VERSION, the version @pulumi/kubernetes is
#   pinned to (tests/toolchain/versions.test.ts checks all three agree).
# - pulumi-resource-random: no version of github.com/pulumi/pulumi-random/provider/v4 (nor of
#   the Terraform provider it wraps) is served; toolchain/pulumi/provider-random is our own
#   stand-in serving RandomPassword (which the project uses) and RandomString.
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Keep stdout for the export lines (fd 3); everything else, go's output included, goes to stderr.
exec 3>&1 1>&2

WRAPPERS="$TOOLCHAIN_DIR/pulumi"
LOGS="$EXCHANGE_CACHE/logs"
PULUMI_BIN="$EXCHANGE_CACHE/pulumi-v$PULUMI_VERSION/bin"
KUBERNETES_DIR="$EXCHANGE_CACHE/pulumi-resource-kubernetes-v$PULUMI_KUBERNETES_VERSION"
RANDOM_DIR="$EXCHANGE_CACHE/pulumi-resource-random-v$PULUMI_RANDOM_VERSION"
SDK_VERSION_FLAG="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"

command -v go >/dev/null || die "go is not on PATH"

# go.mod cannot read versions.env, so the wrapper modules repeat the pins; refuse to build if
# the two disagree. require_pin GO_MOD MODULE VERSION
require_pin() {
  local gomod="$WRAPPERS/$1" module="$2" version="$3"
  awk -v m="$module" -v v="$version" '
    $1 == "require" { $1 = ""; $0 = $0 }
    $1 == m && $2 == v { found = 1 }
    END { exit !found }' "$gomod" ||
    die "$gomod does not require $module $version (from versions.env); update one to match the other"
}
require_pin cli/go.mod github.com/pulumi/pulumi/pkg/v3 "v$PULUMI_VERSION"
require_pin cli/go.mod github.com/pulumi/pulumi/sdk/v3 "v$PULUMI_VERSION"
require_pin language-nodejs/go.mod github.com/pulumi/pulumi/sdk/v3 "v$PULUMI_VERSION"
require_pin provider-kubernetes/go.mod github.com/pulumi/pulumi-kubernetes/provider/v4 \
  "$PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION"
require_pin provider-random/go.mod github.com/pulumi/pulumi/sdk/v3 "v$PULUMI_VERSION"

# stamp WRAPPER LDFLAGS PACKAGE: a hash of what a binary is built from: the wrapper module's
# go.mod, go.sum and Go files, the Go version and the flags. Several of the binaries are our own
# code, so an edit to a wrapper has to reach caches that already hold a binary of that version.
stamp() {
  { go env GOVERSION; printf '%s\n' "$2" "$3"
    (cd "$WRAPPERS/$1" && find . \( -name '*.go' -o -name go.mod -o -name go.sum \) -print0 |
      LC_ALL=C sort -z | xargs -0 cat); } | sha256sum | cut -d' ' -f1
}

# up_to_date OUTPUT STAMP: OUTPUT exists and was built from STAMP.
up_to_date() { [[ -x "$1" && "$(cat "$1.stamp" 2>/dev/null)" == "$2" ]]; }

# go_build LABEL WRAPPER OUTPUT LDFLAGS PACKAGE STAMP: builds in a wrapper module, writing OUTPUT
# (and its stamp) only once the build succeeded, so an interrupted run never leaves a
# half-written binary behind. -s -w drops the symbol table and DWARF (stack traces still work):
# the Kubernetes provider shrinks by 30% and the plugin cache holds a second copy of it.
go_build() {
  local label="$1" wrapper="$2" output="$3" ldflags="$4" package="$5" stamp="$6"
  mkdir -p "$(dirname "$output")"
  log "$label: building (cold builds take minutes; log in $LOGS)"
  # Downloads timed apart from the compile, so a cold run's log shows where its minutes go.
  (cd "$WRAPPERS/$wrapper" &&
    run_with_progress "$label: module download" "$LOGS/$label.download.log" go mod download &&
    run_with_progress "$label" "$LOGS/$label.log" \
      go build -trimpath -buildvcs=false -ldflags "-s -w $ldflags" -o "$output.tmp" "$package")
  mv "$output.tmp" "$output"
  printf '%s\n' "$stamp" >"$output.stamp"
}

# build_once LABEL WRAPPER OUTPUT LDFLAGS PACKAGE: go_build unless OUTPUT is up to date.
build_once() {
  local s
  s="$(stamp "$2" "$4" "$5")"
  up_to_date "$3" "$s" || go_build "$@" "$s"
}

# --- Kubernetes provider -------------------------------------------------------------------
# Its compile shares nothing with the CLI's (another pulumi/pkg, and k8s.io), so on a cold machine
# it runs beside the CLI's rather than after it: the longest chain of the first command.
build_kubernetes_provider() {
  local flags stamp upstream_cmd
  flags="-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$PULUMI_KUBERNETES_VERSION"
  stamp="$(stamp provider-kubernetes "$flags" .)"
  up_to_date "$KUBERNETES_DIR/pulumi-resource-kubernetes" "$stamp" && return 0
  # Upstream's main embeds a versioned schema and a mapping file that its Makefile generates;
  # the wrapper generates them from the files committed in the module (see its main.go).
  upstream_cmd="$(cd "$WRAPPERS/provider-kubernetes" &&
    module_dir github.com/pulumi/pulumi-kubernetes/provider/v4)/cmd/pulumi-resource-kubernetes"
  (cd "$WRAPPERS/provider-kubernetes" &&
    go run -buildvcs=false ./gen "$upstream_cmd" "$PULUMI_KUBERNETES_VERSION" .)
  go_build pulumi-resource-kubernetes provider-kubernetes "$KUBERNETES_DIR/pulumi-resource-kubernetes" \
    "$flags" . "$stamp"
}
build_kubernetes_provider & kubernetes_pid=$!

# --- pulumi CLI and its Node.js language host ---------------------------------------------
# A pulumi already on PATH at the pinned version is used as is, provided the language host
# sits beside it: the CLI looks for bundled language hosts next to its own binary. Our own
# cache on PATH (a second eval in one shell) does not count, so its stamps are still checked.
ambient="$(command -v pulumi || true)"
ambient_dir="${ambient:+$(cd "$(dirname "$ambient")" && pwd)}"
if [[ -n "$ambient" && "$ambient_dir" != "$PULUMI_BIN" && -x "$ambient_dir/pulumi-language-nodejs" ]] &&
  [[ "$(PULUMI_SKIP_UPDATE_CHECK=true "$ambient" version 2>/dev/null)" == "v$PULUMI_VERSION" ]]; then
  PULUMI_BIN="$ambient_dir"
  log "pulumi: using v$PULUMI_VERSION on PATH in $PULUMI_BIN"
else
  build_once pulumi cli "$PULUMI_BIN/pulumi" "$SDK_VERSION_FLAG" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  build_once pulumi-language-nodejs language-nodejs "$PULUMI_BIN/pulumi-language-nodejs" "$SDK_VERSION_FLAG" .
  # Dynamic providers (pulumi.dynamic.Resource) run through this plugin, which upstream bundles
  # as a script: node runs the SDK's cmd/dynamic-provider. This one finds it the way the program
  # does (node_modules here or in a parent directory), not only in ./node_modules. Replaced
  # (atomically, a running copy may be in use) whenever its text here changes.
  plugin="$PULUMI_BIN/pulumi-resource-pulumi-nodejs"
  cat >"$plugin.tmp" <<'EOF_PLUGIN'
#!/bin/sh
script="$(node -p 'require.resolve("@pulumi/pulumi/cmd/dynamic-provider", { paths: [process.cwd()] })')" || exit 1
exec node "$script" "$@"
EOF_PLUGIN
  if cmp -s "$plugin.tmp" "$plugin"; then
    rm "$plugin.tmp"
  else
    chmod +x "$plugin.tmp" && mv "$plugin.tmp" "$plugin"
  fi
fi

# --- random provider stand-in -------------------------------------------------------------
build_once pulumi-resource-random provider-random "$RANDOM_DIR/pulumi-resource-random" \
  "-X main.version=$PULUMI_RANDOM_VERSION" .

wait "$kubernetes_pid" || die "pulumi-resource-kubernetes did not build"

# --- plugin registration -------------------------------------------------------------------
# Prepended once: a second eval in the same shell does not grow PATH.
path_without() {
  local p=":$PATH:" d
  for d; do p="${p//:"$d":/:}"; done
  p="${p#:}"
  printf '%s' "${p%:}"
}
PATH="$PULUMI_BIN:$(path_without "$PULUMI_BIN")"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
# The engine loads the installed plugin whose version equals the one the npm package declares
# (SelectCompatiblePlugin), so each is registered under exactly that version, which is the
# version it reports (tests/toolchain/versions.test.ts). Skipped when the plugin cache
# already holds this very binary; a rebuilt binary replaces the registered copy.
register() { # register NAME VERSION BINARY
  local registered="${PULUMI_HOME:-$HOME/.pulumi}/plugins/resource-$1-v$2/pulumi-resource-$1"
  if ! cmp -s "$3" "$registered"; then
    log "registering plugin $1 $2"
    pulumi plugin install resource "$1" "$2" --file "$3" --reinstall
  fi
}
register kubernetes "$PULUMI_KUBERNETES_VERSION" "$KUBERNETES_DIR/pulumi-resource-kubernetes"
register random "$PULUMI_RANDOM_VERSION" "$RANDOM_DIR/pulumi-resource-random"

log "pulumi toolchain ready: $(pulumi version) in $PULUMI_BIN"
for name in PATH PULUMI_SKIP_UPDATE_CHECK PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION; do
  printf 'export %s=%q\n' "$name" "${!name}" >&3
done
