package telemetry_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/semrouter/semrouter/pkg/telemetry"
)

// tracedServer serves h behind HTTPServerMiddleware on a real HTTP server
// and records the spans with a real SDK tracer provider. served receives
// once per request after the middleware has returned (its span has ended).
type tracedServer struct {
	srv    *httptest.Server
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	served chan struct{}
}

func newTracedServer(t *testing.T, h http.Handler, opts ...telemetry.HTTPServerOption) *tracedServer {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ts := &tracedServer{spans: rec, tp: tp, served: make(chan struct{}, 16)}
	traced := telemetry.HTTPServerMiddleware(tp.Tracer("test"), opts...)(h)
	ts.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { ts.served <- struct{}{} }()
		traced.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.srv.Close)
	return ts
}

// wait blocks until a request has been served and returns the spans ended so far.
func (ts *tracedServer) wait(t *testing.T) []sdktrace.ReadOnlySpan {
	t.Helper()
	select {
	case <-ts.served:
	case <-time.After(10 * time.Second):
		t.Fatal("request not served")
	}
	return ts.spans.Ended()
}

func TestHTTPServerMiddleware(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("GET /empty", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	mux.HandleFunc("GET /teapot", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	mux.HandleFunc("GET /hints", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("/semrouter.config.v1.ConfigService/", func(w http.ResponseWriter, _ *http.Request) {
		w.(http.Flusher).Flush() // commits a 200
		_, _ = w.Write([]byte("{}"))
	})
	mux.HandleFunc("GET /abort", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	})
	ts := newTracedServer(t, mux)
	caller := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = caller.Shutdown(context.Background()) })

	cases := []struct {
		name       string
		method     string
		path       string
		traced     bool
		wantName   string
		wantRoute  string
		wantStatus int // -1: no status attribute
		wantError  string
	}{
		{name: "route", method: http.MethodGet, path: "/health", wantName: "GET /health", wantRoute: "GET /health", wantStatus: 200},
		{name: "child of the caller", method: http.MethodGet, path: "/health", traced: true, wantName: "GET /health",
			wantRoute: "GET /health", wantStatus: 200},
		{name: "nothing written is a 200", method: http.MethodGet, path: "/empty", wantName: "GET /empty", wantRoute: "GET /empty", wantStatus: 200},
		{name: "server error", method: http.MethodGet, path: "/boom", wantName: "GET /boom", wantRoute: "GET /boom",
			wantStatus: 500, wantError: "Internal Server Error"},
		{name: "client error is no span error", method: http.MethodGet, path: "/teapot", wantName: "GET /teapot",
			wantRoute: "GET /teapot", wantStatus: 418},
		{name: "interim status is skipped", method: http.MethodGet, path: "/hints", wantName: "GET /hints", wantRoute: "GET /hints", wantStatus: 201},
		{name: "pattern without method", method: http.MethodPost, path: "/semrouter.config.v1.ConfigService/GetConfig",
			wantName: "POST /semrouter.config.v1.ConfigService/", wantRoute: "/semrouter.config.v1.ConfigService/", wantStatus: 200},
		{name: "no route", method: http.MethodGet, path: "/nope/12345", wantName: "GET", wantStatus: 404},
		{name: "handler panics", method: http.MethodGet, path: "/abort", wantName: "GET /abort", wantRoute: "GET /abort",
			wantStatus: 200, wantError: "handler panicked"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts.spans.Reset()
			req, err := http.NewRequest(tc.method, ts.srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			var parent trace.SpanContext
			if tc.traced {
				ctx, span := caller.Tracer("caller").Start(context.Background(), "caller")
				parent = span.SpanContext()
				telemetry.Propagator().Inject(ctx, propagation.HeaderCarrier(req.Header))
				span.End()
			}
			resp, err := ts.srv.Client().Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
			spans := ts.wait(t)
			if len(spans) != 1 {
				t.Fatalf("%d spans, want 1", len(spans))
			}
			s := spans[0]
			if s.Name() != tc.wantName || s.SpanKind() != trace.SpanKindServer {
				t.Errorf("span %q kind %v, want %q server", s.Name(), s.SpanKind(), tc.wantName)
			}
			if tc.traced && (s.Parent().TraceID() != parent.TraceID() || s.Parent().SpanID() != parent.SpanID()) {
				t.Errorf("parent %v, want the caller's span %v", s.Parent(), parent)
			}
			if !tc.traced && s.Parent().IsValid() {
				t.Errorf("parent %v, want a root span", s.Parent())
			}
			attrs := attribute.NewSet(s.Attributes()...)
			if got, _ := attrs.Value(telemetry.AttrHTTPMethod); got.AsString() != tc.method {
				t.Errorf("method attribute %q, want %q", got.AsString(), tc.method)
			}
			if got, _ := attrs.Value(telemetry.AttrURLPath); got.AsString() != tc.path {
				t.Errorf("path attribute %q, want %q", got.AsString(), tc.path)
			}
			if got, _ := attrs.Value(telemetry.AttrHTTPRoute); got.AsString() != tc.wantRoute {
				t.Errorf("route attribute %q, want %q", got.AsString(), tc.wantRoute)
			}
			got, ok := attrs.Value(telemetry.AttrHTTPStatusCode)
			if !ok || int(got.AsInt64()) != tc.wantStatus {
				t.Errorf("status attribute %v (set %v), want %d", got.AsInt64(), ok, tc.wantStatus)
			}
			if tc.wantError == "" && s.Status().Code == codes.Error {
				t.Errorf("span status %v, want no error", s.Status())
			}
			if tc.wantError != "" && (s.Status().Code != codes.Error || s.Status().Description != tc.wantError) {
				t.Errorf("span status %v, want error %q", s.Status(), tc.wantError)
			}
		})
	}
}

