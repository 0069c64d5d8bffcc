package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
)

// BenchmarkRAGBodyFor renders a target's body with retrieved context
// injected (the per-target part of the rag plugin; retrieval ran once).
func BenchmarkRAGBodyFor(b *testing.B) {
	for _, mode := range []string{"system_prompt", "tool_role"} {
		b.Run(mode, func(b *testing.B) {
			search := newRAGSearch(b)
			spec := ragSpec(b, search, config.RAGPlugin{SimilarityThreshold: 0.5, InjectionMode: mode})
			spec.StageTimeout = time.Minute
			g := newGateway(b, spec, Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{dec: &Decision{Name: "rag", Confidence: 1}}})
			x := g.NewExchange()
			x.RequestHeaders("POST", "/v1/chat/completions", noHeaders)
			_, fwd := x.RequestBody(context.Background(), []byte(`{"model":"auto","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is the capital of France?"}]}`))
			if fwd == nil || len(x.routed.rag.docs) == 0 {
				b.Fatal("no context retrieved")
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := x.BodyFor(fwd.Targets[0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
