#!/usr/bin/env bash
# Builds the local stack's container images on this machine, where no registry serves any
# image: the Go programs from the module proxy, PostgreSQL and Redis from Debian packages.
#
#   images/build.sh [NAME...]      NAME: pause coredns traefik postgres redis router ws-stream
#                                  metrics-server prometheus (default: every image not marked
#                                  "onDemand" in images.json; those only some clusters run are
#                                  built when named: a cluster add-on never grows the first
#                                  command's path)
#
# Prints one line per image on stdout, "<image-ref> <archive-path>", the archive being an OCI
# image layout tar for `ctr -n k8s.io images import`; progress goes to stderr. Each archive's
# name carries a hash of everything its image is made from (recipe files, Go sources, versions,
# Go release, Debian archive): an image is rebuilt only when that hash changes, so a warm run
# takes seconds, and a changed archive path tells an importer that the image changed.
set -euo pipefail
IMAGES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../toolchain/lib.sh
. "$IMAGES_DIR/../toolchain/lib.sh"
# shellcheck source=lib/debian.sh
. "$IMAGES_DIR/lib/debian.sh"

IMAGE_HOME="$EXCHANGE_CACHE/images"
IMAGE_WORK="$IMAGE_HOME/work"
IMAGE_LOGS="$EXCHANGE_CACHE/logs/images"

# Each image's reference, user and ports are in images.json (the Go tests and the stack's tests
# read the same file); what is only about how an image is made stays here and in NAME/image.json.
IMAGE_FACTS="$IMAGES_DIR/images.json"
command -v jq >/dev/null || die "jq is not installed (see toolchain/debian-packages.txt)"

# with_versions TEXT: TEXT with every ${NAME} replaced by NAME's value in toolchain/versions.env.
with_versions() {
  local text="$1" name
  while [[ "$text" =~ \$\{([A-Z0-9_]+)\} ]]; do
    name="${BASH_REMATCH[1]}"
    grep -q "^$name=" "$TOOLCHAIN_DIR/versions.env" || die "images.json: \${$name} is not in toolchain/versions.env"
    text="${text//"\${$name}"/${!name}}"
  done
  printf '%s\n' "$text"
}

# The references are fixed: the node's containerd config and the stack config use them as is.
declare -A IMAGE_REF=()
ALL_IMAGES=() DEFAULT_IMAGES=()
while read -r name ref on_demand; do
  ALL_IMAGES+=("$name")
  [[ "$on_demand" == true ]] || DEFAULT_IMAGES+=("$name")
  IMAGE_REF[$name]="$(with_versions "$ref")"
