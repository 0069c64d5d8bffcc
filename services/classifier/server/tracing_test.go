package server_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	classifierv1 "github.com/semrouter/semrouter/gen/semrouter/classifier/v1"
	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/classifier/classifier"
	"github.com/semrouter/semrouter/services/classifier/server"
)

// TestClassifyTracesAndSharedSeries checks the signal and decision spans
// of one classification (children of the caller's span, in order, with the
// decision's attributes) and the shared llm_* series.
func TestClassifyTracesAndSharedSeries(t *testing.T) {
	cfg, _, err := config.Parse(quickstart(t), "quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := classifier.Compile(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := classifier.NewService()
	svc.Set(c)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	m := server.NewMetrics()
	h := server.NewHandler(svc, server.HandlerOptions{Metrics: m, TracerProvider: tp})

	// Untraced: no spans.
	if _, err := h.Classify(context.Background(), connect.NewRequest(&classifierv1.ClassifyRequest{Facts: facts("debug this function")})); err != nil {
		t.Fatal(err)
	}
	if n := len(exp.GetSpans()); n != 0 {
		t.Fatalf("%d spans for an untraced request", n)
	}

	ctx, parent := tp.Tracer("test").Start(context.Background(), "caller")
	if _, err := h.Classify(ctx, connect.NewRequest(&classifierv1.ClassifyRequest{Facts: facts("debug this function")})); err != nil {
		t.Fatal(err)
	}
	parent.End()
	byName := map[string]tracetest.SpanStub{}
	for _, s := range exp.GetSpans() {
		byName[s.Name] = s
	}
	sig, ok1 := byName[server.SpanSignalEvaluation]
	dec, ok2 := byName[server.SpanDecisionEvaluation]
	if !ok1 || !ok2 {
		t.Fatalf("spans = %v, want signal and decision evaluation", byName)
	}
	for _, s := range []tracetest.SpanStub{sig, dec} {
		if s.Parent.SpanID() != parent.SpanContext().SpanID() || s.SpanContext.TraceID() != parent.SpanContext().TraceID() {
			t.Errorf("%s is not a child of the caller's span", s.Name)
		}
	}
	if dec.StartTime.Before(sig.EndTime) || sig.StartTime.After(sig.EndTime) {
		t.Errorf("signal span %v–%v, decision span %v–%v: want signals first", sig.StartTime, sig.EndTime, dec.StartTime, dec.EndTime)
	}
	attrs := map[string]string{}
	for _, kv := range append(sig.Attributes, dec.Attributes...) {
		attrs[string(kv.Key)] = kv.Value.Emit()
	}
	for k, want := range map[string]string{"decision.name": "coding", "model.name": "code-expert", "decision.matched": "true"} {
		if attrs[k] != want {
			t.Errorf("%s = %q, want %q (all: %v)", k, attrs[k], want, attrs)
		}
	}
	if !strings.Contains(attrs["signal.matched_rules"], "keyword:code_keywords") {
		t.Errorf("signal.matched_rules = %q, want keyword:code_keywords", attrs["signal.matched_rules"])
	}

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`llm_decision_match_total{decision_name="coding"} 2`,
		`llm_decision_evaluation_total 2`,
		`llm_signal_match_total{signal_name="code_keywords",signal_type="keyword"} 2`,
		`llm_signal_extraction_latency_seconds_count{signal_type="heuristic"} 2`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
