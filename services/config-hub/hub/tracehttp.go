package hub

import (
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// tracerName names the tracer of the management API spans.
const tracerName = "github.com/semrouter/semrouter/services/config-hub/hub"

// traceHTTP gives every request to next a server span, child of the trace
// context its headers carry (extracted with prop). The span is named by
// the route that served the request ("GET /config/router", or the Connect
// service prefix), so names stay few whatever the paths asked for.
func traceHTTP(next http.Handler, tp trace.TracerProvider, prop propagation.TextMapPropagator) http.Handler {
	tracer := tp.Tracer(tracerName)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path)))
		defer span.End()
		sw := &statusWriter{ResponseWriter: w}
		// The ServeMux records the matched pattern on the request it serves.
		r = r.WithContext(ctx)
		next.ServeHTTP(sw, r)
		if route := r.Pattern; route != "" {
			if !strings.Contains(route, " ") {
				route = r.Method + " " + route
			}
			span.SetName(route)
			span.SetAttributes(attribute.String("http.route", r.Pattern))
		}
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if status >= http.StatusInternalServerError {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
	})
}

// statusWriter records the status code written through it.
var _ http.Flusher = (*statusWriter)(nil)

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= http.StatusOK { // 1xx are interim
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Flush passes flushes on (Connect streams check for http.Flusher).
func (w *statusWriter) Flush() {
	if w.status == 0 { // flushing commits the header
		w.status = http.StatusOK
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
