// Command pulumi-resource-kubernetes serves the upstream Kubernetes provider. Upstream's own
// cmd/pulumi-resource-kubernetes cannot be built from the module zip: it embeds
// schema-embed.json and terraform-mapping-embed.json, which its Makefile generates and which
// are not in the zip. build-pulumi.sh generates both next to this file (go run ./gen) first.
package main

import (
	"context"
	_ "embed"
	"os"
	"strings"
	"time"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	exitWhenEngineGoes()
	// version.Version is set with -ldflags -X; the provider reports it to the engine.
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}

// exitWhenEngineGoes makes the provider exit once the engine that started it stops answering
// (checked every minute), as a killed `pulumi` leaves its plugins behind. The provider.Main of
// pkg/v3 v3.215.0 starts such a check too, but what it cancels is a shadowed context that
// nothing watches, so without this each killed run left a provider process running for good.
func exitWhenEngineGoes() {
	// The engine passes its address as the last argument, after any flags.
	if len(os.Args) < 2 || strings.HasPrefix(os.Args[len(os.Args)-1], "-") {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := rpcutil.Healthcheck(ctx, os.Args[len(os.Args)-1], time.Minute, cancel); err != nil {
		return // provider.Serve reports a bad address itself
	}
	go func() {
		<-ctx.Done()
		os.Exit(1)
	}()
}