done < <(jq -r '.repository as $repository | .images | to_entries[] | "\(.key) \($repository)/\(.key):\(.value.tag) \(.value.onDemand // false)"' "$IMAGE_FACTS")
((${#ALL_IMAGES[@]})) || die "images.json names no image"

# image_facts NAME: image NAME's entry of images.json, on one line.
image_facts() { jq -ce --arg name "$1" '.images[$name]' "$IMAGE_FACTS"; }

# image_user NAME: "USER UID GID" of the user image NAME runs as; nothing if images.json lacks one
# (the caller's `read` then fails).
image_user() {
  jq -r --arg name "$1" '.images[$name].user | select(.name and .uid and .gid) | "\(.name) \(.uid) \(.gid)"' "$IMAGE_FACTS"
}

# image_config NAME: the image config ocitool writes: NAME/image.json (entry point, command,
# environment: how the image is made) with the user, the exposed ports and the variables that
# tell the program its ports, from images.json.
image_config() {
  jq -e --argjson image "$(image_facts "$1")" --arg file "images/$1/image.json" '
    if has("User") or has("ExposedPorts") then error("\($file): User and ExposedPorts come from images.json") else . end
    | .User = "\($image.user.uid):\($image.user.gid)"
    | if ($image.ports | length) > 0 then
        .ExposedPorts = ($image.ports | map({key: "\(.port)/\(.protocol | ascii_downcase)", value: {}}) | from_entries)
      else . end
    | [$image.ports[] | select(.env) | "\(.env)=\(.port)"] as $port_env
    | if ($port_env | length) > 0 then .Env = (.Env // []) + $port_env else . end
  ' "$IMAGES_DIR/$1/image.json"
}
DEBIAN_IMAGES=" postgres redis "

command -v go >/dev/null || die "go is not on PATH"
GO_RELEASE="$(go env GOVERSION)"
# Static binaries without this machine's paths in them.
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath -buildvcs=false"

# inputs_hash ITEM...: 16 hex digits over ITEMs, each a path under images/ (every file's path
# and content) or a literal "=value" (a version, the Go release, a mirror).
inputs_hash() {
  local item
  for item in "$@"; do
    if [[ "$item" == =* ]]; then
      printf '%s\n' "$item"
    else
      [[ -e "$IMAGES_DIR/$item" ]] || die "inputs_hash: no $item under images/"
      (cd "$IMAGES_DIR" && find "$item" -type f -print0 | sort -z | xargs -0 sha256sum)
    fi
  done | sha256sum | cut -c1-16
}

# What every image is made from besides its own folder: this script and the archive writer.
COMMON_INPUTS=(build.sh go.mod ocitool "=$GO_RELEASE")

# image_inputs NAME: the inputs of one image, for inputs_hash.
image_inputs() {
  local name="$1"
  printf '%s\n' "${COMMON_INPUTS[@]}" "$name" "=${IMAGE_REF[$name]}" "=$(image_facts "$name")"
  case "$name" in
    pause) echo go.sum ;;
    router | ws-stream) echo go.sum; echo testapp ;;
    coredns) echo "=coredns $COREDNS_VERSION" ;; # its folder (go.mod, main.go) is "$name" above
    traefik) echo "=traefik $TRAEFIK_VERSION" ;;
    metrics-server) echo "=metrics-server $METRICS_SERVER_VERSION" ;;
    prometheus) echo "=prometheus $PROMETHEUS_VERSION" ;;
    postgres | redis) echo lib/debian.sh; echo "=$DEBIAN_SUITE $(debian_archives)" ;;
  esac
}

# build_ocitool: sets OCITOOL to the archive writer, built once per source hash.
build_ocitool() {
  OCITOOL="$IMAGE_WORK/ocitool-$(inputs_hash go.mod ocitool "=$GO_RELEASE")"
  if [[ ! -x "$OCITOOL" ]]; then
    (cd "$IMAGES_DIR" && go build -o "$OCITOOL.partial" ./ocitool) || die "ocitool did not build"
    mv "$OCITOOL.partial" "$OCITOOL"
    find "$IMAGE_WORK" -maxdepth 1 -name 'ocitool-*' ! -path "$OCITOOL" -delete
  fi
}

# static_rootfs ROOTFS NAME: the few files image NAME, a static Go program, has besides the
# program: a passwd and group entry for its user, /tmp, and the resolver's lookup order.
static_rootfs() {
  local rootfs="$1" user uid gid
  read -r user uid gid < <(image_user "$2")
  mkdir -p "$rootfs/etc" "$rootfs/tmp"
  chmod 1777 "$rootfs/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\n%s:x:%s:%s:%s:/nonexistent:/sbin/nologin\n' "$user" "$uid" "$gid" "$user" >"$rootfs/etc/passwd"
  printf 'root:x:0:\n%s:x:%s:\n' "$user" "$gid" >"$rootfs/etc/group"
  echo 'hosts: files dns' >"$rootfs/etc/nsswitch.conf"
}

# go_program ROOTFS DIR: builds the command in images/DIR into ROOTFS/DIR.
go_program() {
  (cd "$IMAGES_DIR" && go build -ldflags "-s -w" -o "$1/$2" "./$2")
}

# Each build_NAME ROOTFS fills an empty root filesystem folder; ocitool packs it with
# image_config NAME as the image config. OCITOOL_ARGS_NAME adds per-image ocitool flags.

build_pause() { static_rootfs "$1" pause && go_program "$1" pause; }
build_router() { static_rootfs "$1" router && go_program "$1" router; }
build_ws_stream() { static_rootfs "$1" ws-stream && go_program "$1" ws-stream; }

