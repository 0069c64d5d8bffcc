package telemetry

import (
	"errors"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// HTTP server span attribute keys (OpenTelemetry HTTP semantic conventions).
const (
	AttrHTTPMethod     = "http.request.method"
	AttrURLPath        = "url.path"
	AttrHTTPRoute      = "http.route"
	AttrHTTPStatusCode = "http.response.status_code"
)

// HTTPServerOption tunes HTTPServerMiddleware.
type HTTPServerOption func(*httpServerConfig)

type httpServerConfig struct {
	prop propagation.TextMapPropagator
	name func(*http.Request) string
}

// WithHTTPPropagator extracts the caller's trace context with p (default:
// Propagator, W3C trace context plus baggage).
func WithHTTPPropagator(p propagation.TextMapPropagator) HTTPServerOption {
	return func(c *httpServerConfig) { c.prop = p }
}

// WithHTTPSpanName names each span with name(r), called after the handler
// has served r, so r.Pattern is set when the handler is a ServeMux
// (default: RouteSpanName).
func WithHTTPSpanName(name func(r *http.Request) string) HTTPServerOption {
	return func(c *httpServerConfig) { c.name = name }
}

// RouteSpanName names a span by the route that served r: "GET /health" for
// a ServeMux pattern, the method prepended to a pattern without one
// ("POST /semrouter.config.v1.ConfigService/"), or just the method when no
// pattern matched. Names stay few whatever paths clients ask for.
func RouteSpanName(r *http.Request) string {
	route := r.Pattern
	if route == "" {
		return r.Method
	}
	if !strings.Contains(route, " ") {
		return r.Method + " " + route
	}
	return route
}

// HTTPServerMiddleware gives every request a server span started with
// tracer, a child of the trace context its headers carry. The handler's
// request context carries the span, so the handler's own spans are its
// children. The span records the method, path, route (r.Pattern, when a
// ServeMux matched one) and the status sent; a 5xx, or a handler that
// panics, marks it as an error. The handler's writer is a *StatusWriter,
// which passes Flush on (streamed responses keep streaming).
func HTTPServerMiddleware(tracer trace.Tracer, opts ...HTTPServerOption) func(http.Handler) http.Handler {
	c := httpServerConfig{prop: Propagator(), name: RouteSpanName}
	for _, o := range opts {
		o(&c)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := c.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
			ctx, span := tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String(AttrHTTPMethod, r.Method), attribute.String(AttrURLPath, r.URL.Path)))
			sw := NewStatusWriter(w)
			// A ServeMux records the matched pattern on the request it serves.
			r = r.WithContext(ctx)
			returned := false
			defer func() { c.end(span, r, sw, returned) }()
			next.ServeHTTP(sw, r)
			returned = true
		})
	}
}

// end names and ends span once the handler is done with r; returned is
// false when the handler panicked.
func (c *httpServerConfig) end(span trace.Span, r *http.Request, sw *StatusWriter, returned bool) {
	defer span.End()
	if !span.IsRecording() {
		return
	}
	span.SetName(c.name(r))
	if r.Pattern != "" {
		span.SetAttributes(attribute.String(AttrHTTPRoute, r.Pattern))
	}
	status := sw.Status()
	if !returned {
		// net/http answers a panic by cutting the connection; a status
		// is recorded only when one was sent before.
		if status != 0 {
			span.SetAttributes(attribute.Int(AttrHTTPStatusCode, status))
		}
		span.SetStatus(codes.Error, "handler panicked")
		return
	}
	if status == 0 { // net/http sends 200 for a handler that wrote nothing
		status = http.StatusOK
	}
	span.SetAttributes(attribute.Int(AttrHTTPStatusCode, status))
	if status >= http.StatusInternalServerError {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
}

// StatusWriter wraps an http.ResponseWriter and records the final status
// and the number of body bytes written through it. Flush reaches the
// underlying writer (directly or through its Unwrap chain), and Unwrap lets
// http.ResponseController reach the rest (Hijack, deadlines).
type StatusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

var (
	_ http.Flusher                    = (*StatusWriter)(nil)
	_ interface{ FlushError() error } = (*StatusWriter)(nil)
)

// NewStatusWriter wraps w.
func NewStatusWriter(w http.ResponseWriter) *StatusWriter {
	return &StatusWriter{ResponseWriter: w}
}

// Status is the final status sent (200 once the body or a flush committed
// the header implicitly), or 0 while none has been sent.
func (w *StatusWriter) Status() int { return w.status }

// BytesWritten is the number of body bytes written so far.
func (w *StatusWriter) BytesWritten() int64 { return w.bytes }

// WriteHeader records the first final status (1xx are interim) and passes
// code on.
func (w *StatusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= http.StatusOK {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write passes p on; a write before WriteHeader commits a 200.
func (w *StatusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// FlushError flushes the underlying writer and reports why it could not
// (http.ErrNotSupported when nothing under w flushes, or the connection's
// error). http.ResponseController.Flush calls it.
func (w *StatusWriter) FlushError() error {
	err := http.NewResponseController(w.ResponseWriter).Flush()
	if w.status == 0 && !errors.Is(err, http.ErrNotSupported) { // flushing commits the header
		w.status = http.StatusOK
	}
	return err
}

// Flush flushes the underlying writer (for handlers that assert
// http.Flusher, e.g. Connect streams and SSE).
func (w *StatusWriter) Flush() { _ = w.FlushError() }

// Unwrap returns the wrapped writer (for http.ResponseController).
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
