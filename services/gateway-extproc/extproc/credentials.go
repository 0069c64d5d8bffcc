package extproc

import (
	"strings"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/semrouter/semrouter/services/gateway-extproc/anthropic"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// HeaderSelectedBackend names the backend the router chose for a model
// whose backends carry different credentials: Envoy (config-hub's routes)
// then sends the request to that backend only, so its key never reaches
// another provider. Models whose backends share their credentials leave
// the choice to Envoy's load balancer and never get the header.
const HeaderSelectedBackend = "x-selected-backend"

// upstreamCredentials decides the credentials of the request Envoy sends
// to model m (nil: none is selected, Envoy takes its default route and the
// client's headers go through) and the backend whose other settings
// (api_version, chat_path, anthropic-version) apply. pinned is "" when
// every backend of m resolves to the same credentials and api_version (b
// is then the first backend); otherwise one backend is drawn by weight (as
// Envoy's cluster weights would) and named, so that Envoy pins it
// (config-hub pins models whose backends differ in either).
func (s *Server) upstreamCredentials(m *routes.Model) (creds routes.Credentials, pinned string, b *routes.Backend) {
	if m == nil || len(m.Backends) == 0 {
		return routes.Credentials{}, "", nil
	}
	credsOf := func(b *routes.Backend) routes.Credentials {
		if m.Anthropic() {
			b = anthropic.CredentialBackend(b)
		}
		return b.Credentials(s.env)
	}
	first := credsOf(&m.Backends[0])
	same := true
	for i := 1; i < len(m.Backends) && same; i++ {
		same = first.Equal(credsOf(&m.Backends[i])) && m.Backends[i].APIVersion == m.Backends[0].APIVersion
	}
	if same {
		return first, "", &m.Backends[0]
	}
	total := 0
	for i := range m.Backends {
		total += max(m.Backends[i].Weight, 1)
	}
	n := s.intN(total)
	pick := len(m.Backends) - 1
	for i := range m.Backends {
		if n -= max(m.Backends[i].Weight, 1); n < 0 {
			pick = i
			break
		}
	}
	b = &m.Backends[pick]
	return credsOf(b), b.Name, b
}

// selectedModel is the model of fwd's x-selected-model header (the one
// Envoy routes to), nil when the forward selects none.
func selectedModel(fwd *gateway.Forward) *routes.Model {
	name := ""
	for _, h := range fwd.SetHeaders {
		if h.Name == gateway.HeaderSelectedModelRoute {
			name = h.Value
		}
	}
	if name == "" {
		return nil
	}
	for _, t := range fwd.Targets {
		if t.Model != nil && t.Model.Name == name {
			return t.Model
		}
	}
	return nil
}

// requestMutation renders fwd's header edits plus the selected backend's
// credentials, and its api_version as the api-version query of :path
// (path is the request's :path). As in API mode the credentials win over the decision's
// header_mutation plugin: a plugin edit of a credential header is
// dropped, and a key removes the client's Authorization. Names are
// lower-cased (Envoy's header map is).
func (s *Server) requestMutation(fwd *gateway.Forward, path string) *extprocv3.HeaderMutation {
	m := selectedModel(fwd)
	creds, backend, b := s.upstreamCredentials(m)
	version, anthropicVersion := "", ""
	if b != nil {
		version = b.APIVersion
		if m.Anthropic() {
			// The Messages API path (chat_path when set) and version
			// header; the body was translated (translateRequest).
			path = b.ChatPath
			if path == "" {
				path = anthropic.DefaultPath
			}
			anthropicVersion = anthropic.Version(b)
		}
	}
	rewritePath := version != "" || (m.Anthropic() && b != nil)
	owned := make(map[string]bool, len(creds.Headers)+4)
	if rewritePath {
		owned[":path"] = true
	}
	if anthropicVersion != "" {
		owned[anthropic.HeaderVersion] = true
	}
	for _, h := range creds.Headers {
		owned[strings.ToLower(h.Name)] = true
	}
	owned[HeaderSelectedBackend] = true
	if creds.DropAuthorization {
		owned["authorization"] = true
	}
	hm := &extprocv3.HeaderMutation{}
	for _, h := range fwd.SetHeaders {
		if n := strings.ToLower(h.Name); !owned[n] {
			hm.SetHeaders = append(hm.SetHeaders, headerOption(n, h.Value))
		}
	}
	for _, n := range fwd.RemoveHeaders {
		if n = strings.ToLower(n); !owned[n] {
			hm.RemoveHeaders = append(hm.RemoveHeaders, n)
		}
	}
	// A header is either set or removed, never both: Envoy's order of the
	// two lists is not part of the protocol.
	setAuth := false
	for _, h := range creds.Headers {
		n := strings.ToLower(h.Name)
		setAuth = setAuth || n == "authorization"
		hm.SetHeaders = append(hm.SetHeaders, headerOption(n, h.Value))
	}
	if creds.DropAuthorization && !setAuth {
		hm.RemoveHeaders = append(hm.RemoveHeaders, "authorization")
	}
	if rewritePath && path != "" {
		hm.SetHeaders = append(hm.SetHeaders, headerOption(":path", routes.WithAPIVersion(path, version)))
	}
	if anthropicVersion != "" {
		hm.SetHeaders = append(hm.SetHeaders, headerOption(anthropic.HeaderVersion, anthropicVersion))
	}
	if backend != "" {
		hm.SetHeaders = append(hm.SetHeaders, headerOption(HeaderSelectedBackend, backend))
	} else {
		// Only the router pins a backend (a client's copy could match a
		// pinned route).
		hm.RemoveHeaders = append(hm.RemoveHeaders, HeaderSelectedBackend)
	}
	return hm
}
