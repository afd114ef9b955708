#!/usr/bin/env bash
# Installs the Node.js the project runs on ($NODE_VERSION, an LTS line) from the npm registry and
# prints the line that puts it first on PATH:
#
#   eval "$(toolchain/build-node.sh)"
#   eval "$(toolchain/build-node.sh "$NODE_OTHER_LTS_VERSION")"   # the other supported line
#
# The registry's node-linux-<arch> package is the official release binary packed as an npm
# package (the `node` package installs it the same way), so a machine with only an old Node.js and
# the registry gets the exact version, not whatever its distribution ships. Installed once per
# version into $EXCHANGE_CACHE/node-v$NODE_VERSION; a warm run only checks that the binary is there.
# npm itself is the machine's: its script runs on the node first on PATH, this one.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NODE_VERSION="${1:-$NODE_VERSION}"
NODE_HOME="$EXCHANGE_CACHE/node-v$NODE_VERSION"

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) die "no Node.js package for $(uname -m)" ;;
esac

mkdir -p "$EXCHANGE_CACHE"
exec 9>"$EXCHANGE_CACHE/.build-node.lock"
flock 9

if [[ "$("$NODE_HOME/bin/node" --version 2>/dev/null)" != "v$NODE_VERSION" ]]; then
  command -v npm >/dev/null || die "npm is not on PATH (any Node.js with npm will do to fetch v$NODE_VERSION)"
  log "node v$NODE_VERSION: fetching node-linux-$arch from the npm registry"
  partial="$NODE_HOME.partial"
  rm -rf "$partial" && mkdir -p "$partial"
  # A download that stalls is dropped after a minute and tried again (npm's default waits five).
  tarball="$(cd "$partial" && npm_with_extra_ca pack --silent --fetch-timeout=60000 --fetch-retries=4 "node-linux-$arch@$NODE_VERSION")" ||
    die "npm pack node-linux-$arch@$NODE_VERSION failed"
  tar -xzf "$partial/$tarball" -C "$partial" --strip-components=1 && rm "$partial/$tarball"
  [[ "$("$partial/bin/node" --version)" == "v$NODE_VERSION" ]] ||
    die "node-linux-$arch@$NODE_VERSION does not hold node v$NODE_VERSION"
  rm -rf "$NODE_HOME" && mv "$partial" "$NODE_HOME"
fi

# $PATH stays literal: it is the caller's, expanded where the output is eval'ed.
# shellcheck disable=SC2016
printf 'export PATH=%q:"$PATH"\n' "$NODE_HOME/bin"
