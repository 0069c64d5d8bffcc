package hub

import (
	"net/http"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/semrouter/semrouter/pkg/telemetry"
)

// tracerName names the tracer of the management API spans.
const tracerName = "github.com/semrouter/semrouter/services/config-hub/hub"

// traceHTTP gives every request to next a server span, child of the trace
// context its headers carry (extracted with prop). The span is named by
// the route that served the request ("GET /config/router", or the Connect
// service prefix), so names stay few whatever the paths asked for.
func traceHTTP(next http.Handler, tp trace.TracerProvider, prop propagation.TextMapPropagator) http.Handler {
	return telemetry.HTTPServerMiddleware(tp.Tracer(tracerName), telemetry.WithHTTPPropagator(prop))(next)
}
