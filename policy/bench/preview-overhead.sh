#!/usr/bin/env bash
# What the policy pack adds to a `pulumi preview` of the dev stack: the wall time of the preview
# without a pack and with each given pack, runs interleaved, median of RUNS (default 5); the time
# each pack takes to start (spawn to gRPC port); and the time each pack takes to analyze the
# preview's planned resources as the engine asks it to (analyze-cost.js, 4 x RUNS rounds). No cluster is contacted: the kubeconfig points
# at a closed loopback port, so the provider plans from the program's inputs.
#
# Usage: policy/bench/preview-overhead.sh [PACK_DIR ...]     (default: this pack)
#   PROGRAM_DIR  the built project to preview (default: the repository; needs bin/ and node_modules/)
#   RUNS         runs per variant (default 5)
# Needs the toolchain on PATH: `. scripts/env.sh && toolchain_env`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
program="${PROGRAM_DIR:-$(cd "$here/../.." && pwd)}"
runs="${RUNS:-5}"
packs=("$@")
(( ${#packs[@]} )) || packs=("$(cd "$here/.." && pwd)")

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$program/Pulumi.yaml" "$program/package.json" "$work/"
ln -s "$program/node_modules" "$work/node_modules"
ln -s "$program/bin" "$work/bin"
# Only the stack's config (not a machine's encryption salt), as the integration tests do.
node -e '
  const yaml = require(process.argv[1] + "/node_modules/js-yaml");
  const fs = require("fs");
  const file = yaml.load(fs.readFileSync(process.argv[1] + "/Pulumi.dev.yaml", "utf8"));
  fs.writeFileSync(process.argv[2] + "/Pulumi.dev.yaml", yaml.dump({ config: file.config }));
' "$program" "$work"
cat >"$work/kubeconfig" <<'KUBE'
apiVersion: v1
kind: Config
clusters: [{ name: unreachable, cluster: { server: "https://127.0.0.1:9" } }]
users: [{ name: nobody, user: { token: none } }]
contexts: [{ name: exchange-local, context: { cluster: unreachable, user: nobody } }]
current-context: exchange-local
KUBE
mkdir "$work/state"
export PULUMI_BACKEND_URL="file://$work/state" PULUMI_CONFIG_PASSPHRASE="bench" PULUMI_CONFIG_PASSPHRASE_FILE="" \
  PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true KUBECONFIG="$work/kubeconfig" NO_COLOR=1
cd "$work"
pulumi stack init dev --secrets-provider passphrase --non-interactive >/dev/null

# preview_ms [PACK_DIR]: wall time of one preview in ms (a policy failure still counts as a run).
preview_ms() {
  local start end args=(preview --stack dev --non-interactive --color never)
  [[ -n "${1:-}" ]] && args+=(--policy-pack "$1")
  start="$(date +%s%N)"
  pulumi "${args[@]}" >"$work/last.log" 2>&1 || grep -q "policy violation" "$work/last.log" || { cat "$work/last.log" >&2; exit 1; }
  end="$(date +%s%N)"
  echo $(( (end - start) / 1000000 ))
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

preview_ms "" >/dev/null # warm the plugin and module caches once
declare -A times
for ((i = 0; i < runs; i++)); do
  times[none]+="$(preview_ms "") "
  for p in "${packs[@]}"; do
    times[$p]+="$(preview_ms "$p") "
  done
done
none="$(tr ' ' '\n' <<<"${times[none]}" | grep . | median)"
echo "preview without a pack: median ${none} ms (${times[none]% })"
for p in "${packs[@]}"; do
  with="$(tr ' ' '\n' <<<"${times[$p]}" | grep . | median)"
  echo "preview with $p: median ${with} ms (+$(( with - none )) ms) (${times[$p]% })"
  echo "  pack start: $(node "$here/pack-start.js" "$p" "$runs")"
done
# The packs' analysis of this preview's resources alone, as the engine asks for it.
pulumi preview --stack dev --non-interactive --json >"$work/plan.json" 2>/dev/null || true
echo "analysis of the planned resources: $(node "$here/analyze-cost.js" "$work/plan.json" $(( runs * 4 )) "${packs[@]}")"
