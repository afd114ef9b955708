#!/usr/bin/env bash
# Builds a tool that only the tests or the benchmark use, never the deploy command, from the Go
# module proxy into the machine-level cache, once per version, and prints the line that puts it on
# PATH:
#
#   eval "$(toolchain/build-go-tool.sh actionlint)"   # the test command: lints the workflows
#   eval "$(toolchain/build-go-tool.sh helm)"         # bench/: the tool Pulumi is compared with
#
# Kept out of build-pulumi.sh and build-cluster.sh so that `npm run deploy:dev` on a new machine
# never waits for them. Installs $EXCHANGE_CACHE/TOOL-vVERSION/TOOL; stdout carries only the export
# line, progress and errors go to stderr. A warm run only checks that the binary is there.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tool="${1:?usage: toolchain/build-go-tool.sh actionlint|helm}"
# Neither module has replace directives, so a plain versioned install needs no wrapper module.
# Static and with the version variable set, as upstream builds its releases, so `TOOL version`
# names this release.
case "$tool" in
  actionlint)
    version="$ACTIONLINT_VERSION"
    package="github.com/rhysd/actionlint/cmd/actionlint@v$version"
    ldflags="-X github.com/rhysd/actionlint.version=$version"
    ;;
  helm)
    version="$HELM_VERSION"
    package="helm.sh/helm/v4/cmd/helm@v$version"
    ldflags="-X helm.sh/helm/v4/internal/version.version=v$version"
    ;;
  *) die "unknown tool '$tool' (actionlint or helm)" ;;
esac
TOOL_HOME="$EXCHANGE_CACHE/$tool-v$version"
BUILD_LOGS="$EXCHANGE_CACHE/logs"

command -v go >/dev/null || die "go is not on PATH"

# Two runs starting at once wait for one build instead of racing on the same folder.
mkdir -p "$EXCHANGE_CACHE" "$BUILD_LOGS"
exec 9>"$EXCHANGE_CACHE/.build-$tool.lock"
flock 9

if [[ ! -x "$TOOL_HOME/$tool" ]]; then
  # Built into a scratch folder and swapped in, so an interrupted build never passes for a
  # finished one.
  partial="$TOOL_HOME.partial"
  rm -rf "$partial" && mkdir -p "$partial"
  log "$tool v$version: building (log $BUILD_LOGS/$tool.log)"
  CGO_ENABLED=0 GOBIN="$partial" run_with_progress "$tool" "$BUILD_LOGS/$tool.log" \
    go install -trimpath -buildvcs=false -ldflags "-s -w $ldflags" "$package" || die "$tool: build failed"
  [[ -x "$partial/$tool" ]] || die "$tool: build finished without producing $tool"
  rm -rf "$TOOL_HOME" && mv "$partial" "$TOOL_HOME"
fi

# $PATH stays literal: it is the caller's, expanded where the output is eval'ed.
# shellcheck disable=SC2016
printf 'export PATH=%q:"$PATH"\n' "$TOOL_HOME"
