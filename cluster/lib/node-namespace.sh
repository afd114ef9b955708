#!/usr/bin/env bash
# Runs inside the fresh network and mount namespaces that `unshare` made for a real node (see
# netns.sh), prepares them, then stays as the process that holds them: every node process and
# `local-cluster.sh netns-exec` enters them through its pid.
#
#   node-namespace.sh NAME NODE_DIR NODE_IP NODE_PREFIX SERVICE_CIDR
#
# NAME is the path the holder shows as its argv[0] (in the state folder's run/, for is_ours).
#
# Network: loopback and a bridge holding the node's address, which the CNI bridge plugin then
# uses as the pods' gateway. Nothing connects this namespace to the host's: no interface pair,
# no route out. Service addresses are routed to the bridge so that kube-proxy's NAT rules see
# connections the namespace itself opens (probes, netns-exec).
#
# Mounts (private to this namespace, gone with it): the fixed paths a kubelet, containerd and
# the CNI plugins use whatever their configuration says (/var/lib/kubelet/device-plugins,
# /var/log/containers, /run/containerd/s, /var/lib/cni) are folders of this node's state, and
# /run is a tmpfs of its own, so two clusters on one machine never share or leave anything there.
set -euo pipefail
name="$1" node_dir="$2" node_ip="$3" node_prefix="$4" service_cidr="$5"

mount --make-rslave /
mount -t tmpfs -o mode=0755 exchange-node-run /run
mount --bind "$node_dir/var-log" /var/log
mount --bind "$node_dir/kubelet" /var/lib/kubelet
mount --bind "$node_dir/cni-cache" /var/lib/cni

ip link set lo up
ip link add cni0 type bridge
ip address add "$node_ip/$node_prefix" dev cni0
ip link set cni0 up
ip route add "$service_cidr" dev cni0
# Per-namespace settings: pods reach Services through this namespace's NAT, and bridged pod
# traffic passes its iptables rules.
sysctl -q -w net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1

exec -a "$name" sleep infinity
