package server_test

import (
	"context"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"

	embeddingv1 "github.com/semrouter/semrouter/gen/semrouter/embedding/v1"
	"github.com/semrouter/semrouter/gen/semrouter/embedding/v1/embeddingv1connect"
	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/services/classifier/classifier"
	"github.com/semrouter/semrouter/services/classifier/classifier/classifiertest"
	"github.com/semrouter/semrouter/services/classifier/heuristic"
	"github.com/semrouter/semrouter/services/classifier/server"
	"github.com/semrouter/semrouter/services/classifier/signal"
)

// hashEmbeddingService is a FAKE of the embedder service (the ONNX model
// cannot be assumed here): it answers EmbeddingService.Embed with the
// hashing bag-of-words test embedder, behind the real natsrpc transport.
type hashEmbeddingService struct {
	embeddingv1connect.UnimplementedEmbeddingServiceHandler
	emb   *classifiertest.HashEmbedder
	calls atomic.Int64
}

func (s *hashEmbeddingService) Embed(ctx context.Context, r *connect.Request[embeddingv1.EmbedRequest]) (*connect.Response[embeddingv1.EmbedResponse], error) {
	s.calls.Add(1)
	vs, err := s.emb.Embed(ctx, r.Msg.GetTexts())
	if err != nil {
		return nil, err
	}
	out := &embeddingv1.EmbedResponse{Model: r.Msg.GetModel()}
	for _, v := range vs {
		out.Embeddings = append(out.Embeddings, &embeddingv1.Embedding{Values: v})
	}
	return connect.NewResponse(out), nil
}

func TestNATSEmbedderCompilesCandidates(t *testing.T) {
	ns := natstest.RunServer(t)
	nc := natstest.Connect(t, ns)
	fake := &hashEmbeddingService{emb: &classifiertest.HashEmbedder{Name: "hash-model"}}
	path, h := embeddingv1connect.NewEmbeddingServiceHandler(fake)
	srv, err := natsrpc.Serve(nc, path, h, natsrpc.WithProcedureSuffixes(embeddingv1connect.EmbeddingServiceEmbedProcedure, "hash-model"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)

	emb := server.NewNATSEmbedder(nc, "hash-model", 4, 0)
	cfg, _, err := config.Parse(quickstart(t), "quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := classifier.Compile(context.Background(), cfg, emb)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings()) > 0 {
		t.Fatalf("warnings: %v", c.Warnings())
	}
	// 3 installation + 6 complexity candidates in chunks of 4.
	if got := fake.calls.Load(); got != 3 {
		t.Errorf("embedder service called %d times, want 3 chunks", got)
	}
	const prompt = "prove this step by step"
	req := &classifier.Request{Messages: []heuristic.Message{{Role: heuristic.RoleUser, Text: prompt}}, Query: fake.emb.Vector(prompt)}
	res, err := c.Classify(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := res.Matched(signal.Complexity, "reasoning_need:hard"); !ok {
		t.Errorf("reasoning_need:hard not matched: %+v %+v", res.Signals, res.Degraded)
	}
}
