#!/usr/bin/env bash
# Builds Helm, the tool the benchmark compares Pulumi with (bench/), from the Go module proxy
# into the machine-level cache, once per version, and prints the line that puts it on PATH:
#
#   eval "$(toolchain/build-helm.sh)"
#
# Installs $EXCHANGE_CACHE/helm-v$HELM_VERSION/helm. stdout carries only the export line; progress
# and errors go to stderr. A warm run only checks that the binary is there.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HELM_HOME="$EXCHANGE_CACHE/helm-v$HELM_VERSION"
BUILD_LOGS="$EXCHANGE_CACHE/logs"

command -v go >/dev/null || die "go is not on PATH"

# Two benchmark runs starting at once wait for one build instead of racing on the same folder.
mkdir -p "$EXCHANGE_CACHE" "$BUILD_LOGS"
exec 9>"$EXCHANGE_CACHE/.build-helm.lock"
flock 9

if [[ ! -x "$HELM_HOME/helm" ]]; then
  # helm's go.mod has no replace directives, so a plain versioned install needs no wrapper
  # module. Static and with the version variable set, as upstream's Makefile builds its
  # releases, so `helm version` names this release instead of the bare "v4.3". Built into a
  # scratch folder and swapped in, so an interrupted build never passes for a finished one.
  partial="$HELM_HOME.partial"
  rm -rf "$partial" && mkdir -p "$partial"
  log "helm v$HELM_VERSION: building (log $BUILD_LOGS/helm.log)"
  CGO_ENABLED=0 GOBIN="$partial" run_with_progress helm "$BUILD_LOGS/helm.log" \
    go install -trimpath -buildvcs=false \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=v$HELM_VERSION" \
    "helm.sh/helm/v4/cmd/helm@v$HELM_VERSION" || die "helm: build failed"
  [[ -x "$partial/helm" ]] || die "helm: build finished without producing helm"
  rm -rf "$HELM_HOME" && mv "$partial" "$HELM_HOME"
fi

# $PATH stays literal: it is the caller's, expanded where the output is eval'ed.
# shellcheck disable=SC2016
printf 'export PATH=%q:"$PATH"\n' "$HELM_HOME"
