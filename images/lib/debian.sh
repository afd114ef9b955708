# Root filesystems of the Debian-based images: one debootstrap base, packages installed into a
# copy of it inside a chroot, then stripped to what a server needs. Source it; functions only.
# shellcheck shell=bash

# The release every Debian image is built from; its major versions are in the image tags
# (postgres:15-bookworm, redis:7-bookworm).
DEBIAN_SUITE=bookworm

# debian_archives: prints "MAIN_URI SECURITY_URI" of this machine's apt sources (deb822 files
# and the one-line format): the main archive is the first "deb" URI serving a plain suite, the
# security archive the first serving a "-security" suite (empty if none). The mirror is this
# machine's choice, never the repository's.
debian_archives() {
  local entries main="" security=""
  # One "URI SUITE..." line per source, from both formats.
  entries="$(
    for file in /etc/apt/sources.list.d/*.sources; do
      [[ -f "$file" ]] || continue
      awk 'BEGIN { RS = ""; FS = "\n" }
        { types = uris = suites = ""
          for (i = 1; i <= NF; i++) {
            if ($i ~ /^Types:/) types = substr($i, 7)
            if ($i ~ /^URIs:/) uris = substr($i, 6)
            if ($i ~ /^Suites:/) suites = substr($i, 8)
          }
          if (types ~ /(^|[ \t])deb([ \t]|$)/) { split(uris, u, " "); print u[1], suites } }' "$file"
    done
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [[ -f "$file" ]] || continue
      sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\{0,1\}\([^[:space:]]\+\)[[:space:]]\+\([^[:space:]]\+\).*/\2 \3/p' "$file"
    done
  )"
  local uri suites suite
  while read -r uri suites; do
    for suite in $suites; do
      if [[ "$suite" == *-security ]]; then
        [[ -n "$security" ]] || security="$uri"
      elif [[ "$suite" != *-* ]]; then
        [[ -n "$main" ]] || main="$uri"
      fi
    done
  done <<<"$entries"
  [[ -n "$main" ]] || die "no Debian archive in this machine's apt sources (/etc/apt/sources.list{,.d/})"
  printf '%s %s\n' "$main" "$security"
}

# debian_base DIR: a minbase $DEBIAN_SUITE root filesystem in DIR, unless DIR already holds one.
# Built in DIR.partial and renamed, so an interrupted run never leaves a half-made base behind.
debian_base() {
  local dir="$1" main
  [[ -f "$dir/etc/debian_version" ]] && return 0
  read -r main _ < <(debian_archives)
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
  rm -rf "$dir.partial"
  run_with_progress "debian $DEBIAN_SUITE base (debootstrap)" "$IMAGE_LOGS/debian-base.log" \
    debootstrap --variant=minbase "$DEBIAN_SUITE" "$dir.partial" "$main" \
    || die "debootstrap failed"
  rm -rf "$dir" && mv "$dir.partial" "$dir"
}

# in_chroot ROOT SCRIPT: runs SCRIPT with /bin/sh inside ROOT, in a mount namespace of its own,
# so /proc mounted there disappears with it whatever happens.
in_chroot() {
  local root="$1" script="$2"
  # shellcheck disable=SC2016 # the script is expanded by the sh it is given to, with its own $1 and $2
  unshare --mount --propagation private -- sh -euc '
    mount -t proc proc "$1/proc"
    exec chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
      DEBIAN_FRONTEND=noninteractive HOME=/root /bin/sh -euc "$2"
  ' in_chroot "$root" "$script"
}

# debian_install BASE ROOTFS PACKAGE...: ROOTFS becomes a copy of BASE with PACKAGE... (and
# their dependencies, without recommends) installed from the current $DEBIAN_SUITE archive
# and its security updates. No service starts during the installation.
debian_install() {
  local base="$1" rootfs="$2"; shift 2
  local main security
  read -r main security < <(debian_archives)
  rm -rf "$rootfs" && cp -a "$base" "$rootfs"
  {
    echo "deb $main $DEBIAN_SUITE $DEBIAN_SUITE-updates main"
    [[ -z "$security" ]] || echo "deb $security $DEBIAN_SUITE-security main"
  } >"$rootfs/etc/apt/sources.list"
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  printf '#!/bin/sh\n# No service starts while the image is built.\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  run_with_progress "apt-get install $*" "$IMAGE_LOGS/$(basename "$rootfs").apt.log" \
    in_chroot "$rootfs" "apt-get update -qq && apt-get install -y -qq --no-install-recommends $*" \
    || die "installing $* failed"
}

# debian_renumber ROOTFS NAME UID GID: gives user NAME the fixed UID and its group (also NAME)
# the fixed GID the pod specs run as, moving every file they own. The packages create them with
# the next free system IDs; the images' contract is a fixed one (images.json).
debian_renumber() {
  local rootfs="$1" name="$2" uid="$3" gid="$4"
  in_chroot "$rootfs" "
    old_uid=\$(id -u $name); old_gid=\$(id -g $name)
    groupmod --gid $gid $name
    usermod --uid $uid --gid $gid $name
    find / -xdev -uid \$old_uid -exec chown -h $uid {} +
    find / -xdev -gid \$old_gid -exec chgrp -h $gid {} +
  "
}

# debian_strip ROOTFS: removes what a server never reads (documentation, manual pages, message
# catalogs, locale sources, apt's package lists and caches, logs) and what the container runtime provides
# (/dev, resolv.conf), and the build-time service block.
debian_strip() {
  local rootfs="$1"
  rm -f "$rootfs/usr/sbin/policy-rc.d"
  [[ -f "$rootfs/etc/debian_version" ]] || die "debian_strip: $rootfs is not a Debian root filesystem"
  rm -rf "$rootfs"/usr/share/{doc,man,info,locale,lintian,i18n}/* \
    "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old \
    "$rootfs"/var/lib/dpkg/*-old "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/var/tmp/* \
    "${rootfs:?}"/dev/* "$rootfs"/root/.[!.]*
  : >"$rootfs/etc/resolv.conf"
}
