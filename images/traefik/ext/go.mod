// Stand-in for Traefik's dynamic-config extension point, a nested module of Traefik's repository
// that the module proxy does not serve. The open-source build leaves it empty; Traefik v3
// embeds these types in its dynamic configuration, nothing more.
module github.com/traefik/traefik/dynamic/ext

go 1.26.0
