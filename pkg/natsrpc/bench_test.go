package natsrpc_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"connectrpc.com/connect"

	embeddingv1 "github.com/semrouter/semrouter/gen/semrouter/embedding/v1"
	"github.com/semrouter/semrouter/gen/semrouter/embedding/v1/embeddingv1connect"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/pkg/natstest"
)

// BenchmarkRoundTrip compares one unary Embed call (4 texts, 384-dim vectors)
// over NATS (default: uncompressed responses; nats-gzip: with response
// compression) with the same handler over HTTP/1.1 (httptest, keep-alive,
// gzip as connect negotiates it).
func BenchmarkRoundTrip(b *testing.B) {
	path, h := embeddingv1connect.NewEmbeddingServiceHandler(&embeddingService{id: "bench"})
	req := &embeddingv1.EmbedRequest{
		Texts:      []string{"what is the capital of france", "route me to a model", "hello world", "semantic routing over nats"},
		Dimensions: 384,
	}

	s := natstest.RunServer(b)
	srv, err := natsrpc.Serve(natstest.Connect(b, s), path, h)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Close)
	mux := http.NewServeMux()
	mux.Handle(path, h)
	hs := httptest.NewServer(mux)
	b.Cleanup(hs.Close)

	clients := []struct {
		name string
		cli  embeddingv1connect.EmbeddingServiceClient
	}{
		{"nats", embeddingv1connect.NewEmbeddingServiceClient(natsrpc.NewClient(natstest.Connect(b, s)), natsrpc.BaseURL)},
		{"nats-gzip", embeddingv1connect.NewEmbeddingServiceClient(natsrpc.NewClient(natstest.Connect(b, s), natsrpc.WithResponseCompression()), natsrpc.BaseURL)},
		{"http", embeddingv1connect.NewEmbeddingServiceClient(hs.Client(), hs.URL)},
	}
	for _, c := range clients {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				res, err := c.cli.Embed(ctx, connect.NewRequest(req))
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Msg.GetEmbeddings()) != 4 {
					b.Fatalf("got %d embeddings", len(res.Msg.GetEmbeddings()))
				}
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if _, err := c.cli.Embed(ctx, connect.NewRequest(req)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
