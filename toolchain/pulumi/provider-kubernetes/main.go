// Command pulumi-resource-kubernetes serves the upstream Kubernetes provider. Upstream's own
// cmd/pulumi-resource-kubernetes cannot be built from the module zip: it embeds
// schema-embed.json and terraform-mapping-embed.json, which its Makefile generates and which
// are not in the zip. build-pulumi.sh generates both next to this file (go run ./gen) first.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	// version.Version is set with -ldflags -X; the provider reports it to the engine.
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
