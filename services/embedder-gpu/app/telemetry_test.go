package app_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/pkg/telemetry"
	"github.com/semrouter/semrouter/pkg/telemetry/telemetrytest"
	"github.com/semrouter/semrouter/services/embedder-gpu/app"
	"github.com/semrouter/semrouter/services/embedder-gpu/embedclient"
)

func TestHelpListsLogAndTracingFlags(t *testing.T) {
	var stderr bytes.Buffer
	if err := app.Run(context.Background(), []string{"--help"}, &stderr); err != nil {
		t.Fatalf("--help: %v", err)
	}
	for _, flag := range []string{"-log-level", "-log-format", "-tracing-config", "-otlp-endpoint", "-otlp-insecure", "-trace-sample-rate",
		"-nats-url", "-http-addr", "-metrics-addr", "-model", "-device"} {
		if !strings.Contains(stderr.String(), flag+" ") && !strings.Contains(stderr.String(), flag+"\n") {
			t.Errorf("--help does not list %s:\n%s", flag, stderr.String())
		}
	}
}

// TestNATSRequestIsTraced runs the process with --otlp-endpoint pointing
// at a real OTLP collector, sends a traced embedding request over NATS and
// checks the process exported the server span as a child of the caller's.
func TestNATSRequestIsTraced(t *testing.T) {
	col, endpoint := telemetrytest.StartCollector(t)
	ns := natstest.RunServer(t)
	_, _, stop := startStoppable(t, "--nats-url", ns.ClientURL(), "--http-addr", "127.0.0.1:0", "--device", "cpu",
		"--model", "glove-sif-100d", "--batch-window", "0", "--log-level", "warn", "--log-format", "json",
		"--otlp-endpoint", endpoint, "--otlp-insecure")

	clientSpans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(clientSpans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	c := embedclient.NewWithNATSOptions(natstest.Connect(t, ns),
		[]natsrpc.ClientOption{natsrpc.WithTracerProvider(tp), natsrpc.WithPropagator(telemetry.Propagator())})
	ctx, span := tp.Tracer("test").Start(context.Background(), "caller")
	if _, err := c.Embed(ctx, "glove-sif-100d", []string{"install guide"}); err != nil {
		t.Fatal(err)
	}
	span.End()
	stop() // Run returns after flushing its spans to the collector

	want := span.SpanContext().TraceID()
	var names []string
	for _, s := range col.Spans() {
		names = append(names, s.GetName())
		if s.GetKind() == tracepb.Span_SPAN_KIND_SERVER && strings.HasSuffix(s.GetName(), "/Embed") &&
			bytes.Equal(s.GetTraceId(), want[:]) {
			if svc := col.Services(); len(svc) == 0 || svc[0] != "semrouter-embedder" {
				t.Errorf("service.name %v, want semrouter-embedder", svc)
			}
			return
		}
	}
	t.Fatalf("collector got spans %v, none an Embed server span of trace %s", names, want)
}
