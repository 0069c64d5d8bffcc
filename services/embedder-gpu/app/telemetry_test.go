package app_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/pkg/telemetry"
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

// otlpCollector is a real OTLP/gRPC trace collector (a gRPC server
// implementing the collector TraceService) that keeps the spans it gets.
type otlpCollector struct {
	collectortrace.UnimplementedTraceServiceServer
	mu       sync.Mutex
	spans    []*tracepb.Span
	services []string
}

func (c *otlpCollector) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				c.services = append(c.services, kv.GetValue().GetStringValue())
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			c.spans = append(c.spans, ss.GetSpans()...)
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// startCollector serves an otlpCollector on a loopback port.
func startCollector(t *testing.T) (*otlpCollector, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	col := &otlpCollector{}
	collectortrace.RegisterTraceServiceServer(srv, col)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return col, lis.Addr().String()
}

// TestNATSRequestIsTraced runs the process with --otlp-endpoint pointing
// at a real OTLP collector, sends a traced embedding request over NATS and
// checks the process exported the server span as a child of the caller's.
func TestNATSRequestIsTraced(t *testing.T) {
	col, endpoint := startCollector(t)
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
	col.mu.Lock()
	defer col.mu.Unlock()
	var names []string
	for _, s := range col.spans {
		names = append(names, s.GetName())
		if s.GetKind() == tracepb.Span_SPAN_KIND_SERVER && strings.HasSuffix(s.GetName(), "/Embed") &&
			bytes.Equal(s.GetTraceId(), want[:]) {
			if len(col.services) == 0 || col.services[0] != "semrouter-embedder" {
				t.Errorf("service.name %v, want semrouter-embedder", col.services)
			}
			return
		}
	}
	t.Fatalf("collector got spans %v, none an Embed server span of trace %s", names, want)
}
