package routes

import (
	"slices"
	"strings"
)

// HeaderAuthorization is the default credential header of a backend.
const HeaderAuthorization = "Authorization"

// Credentials are what a backend's provider settings (backend_refs[]
// api_key / api_key_env, auth_header, auth_prefix, extra_headers) put on an
// upstream request. API mode applies them to each attempt; ext_proc mode
// turns them into header mutations. Values are secrets: never log them.
type Credentials struct {
	// DropAuthorization is true when the backend has a key: the client's
	// Authorization header must not reach it (the key's header replaces
	// it, whatever its name).
	DropAuthorization bool
	// Headers are set on the upstream request, replacing any value the
	// client sent: the extra headers sorted by name, then the key's
	// header. Names are as configured (compare them case-insensitively);
	// no two are equal ignoring case except when extra_headers itself
	// repeats a name in two spellings, the later one then wins.
	Headers []Header
}

// Credentials resolves b's credentials; env looks up api_key_env (a set,
// non-empty variable wins over api_key).
func (b *Backend) Credentials(env func(string) string) Credentials {
	key := b.APIKey
	if b.APIKeyEnv != "" && env != nil {
		if v := env(b.APIKeyEnv); v != "" {
			key = v
		}
	}
	name := b.AuthHeader
	if name == "" {
		name = HeaderAuthorization
	}
	var c Credentials
	if len(b.ExtraHeaders) > 0 {
		c.Headers = make([]Header, 0, len(b.ExtraHeaders)+1)
	}
	for k, v := range b.ExtraHeaders {
		// With a key, the key's header and Authorization belong to the
		// key alone.
		if key != "" && (strings.EqualFold(k, HeaderAuthorization) || strings.EqualFold(k, name)) {
			continue
		}
		c.Headers = append(c.Headers, Header{Name: k, Value: v})
	}
	slices.SortFunc(c.Headers, func(a, b Header) int { return strings.Compare(a.Name, b.Name) })
	if key == "" {
		return c
	}
	prefix := b.AuthPrefix
	if prefix == "" && strings.EqualFold(name, HeaderAuthorization) {
		prefix = "Bearer"
	}
	value := key
	if prefix != "" {
		value = prefix + " " + key
	}
	c.DropAuthorization = true
	c.Headers = append(c.Headers, Header{Name: name, Value: value})
	return c
}

// IsZero reports whether c changes nothing (no key, no extra headers).
func (c Credentials) IsZero() bool { return !c.DropAuthorization && len(c.Headers) == 0 }

// Equal reports whether c and o put the same headers on a request.
func (c Credentials) Equal(o Credentials) bool {
	return c.DropAuthorization == o.DropAuthorization && slices.Equal(c.Headers, o.Headers)
}
