// The local cluster's CoreDNS: upstream's server (coremain) with only the plugins its Corefile
// (cluster/addons/coredns.yaml) uses, plus hosts, from which the image tests get an answer
// without an API server. Upstream's command links all of its ~60 plugins, among them
// the AWS, Azure and Google Cloud DNS SDKs, etcd's client and a tracer, all compiled on the first
// command's cold path for code the cluster never runs. CoreDNS
// supports this build: the plugins are chosen by import, their order by dnsserver.Directives.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"
)

// The order a request passes the plugins in: upstream's (core/dnsserver/zdirectives.go, made from
// its plugin.cfg), restricted to the plugins imported above. The image tests start this binary
// with the cluster's Corefile, so a directive missing here fails there.
func init() {
	dnsserver.Directives = []string{"ready", "health", "errors", "cache", "hosts", "kubernetes"}
}

func main() { coremain.Run() }