# CoreDNS with the cluster's plugins only (coredns/main.go says why).
build_coredns() {
  grep -q "^require github.com/coredns/coredns v$COREDNS_VERSION$" "$IMAGES_DIR/coredns/go.mod" \
    || die "images/coredns/go.mod does not require CoreDNS v$COREDNS_VERSION (toolchain/versions.env); update it and run go mod tidy there"
  static_rootfs "$1" coredns
  (cd "$IMAGES_DIR/coredns" && go build -ldflags "-s -w" -o "$1/coredns" .)
}
# Port 53 as a non-root user: the binary carries CAP_NET_BIND_SERVICE as a file capability, as the
# upstream image does; the container must have that capability in its set (add it, drop ALL).
# shellcheck disable=SC2034 # read by name (OCITOOL_ARGS_NAME) when the image is packed
OCITOOL_ARGS_coredns=(-file-capability /coredns=cap_net_bind_service)

# Modules Traefik is built with whose copy gets the files under traefik/_overlay/<module>/ laid
# over it: the module proxy lacks what they need upstream (the files say what and why).
TRAEFIK_OVERLAID_MODULES=(github.com/go-acme/lego/v5 github.com/abbot/go-http-auth)

build_traefik() {
  local rootfs="$1" src="$IMAGE_WORK/traefik-src" module dir copy
  grep -q "^[[:space:]]*github.com/traefik/traefik/v3 v$TRAEFIK_VERSION\b" "$IMAGES_DIR/traefik/go.mod" \
    || die "images/traefik/go.mod does not require Traefik v$TRAEFIK_VERSION; run images/traefik/update-module.sh"
  static_rootfs "$rootfs" traefik
  # A scratch copy of the wrapper module, in which each overlaid module is a local folder.
  rm -rf "$src" && mkdir -p "$src"
  cp -r "$IMAGES_DIR/traefik/go.mod" "$IMAGES_DIR/traefik/go.sum" "$IMAGES_DIR/traefik/ext" "$src/"
  for module in "${TRAEFIK_OVERLAID_MODULES[@]}"; do
    dir="$(cd "$src" && module_dir "$module")"
    copy="$src/${module//\//_}"
    cp -r "$dir" "$copy"
    chmod -R u+w "$copy"
    cp -r "$IMAGES_DIR/traefik/_overlay/$module/." "$copy/"
    # A folder replacement needs a go.mod; modules older than Go modules have none (their
    # requirements are in the wrapper's go.mod already).
    [[ -f "$copy/go.mod" ]] || printf 'module %s\n\ngo 1.12\n' "$module" >"$copy/go.mod"
    go -C "$src" mod edit -replace "$module=./${module//\//_}"
  done
  go -C "$src" build -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=v$TRAEFIK_VERSION" \
    -o "$rootfs/traefik" github.com/traefik/traefik/v3/cmd/traefik
  rm -rf "$src"
}

# metrics-server, upstream's command as its Makefile builds it (the version in client-go's
# variables, which its /version and User-Agent report).
build_metrics_server() {
  grep -q "^[[:space:]]*sigs.k8s.io/metrics-server v$METRICS_SERVER_VERSION\b" "$IMAGES_DIR/metrics-server/go.mod" \
    || die "images/metrics-server/go.mod does not require metrics-server v$METRICS_SERVER_VERSION (toolchain/versions.env); run go get -tool sigs.k8s.io/metrics-server/cmd/metrics-server@v$METRICS_SERVER_VERSION there"
  static_rootfs "$1" metrics-server
  (cd "$IMAGES_DIR/metrics-server" && go build -ldflags "-s -w -X k8s.io/client-go/pkg/version.gitVersion=v$METRICS_SERVER_VERSION" \
    -o "$1/metrics-server" sigs.k8s.io/metrics-server/cmd/metrics-server)
}

