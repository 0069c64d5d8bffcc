package gateway

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/semrouter/semrouter/pkg/metrics"
)

// body2KB is a ~2 KB multi-turn chat request.
func body2KB() []byte {
	var sb strings.Builder
	sb.WriteString(`{"model":"auto","temperature":0.2,"max_tokens":512,"messages":[`)
	sb.WriteString(`{"role":"system","content":"You are a helpful assistant that answers briefly and precisely."},`)
	turn := strings.Repeat("Please explain how the quarterly revenue forecast changes with churn. ", 4)
	for i := 0; i < 3; i++ {
		sb.WriteString(`{"role":"user","content":"` + turn + `"},`)
		sb.WriteString(`{"role":"assistant","content":"` + turn[:200] + `"},`)
	}
	sb.WriteString(`{"role":"user","content":"` + turn + `"}]}`)
	return []byte(sb.String())
}

// BenchmarkRequestBodyHeuristic measures request-body processing for a
// heuristic-only route (no embedding, no cache): parse, classify (a fake
// that answers at once), decision application and rewrite.
func BenchmarkRequestBodyHeuristic(b *testing.B) {
	spec := testSpec()
	spec.NeedsEmbedding = false
	g := newGateway(b, spec, Stages{Classifier: staticClassifier{&Decision{Name: "complex", Confidence: 0.8}}})
	body := body2KB()
	if len(body) < 1900 || len(body) > 2300 {
		b.Fatalf("body is %d bytes", len(body))
	}
	ctx := context.Background()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		x := g.NewExchange()
		x.RequestHeaders("POST", "/v1/chat/completions", noHeaders)
		imm, fwd := x.RequestBody(ctx, body)
		if imm != nil || !fwd.BodyChanged {
			b.Fatal("unexpected result")
		}
		_ = x.ResponseHeaders(200, "application/json")
	}
}

// staticClassifier is a FAKE classifier that answers one decision at once
// and records nothing (so the benchmark measures the gateway only).
type staticClassifier struct{ dec *Decision }

func (s staticClassifier) Classify(context.Context, *RouteRequest) (*Decision, error) {
	return s.dec, nil
}

var _ Classifier = staticClassifier{}

// BenchmarkRequestObserved is BenchmarkRequestBodyHeuristic with the
// request accounting on: metrics in a registry and a sampling tracer with
// a discarding exporter (Begin, RequestBody, End).
func BenchmarkRequestObserved(b *testing.B) {
	spec := testSpec()
	spec.NeedsEmbedding = false
	m, err := metrics.NewGateway(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter()))
	g := newGateway(b, spec, Stages{Classifier: staticClassifier{&Decision{Name: "complex", Confidence: 0.8}}},
		WithMetrics(m), WithTracerProvider(tp))
	body := body2KB()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		x := g.NewExchange()
		ctx := x.Begin(context.Background(), nil)
		x.RequestHeaders("POST", "/v1/chat/completions", noHeaders)
		imm, fwd := x.RequestBody(ctx, body)
		if imm != nil || !fwd.BodyChanged {
			b.Fatal("unexpected result")
		}
		_ = x.ResponseHeaders(200, "application/json")
		x.End(200)
	}
}
