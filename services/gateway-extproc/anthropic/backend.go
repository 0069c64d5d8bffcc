package anthropic

import (
	"strings"

	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// DefaultPath is the Messages API path of a backend without chat_path.
const DefaultPath = "/v1/messages"

// CredentialBackend is b as its credentials apply to the Messages API: the
// key goes in x-api-key without prefix, unless the backend sets
// auth_header or auth_prefix (then routes.Backend.Credentials applies them
// as configured).
func CredentialBackend(b *routes.Backend) *routes.Backend {
	if b.AuthHeader != "" || b.AuthPrefix != "" {
		return b
	}
	cp := *b
	cp.AuthHeader = HeaderAPIKey
	return &cp
}

// Version is the anthropic-version header to set for b: DefaultVersion,
// or "" when b's extra_headers set the header themselves.
func Version(b *routes.Backend) string {
	for k := range b.ExtraHeaders {
		if strings.EqualFold(k, HeaderVersion) {
			return ""
		}
	}
	return DefaultVersion
}
