#!/usr/bin/env bash
# One connection of the API server's egress proxy (the kubelet-egress component, netns.sh):
# socat runs this inside the real node's network namespace for every connection the API server
# opens on the proxy's Unix socket. It reads an HTTP CONNECT request for an IPv4 address and
# port, answers 200 and from then on relays bytes to that address, dialled from inside the
# namespace. So `kubectl logs/exec/port-forward` reach the kubelet while the API server itself
# never sends a packet to a node or pod address.
set -euo pipefail
IFS=' ' read -r method target _ || exit 0
# The headers up to the empty line; bash reads a socket byte by byte, so nothing after them is
# consumed here.
while IFS= read -r line && [[ -n "${line%$'\r'}" ]]; do :; done
if [[ "$method" != CONNECT || ! "$target" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}:[0-9]{1,5}$ ]]; then
  printf 'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'
  exit 0
fi
# One line a connection in the component's log: what the API server reached (a kubelet, or a
# Service address for a webhook or an aggregated API), for an operator and for the tests.
printf '%(%FT%T%z)T CONNECT %s\n' -1 "$target" >&2
printf 'HTTP/1.1 200 Connection established\r\n\r\n'
exec socat STDIO "TCP:$target,connect-timeout=10"
