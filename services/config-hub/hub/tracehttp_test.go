package hub

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/semrouter/semrouter/pkg/telemetry"
)

// TestTraceHTTP checks the management API's wiring of
// telemetry.HTTPServerMiddleware (which has its own tests): the hub's
// tracer, the given propagator, route-named server spans.
func TestTraceHTTP(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	h := traceHTTP(mux, tp, telemetry.Propagator())
	caller := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = caller.Shutdown(context.Background()) })

	req := httptest.NewRequest(http.MethodGet, "/health", nil)
	ctx, span := caller.Tracer("test").Start(context.Background(), "caller")
	telemetry.Propagator().Inject(ctx, propagation.HeaderCarrier(req.Header))
	span.End()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.String() != "ok" {
		t.Fatalf("response %d %q, want 200 \"ok\"", rec.Code, rec.Body.String())
	}
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	s := spans[0]
	if s.Name != "GET /health" || s.SpanKind != trace.SpanKindServer || s.InstrumentationScope.Name != tracerName {
		t.Errorf("span %q kind %v scope %q, want %q server %q", s.Name, s.SpanKind, s.InstrumentationScope.Name, "GET /health", tracerName)
	}
	if s.Parent.SpanID() != span.SpanContext().SpanID() || s.Parent.TraceID() != span.SpanContext().TraceID() {
		t.Errorf("parent %v, want the caller's span %v", s.Parent, span.SpanContext())
	}
}
