#!/bin/sh
# Entry point of the Redis image: the official `redis` image's interface on Debian's server.
# Arguments that start with "-" (or a first argument ending in .conf) are arguments to
# redis-server. Protected mode is off, as the official image builds it: a container is
# reached through its pod address, not loopback, and access is a NetworkPolicy's job; a
# later --protected-mode yes (or --requirepass) still applies.
#
# Writes only to its working folder /data: the root can be read-only.
set -eu

if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi

if [ "$1" = redis-server ]; then
  shift
  # redis-server takes a config file only as its first argument; the option goes after it.
  if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    config="$1"
    shift
    set -- redis-server "$config" --protected-mode no "$@"
  else
    set -- redis-server --protected-mode no "$@"
  fi
  # Started as root (not how the platform runs it): own /data, then drop to redis.
  if [ "$(id -u)" = 0 ]; then
    chown redis:redis /data
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi

exec "$@"
