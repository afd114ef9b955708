// Command etcd is upstream etcd's own entry point, built from the Go module proxy because
// Debian's etcd (3.4) is older than Kubernetes supports.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