func TestHTTPServerMiddlewareSpanName(t *testing.T) {
	ts := newTracedServer(t, http.NotFoundHandler(),
		telemetry.WithHTTPSpanName(func(r *http.Request) string { return "api " + r.URL.Path }),
		telemetry.WithHTTPPropagator(propagation.TraceContext{}))
	req, err := http.NewRequest(http.MethodGet, ts.srv.URL+"/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	resp, err := ts.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	spans := ts.wait(t)
	if len(spans) != 1 || spans[0].Name() != "api /x" {
		t.Fatalf("spans %v, want one named %q", spans, "api /x")
	}
	if got := spans[0].Parent().TraceID().String(); got != "0af7651916cd43dd8448eb211c80319c" {
		t.Errorf("trace %s, want the traceparent's", got)
	}
}

// TestHTTPServerMiddlewareStreams checks that each flushed chunk reaches the
// client while the handler is still running, through http.Flusher and
// through http.ResponseController.
func TestHTTPServerMiddlewareStreams(t *testing.T) {
	flushers := []struct {
		name  string
		flush func(http.ResponseWriter) error
	}{
		{name: "http.Flusher", flush: func(w http.ResponseWriter) error {
			f, ok := w.(http.Flusher)
			if !ok {
				return errors.New("writer is no http.Flusher")
			}
			f.Flush()
			return nil
		}},
		{name: "ResponseController", flush: func(w http.ResponseWriter) error { return http.NewResponseController(w).Flush() }},
	}
	for _, fl := range flushers {
		t.Run(fl.name, func(t *testing.T) {
			next := make(chan struct{})
			flushErr := make(chan error, 3)
			ts := newTracedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				for i, ev := range []string{"data: one\n\n", "data: two\n\n", "data: [DONE]\n\n"} {
					if i > 0 {
						select { // the client has read the previous event
						case <-next:
						case <-r.Context().Done():
							return
						}
					}
					_, _ = io.WriteString(w, ev)
					flushErr <- fl.flush(w)
				}
			}))
			// A flush that does not reach the client fails the read at the deadline.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, ts.srv.URL+"/stream", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := ts.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			for i, want := range []string{"data: one", "data: two", "data: [DONE]"} {
				if i > 0 {
					next <- struct{}{}
				}
				line, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("event %d: %v", i, err)
				}
				if line != want+"\n" {
					t.Fatalf("event %d %q, want %q", i, line, want)
				}
				if _, err := br.ReadString('\n'); err != nil {
					t.Fatalf("event %d end: %v", i, err)
				}
				if err := <-flushErr; err != nil {
					t.Fatalf("flush %d: %v", i, err)
				}
			}
			spans := ts.wait(t)
			if len(spans) != 1 {
				t.Fatalf("%d spans, want 1", len(spans))
			}
			attrs := attribute.NewSet(spans[0].Attributes()...)
			if got, _ := attrs.Value(telemetry.AttrHTTPStatusCode); got.AsInt64() != 200 {
				t.Errorf("status attribute %d, want 200", got.AsInt64())
			}
		})
	}
}

