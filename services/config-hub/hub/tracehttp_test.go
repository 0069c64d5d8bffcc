package hub

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/semrouter/semrouter/pkg/telemetry"
)

func TestTraceHTTP(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	mux.HandleFunc("/semrouter.config.v1.ConfigService/", func(w http.ResponseWriter, _ *http.Request) {
		w.(http.Flusher).Flush() // the writer still flushes through the wrapper
		w.WriteHeader(http.StatusAccepted)
	})
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	h := traceHTTP(mux, tp, telemetry.Propagator())
	caller := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = caller.Shutdown(context.Background()) })

	cases := []struct {
		name       string
		method     string
		path       string
		traced     bool
		wantName   string
		wantStatus int
		wantError  bool
	}{
		{name: "route", method: http.MethodGet, path: "/health", wantName: "GET /health", wantStatus: 200},
		{name: "child of the caller", method: http.MethodGet, path: "/health", traced: true, wantName: "GET /health", wantStatus: 200},
		{name: "server error", method: http.MethodGet, path: "/boom", wantName: "GET /boom", wantStatus: 500, wantError: true},
		{name: "connect prefix", method: http.MethodPost, path: "/semrouter.config.v1.ConfigService/GetConfig",
			wantName: "POST /semrouter.config.v1.ConfigService/", wantStatus: 200},
		{name: "no route", method: http.MethodGet, path: "/nope/12345", wantName: "GET", wantStatus: 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			exp.Reset()
			req := httptest.NewRequest(tc.method, tc.path, nil)
			var parent trace.SpanContext
			if tc.traced {
				ctx, span := caller.Tracer("test").Start(context.Background(), "caller")
				parent = span.SpanContext()
				telemetry.Propagator().Inject(ctx, propagation.HeaderCarrier(req.Header))
				span.End()
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			spans := exp.GetSpans()
			if len(spans) != 1 {
				t.Fatalf("%d spans, want 1", len(spans))
			}
			s := spans[0]
			if s.Name != tc.wantName || s.SpanKind != trace.SpanKindServer {
				t.Errorf("span %q kind %v, want %q server", s.Name, s.SpanKind, tc.wantName)
			}
			if tc.traced && (s.Parent.TraceID() != parent.TraceID() || s.Parent.SpanID() != parent.SpanID()) {
				t.Errorf("parent %v, want the caller's span %v", s.Parent, parent)
			}
			if !tc.traced && s.Parent.IsValid() {
				t.Errorf("parent %v, want a root span", s.Parent)
			}
			if got := attrInt(s.Attributes, "http.response.status_code"); got != tc.wantStatus {
				t.Errorf("status attribute %d, want %d", got, tc.wantStatus)
			}
			if (s.Status.Code == codes.Error) != tc.wantError {
				t.Errorf("span status %v, want error %v", s.Status, tc.wantError)
			}
		})
	}
}

func attrInt(attrs []attribute.KeyValue, key string) int {
	for _, a := range attrs {
		if string(a.Key) == key {
			return int(a.Value.AsInt64())
		}
	}
	return -1
}
