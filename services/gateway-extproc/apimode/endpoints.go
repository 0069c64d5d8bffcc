package apimode

import (
	"strings"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// endpointCall is the call of a completions or embeddings body to b: the
// backend's OpenAI URL for the endpoint with its api-version query; the
// body is sent as the gateway rendered it (model rewritten) and the
// answer untranslated.
func endpointCall(b *routes.Backend, body []byte, ep gateway.Endpoint) upstreamCall {
	return upstreamCall{url: routes.WithAPIVersion(endpointURL(b, ep), b.APIVersion), body: body, backend: b}
}

// endpointURL is the URL of endpoint ep on b, derived from its chat URL
// (the OpenAI layout): chat_path, or the default /v1/chat/completions
// under endpoint or /chat/completions under base_url, with its
// /chat/completions replaced by /completions or /embeddings (an Azure
// deployment path keeps its deployment). A chat_path of another shape
// says nothing about the other endpoints: the default layout applies.
func endpointURL(b *routes.Backend, ep gateway.Endpoint) string {
	suffix := strings.TrimPrefix(ep.Path(), "/v1")
	if base, ok := strings.CutSuffix(backendURL(b), "/chat/completions"); ok {
		return base + suffix
	}
	def := *b
	def.ChatPath = ""
	return strings.TrimSuffix(backendURL(&def), strings.TrimPrefix(chatreq.PathChat, "/v1")) + suffix
}