func TestHTTPServerMiddlewareContextCarriesSpan(t *testing.T) {
	var ts *tracedServer
	ts = newTracedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, child := ts.tp.Tracer("handler").Start(r.Context(), "work")
		child.End()
		w.WriteHeader(http.StatusNoContent)
	}))
	resp, err := ts.srv.Client().Get(ts.srv.URL + "/work")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	spans := ts.wait(t)
	if len(spans) != 2 {
		t.Fatalf("%d spans, want the child and the server span", len(spans))
	}
	child, server := spans[0], spans[1]
	if child.Name() != "work" || server.SpanKind() != trace.SpanKindServer {
		t.Fatalf("spans %q, %q (kind %v), want the child first, then the server span", child.Name(), server.Name(), server.SpanKind())
	}
	if child.Parent().SpanID() != server.SpanContext().SpanID() || child.SpanContext().TraceID() != server.SpanContext().TraceID() {
		t.Errorf("child's parent %v, want the server span %v", child.Parent(), server.SpanContext())
	}
}

// TestHTTPServerMiddlewareHijack checks that http.ResponseController reaches
// the connection through the wrapper.
func TestHTTPServerMiddlewareHijack(t *testing.T) {
	ts := newTracedServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		_ = brw.Flush()
	}))
	resp, err := ts.srv.Client().Get(ts.srv.URL + "/h")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || string(body) != "hijacked" {
		t.Fatalf("body %q (%v), want the hijacked connection's", body, err)
	}
	ts.wait(t)
}

// plainWriter implements only http.ResponseWriter.
type plainWriter struct{ rec *httptest.ResponseRecorder }

func (w plainWriter) Header() http.Header         { return w.rec.Header() }
func (w plainWriter) Write(p []byte) (int, error) { return w.rec.Write(p) }
func (w plainWriter) WriteHeader(code int)        { w.rec.WriteHeader(code) }

// unwrapWriter flushes only through its Unwrap method.
type unwrapWriter struct{ plainWriter }

func (w unwrapWriter) Unwrap() http.ResponseWriter { return w.rec }

func TestStatusWriter(t *testing.T) {
	t.Run("records status and bytes", func(t *testing.T) {
		rec := httptest.NewRecorder()
		w := telemetry.NewStatusWriter(rec)
		if w.Status() != 0 || w.BytesWritten() != 0 {
			t.Fatalf("fresh writer: status %d bytes %d, want 0 0", w.Status(), w.BytesWritten())
		}
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("hello"))
		_, _ = w.Write([]byte(" world"))
		if w.Status() != http.StatusBadGateway || w.BytesWritten() != 11 || rec.Code != http.StatusBadGateway {
			t.Errorf("status %d bytes %d (recorder %d), want 502 11 502", w.Status(), w.BytesWritten(), rec.Code)
		}
		if w.Unwrap() != rec {
			t.Error("Unwrap is not the wrapped writer")
		}
	})
	t.Run("flush through Unwrap", func(t *testing.T) {
		rec := httptest.NewRecorder()
		w := telemetry.NewStatusWriter(unwrapWriter{plainWriter{rec}})
		if err := w.FlushError(); err != nil {
			t.Fatalf("flush: %v", err)
		}
		if !rec.Flushed || w.Status() != http.StatusOK {
			t.Errorf("flushed %v status %d, want a flush that commits 200", rec.Flushed, w.Status())
		}
	})
	t.Run("flush not supported", func(t *testing.T) {
		rec := httptest.NewRecorder()
		w := telemetry.NewStatusWriter(plainWriter{rec})
		if err := w.FlushError(); !errors.Is(err, http.ErrNotSupported) {
			t.Fatalf("flush error %v, want http.ErrNotSupported", err)
		}
		w.Flush() // no panic, nothing committed
		if w.Status() != 0 {
			t.Errorf("status %d after an unsupported flush, want 0", w.Status())
		}
	})
}

// discardWriter is a reusable ResponseWriter for benchmarks.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

func BenchmarkHTTPServerMiddleware(b *testing.B) {
	mux := http.NewServeMux()
	body := []byte(`{"ok":true}`)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) })
	sdk := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))
	b.Cleanup(func() { _ = sdk.Shutdown(context.Background()) })
	never := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	b.Cleanup(func() { _ = never.Shutdown(context.Background()) })
	handlers := []struct {
		name string
		h    http.Handler
	}{
		{name: "bare mux", h: mux},
		{name: "noop tracer", h: telemetry.HTTPServerMiddleware(noop.NewTracerProvider().Tracer("bench"))(mux)},
		{name: "not sampled", h: telemetry.HTTPServerMiddleware(never.Tracer("bench"))(mux)},
		{name: "sampled", h: telemetry.HTTPServerMiddleware(sdk.Tracer("bench"))(mux)},
	}
	for _, hc := range handlers {
		b.Run(hc.name, func(b *testing.B) {
			w := &discardWriter{h: make(http.Header)}
			req := httptest.NewRequest(http.MethodGet, "/health", nil)
			req.Header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
			b.ReportAllocs()
			for b.Loop() {
				hc.h.ServeHTTP(w, req)
			}
		})
	}
}
