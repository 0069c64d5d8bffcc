package routes

import (
	"net/url"
	"strings"
)

// QueryAPIVersion is the query parameter backend_refs[].api_version is
// sent as (Azure OpenAI style). API mode adds it to the backend URL;
// ext_proc mode rewrites :path.
const QueryAPIVersion = "api-version"

// WithAPIVersion sets the api-version query parameter of target (a URL or
// an HTTP request path, with or without a query), replacing one already
// there; target is returned unchanged when version is "". The other query
// parameters are kept (re-encoded, sorted by name).
func WithAPIVersion(target, version string) string {
	if version == "" {
		return target
	}
	base, query, _ := strings.Cut(target, "?")
	q, _ := url.ParseQuery(query) // keeps the pairs that parse
	q.Set(QueryAPIVersion, version)
	return base + "?" + q.Encode()
}
