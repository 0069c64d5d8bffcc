package apimode

import (
	"testing"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

func TestEndpointURL(t *testing.T) {
	cases := []struct {
		name string
		b    routes.Backend
		ep   gateway.Endpoint
		want string
	}{
		{"endpoint embeddings", routes.Backend{Endpoint: "127.0.0.1:8000"}, gateway.EndpointEmbeddings, "http://127.0.0.1:8000/v1/embeddings"},
		{"endpoint https completions", routes.Backend{Endpoint: "h:443", Protocol: "https"}, gateway.EndpointCompletions, "https://h:443/v1/completions"},
		{"base_url", routes.Backend{BaseURL: "https://api.example.com/v1/"}, gateway.EndpointEmbeddings, "https://api.example.com/v1/embeddings"},
		{"azure deployment chat_path", routes.Backend{BaseURL: "https://x.openai.azure.com", ChatPath: "/openai/deployments/emb/chat/completions"},
			gateway.EndpointEmbeddings, "https://x.openai.azure.com/openai/deployments/emb/embeddings"},
		{"other chat_path shape: default layout", routes.Backend{Endpoint: "h:80", ChatPath: "/openai/chat"}, gateway.EndpointCompletions, "http://h:80/v1/completions"},
		{"other chat_path under base_url", routes.Backend{BaseURL: "https://api.example.com/v1", ChatPath: "/generate"}, gateway.EndpointCompletions, "https://api.example.com/v1/completions"},
		{"chat stays chat", routes.Backend{Endpoint: "h:80"}, gateway.EndpointChat, "http://h:80/v1/chat/completions"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := endpointURL(&tc.b, tc.ep); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
	// api_version is appended as for chat.
	c := endpointCall(&routes.Backend{Endpoint: "h:80", APIVersion: "2024-10-21"}, nil, gateway.EndpointEmbeddings)
	if c.url != "http://h:80/v1/embeddings?api-version=2024-10-21" {
		t.Fatalf("url %s", c.url)
	}
}
