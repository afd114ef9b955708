// Laid over lego's own file of this name in a build-time copy of the module (images/build.sh).
// Lego's file imports its ~180 ACME DNS-challenge providers, and the module proxy serves the
// SDKs of fifteen of them in no version at all, so Traefik cannot be built with it. Without
// it, Traefik's ACME DNS challenge is unavailable (the HTTP and TLS challenges are untouched);
// the local stack uses no ACME.
package dns

import (
	"fmt"

	"github.com/go-acme/lego/v5/challenge"
)

// NewDNSChallengeProviderByName is lego's provider factory, with no provider built in.
func NewDNSChallengeProviderByName(name string) (challenge.Provider, error) {
	return nil, fmt.Errorf("ACME DNS challenge provider %q: this Traefik build has no DNS providers", name)
}
