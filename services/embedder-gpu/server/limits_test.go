package server_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"

	embeddingv1 "github.com/semrouter/semrouter/gen/semrouter/embedding/v1"
	"github.com/semrouter/semrouter/gen/semrouter/embedding/v1/embeddingv1connect"
	"github.com/semrouter/semrouter/services/embedder-gpu/server"
)

// TestHTTPRequestSizeLimit: an Embed request above MaxRequestBytes is
// refused before it is buffered whole or tokenised.
func TestHTTPRequestSizeLimit(t *testing.T) {
	ms := loadModels(t)
	svc := newService(t, server.Model{Embedder: ms.glove})
	hs := httptest.NewServer(server.NewHTTPServer(svc).Handler)
	t.Cleanup(hs.Close)
	client := embeddingv1connect.NewEmbeddingServiceClient(hs.Client(), hs.URL)
	cases := []struct {
		name string
		size int
		want connect.Code
	}{
		{name: "one text", size: 32, want: 0},
		{name: "above the limit", size: server.MaxRequestBytes + 1<<20, want: connect.CodeResourceExhausted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := client.Embed(context.Background(), connect.NewRequest(&embeddingv1.EmbedRequest{Texts: []string{strings.Repeat("a", c.size)}}))
			if got := connect.CodeOf(err); (err == nil && c.want != 0) || (err != nil && got != c.want) {
				t.Fatalf("Embed of a %d-byte text: %v, want code %v", c.size, err, c.want)
			}
		})
	}
}