# Prometheus with Kubernetes service discovery only (the module's plugins/ registers each
# mechanism behind these tags, so the other mechanisms' cloud SDKs stay out), and promtool, which
# shares its packages, for the alert rules' unit tests. The release in the version variables, as
# upstream's .promu.yml sets it (--version, the prometheus_build_info metric).
build_prometheus() {
  local major minor patch module command
  IFS=. read -r major minor patch <<<"$PROMETHEUS_VERSION"
  module="v0.$((major * 100 + minor)).$patch"
  grep -q "^[[:space:]]*github.com/prometheus/prometheus $module\b" "$IMAGES_DIR/prometheus/go.mod" \
    || die "images/prometheus/go.mod does not require github.com/prometheus/prometheus $module (Prometheus $PROMETHEUS_VERSION, toolchain/versions.env); run go get -tool github.com/prometheus/prometheus/cmd/{prometheus,promtool}@$module there"
  static_rootfs "$1" prometheus
  for command in prometheus promtool; do
    (cd "$IMAGES_DIR/prometheus" && go build -tags remove_all_sd,enable_kubernetes_sd \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION" \
      -o "$1/$command" "github.com/prometheus/prometheus/cmd/$command")
  done
}

# debian_base_dir: the shared Debian root filesystem, built once per recipe and archive.
debian_base_dir() {
  local dir
  # Keyed by the debootstrap step itself, so changes to the later steps reuse the base.
  dir="$IMAGE_WORK/debian-$DEBIAN_SUITE-$(inputs_hash "=$(declare -f debian_base)" "=$DEBIAN_SUITE $(debian_archives)")"
  debian_base "$dir"
  find "$IMAGE_WORK" -maxdepth 1 -name "debian-$DEBIAN_SUITE-*" ! -path "$dir" -exec rm -rf {} +
  printf '%s\n' "$dir"
}

build_postgres() {
  local rootfs="$1" base user uid gid major="${IMAGE_REF[postgres]##*:}"
  major="${major%%-*}"
  grep -q "PATH=/usr/lib/postgresql/$major/bin:" "$IMAGES_DIR/postgres/image.json" \
    || die "images/postgres/image.json: PATH does not start with PostgreSQL $major's programs"
  grep -q "\"PG_MAJOR=$major\"" "$IMAGES_DIR/postgres/image.json" \
    || die "images/postgres/image.json: PG_MAJOR is not $major, the major version in the tag"
  base="$(debian_base_dir)"
  # pgBackRest: WAL archiving, backups and restores to an S3-compatible store (docs/backups.md).
  debian_install "$base" "$rootfs" "postgresql-$major" pgbackrest
  [[ -x "$rootfs/usr/lib/postgresql/$major/bin/postgres" ]] || die "postgresql-$major installed no server"
  read -r user uid gid < <(image_user postgres)
  debian_renumber "$rootfs" "$user" "$uid" "$gid"
  in_chroot "$rootfs" "
    # The package's own cluster: the entry point makes one in PGDATA instead.
    rm -rf /etc/postgresql/$major /var/lib/postgresql/$major
    # Left out: JIT compilation (LLVM and its solver, a third of the image; PostgreSQL runs
    # without it) and Perl (only Debian's cluster-management wrappers use it; PATH leads to
    # the server's own programs).
    dpkg --purge --force-depends libllvm14 libz3-4 perl perl-modules-5.36 libperl5.36 >/tmp/purge.log 2>&1 \
      || { cat /tmp/purge.log; exit 1; }
    rm -rf /usr/lib/postgresql/$major/lib/llvmjit* /usr/lib/postgresql/$major/lib/bitcode
    # pgBackRest is configured by PGBACKREST_* variables only (components/postgres-backup.ts).
    rm -f /etc/pgbackrest.conf /etc/pgbackrest/pgbackrest.conf
    [ -x /usr/bin/pgbackrest ]
    # Listen on every address, as the official image's sample configuration does.
    sed -ri \"s/^#?(listen_addresses)[[:space:]]*=[[:space:]]*[^[:space:]]+/\\1 = '*'/\" /usr/share/postgresql/$major/postgresql.conf.sample
    grep -q \"^listen_addresses = '\\*'\" /usr/share/postgresql/$major/postgresql.conf.sample
    mkdir -p /var/lib/postgresql/data /var/run/postgresql /docker-entrypoint-initdb.d
    chown $user:$user /var/lib/postgresql/data /var/run/postgresql
    chmod 700 /var/lib/postgresql/data
    chmod 3777 /var/run/postgresql
  "
  install -m 755 "$IMAGES_DIR/postgres/docker-entrypoint.sh" "$IMAGES_DIR/postgres/pgbackrest-restore" \
    "$IMAGES_DIR/postgres/pgbackrest-scheduler" "$rootfs/usr/local/bin/"
  debian_strip "$rootfs"
}

build_redis() {
  local rootfs="$1" base user uid gid
  base="$(debian_base_dir)"
  debian_install "$base" "$rootfs" redis-server
  read -r user uid gid < <(image_user redis)
  debian_renumber "$rootfs" "$user" "$uid" "$gid"
  in_chroot "$rootfs" "mkdir -p /data && chown $user:$user /data"
  install -m 755 "$IMAGES_DIR/redis/docker-entrypoint.sh" "$rootfs/usr/local/bin/docker-entrypoint.sh"
  debian_strip "$rootfs"
}

# How many archives of one image the cache keeps, the most recently built or used first. More than
# one: two checkouts at different commits (a CI clone beside a working tree) build different
# archives of an image, and a cluster of each imports its own; deleting every other archive at
# each build had one checkout's build delete what the other's cluster was about to import.
ARCHIVES_KEPT=3

# prune_archives NAME TAG: all but the ARCHIVES_KEPT newest archives of image NAME:TAG.
prune_archives() {
  find "$IMAGE_HOME" -maxdepth 1 -name "$1-$2-*.oci.tar" -printf '%T@ %p\n' | sort -rn \
    | tail -n +$((ARCHIVES_KEPT + 1)) | cut -d' ' -f2- | xargs -r rm -f
}

# build_image NAME: the image's archive, from the cache or built now; writes
# "<ref> <archive>" to $IMAGE_WORK/NAME.result.
build_image() {
  local name="$1" ref="${IMAGE_REF[$1]}" hash archive rootfs start=$SECONDS
  local -a inputs extra=()
  mapfile -t inputs < <(image_inputs "$name")
  hash="$(inputs_hash "${inputs[@]}")"
  archive="$IMAGE_HOME/$name-${ref##*:}-$hash.oci.tar"
  if [[ ! -s "$archive" ]]; then
    log "$name: building ${ref} (log $IMAGE_LOGS/$name.log)"
    rootfs="$IMAGE_WORK/$name.rootfs"
    rm -rf "$rootfs" && mkdir -p "$rootfs"
    run_with_progress "$name: root filesystem" "$IMAGE_LOGS/$name.log" "build_${name//-/_}" "$rootfs"
    if declare -p "OCITOOL_ARGS_${name//-/_}" &>/dev/null; then
      local -n image_args="OCITOOL_ARGS_${name//-/_}"
      extra=("${image_args[@]}")
    fi
    image_config "$name" >"$IMAGE_WORK/$name.config.json"
    "$OCITOOL" write -rootfs "$rootfs" -config "$IMAGE_WORK/$name.config.json" -ref "$ref" \
      -out "$archive" ${extra[@]+"${extra[@]}"}
    rm -rf "$rootfs" "$IMAGE_WORK/$name.config.json"
    prune_archives "$name" "${ref##*:}"
    log "$name: $(du -h "$archive" | cut -f1) in $((SECONDS - start)) s"
  else
    # Used now: the newest for prune_archives.
    touch "$archive"
    log "$name: up to date ($(basename "$archive"))"
  fi
  printf '%s %s\n' "$ref" "$archive" >"$IMAGE_WORK/$name.result"
}

main() {
  local -a wanted=("$@") go_images=() debian_images=()
  ((${#wanted[@]})) || wanted=("${DEFAULT_IMAGES[@]}")
  local name
  for name in "${wanted[@]}"; do
    [[ -n "${IMAGE_REF[$name]:-}" ]] || die "unknown image '$name' (known: ${ALL_IMAGES[*]})"
    if [[ "$DEBIAN_IMAGES" == *" $name "* ]]; then debian_images+=("$name"); else go_images+=("$name"); fi
  done

  mkdir -p "$IMAGE_WORK" "$IMAGE_LOGS"
  # One build at a time per cache: a second caller waits, then finds the images made.
  exec 9>"$IMAGE_HOME/.build.lock"
  flock 9
  rm -f "$IMAGE_WORK"/*.result
  build_ocitool

  # Two lanes side by side: the Debian images mostly download, the Go ones mostly compile.
  # Each lane stops at its first failure. (Never call build_image where its status is tested,
  # `build_image || ...`: bash would then ignore errexit in every build step it runs.)
  local -a lanes=()
  local lane status=0
  if ((${#debian_images[@]})); then
    (for name in "${debian_images[@]}"; do build_image "$name"; done) &
    lanes+=($!)
  fi
  if ((${#go_images[@]})); then
    (for name in "${go_images[@]}"; do build_image "$name"; done) &
    lanes+=($!)
  fi
  for lane in "${lanes[@]}"; do wait "$lane" || status=1; done
  ((status == 0)) || die "some images did not build"

  for name in "${wanted[@]}"; do cat "$IMAGE_WORK/$name.result"; done
}

main "$@"
