//go:build tools

// Package tools keeps the upstream CLI's main package in this module's build list, so
// `go mod tidy` keeps its requirements and `go build github.com/pulumi/pulumi/pkg/v3/cmd/pulumi`
// works from this directory.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
