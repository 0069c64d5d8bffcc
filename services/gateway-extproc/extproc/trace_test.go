package extproc

import (
	"context"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// spanSink is a span exporter that hands every ended span to a channel.
type spanSink chan sdktrace.ReadOnlySpan

func (s spanSink) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	for _, sp := range spans {
		s <- sp
	}
	return nil
}

func (s spanSink) Shutdown(context.Context) error { return nil }

// TestRequestSpanContinuesEnvoyTrace checks that the request span of an
// ext_proc stream joins the trace context Envoy forwards in the request
// headers and ends with the stream.
func TestRequestSpanContinuesEnvoyTrace(t *testing.T) {
	sink := make(spanSink, 16)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(sink))
	h := newHarness(t, gateway.Stages{}, gateway.WithTracerProvider(tp))
	e := h.open(t)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	e.send(chatHeaders("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01"))
	e.send(reqBody(`{"model":"large","messages":[{"role":"user","content":"x"}]}`, true))
	e.send(respHeaders(200, "application/json"))
	e.send(respBody(`{"id":"a","object":"chat.completion","choices":[]}`, true))
	if err := e.st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case sp := <-sink:
			if sp.Name() != gateway.SpanRequest {
				continue
			}
			if got := sp.SpanContext().TraceID().String(); got != traceID {
				t.Fatalf("request span trace = %s, want Envoy's %s", got, traceID)
			}
			if !sp.Parent().IsRemote() {
				t.Error("request span parent is not the remote caller")
			}
			return
		case <-timeout:
			t.Fatal("no request span")
		}
	}
}
