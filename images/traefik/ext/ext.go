// Package ext holds the (empty) extension types that Traefik's dynamic configuration embeds.
package ext

// HTTP extends Traefik's dynamic HTTP configuration; empty in the open-source build.
type HTTP struct{}

// Router extends Traefik's HTTP router configuration; empty in the open-source build.
type Router struct{}
