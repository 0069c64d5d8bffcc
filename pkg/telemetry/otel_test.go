package telemetry

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
)

func TestNATSHeaderCarrierRoundTrip(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tel, err := New(context.Background(), Config{ServiceName: "test"}, WithSpanExporter(exp))
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := tel.Tracer("t").Start(context.Background(), "parent")
	member, _ := baggage.NewMember("tenant", "acme")
	bag, _ := baggage.New(member)
	ctx = baggage.ContextWithBaggage(ctx, bag)

	h := nats.Header{}
	tel.Propagator.Inject(ctx, NATSHeaderCarrier(h))
	if h.Get("traceparent") == "" {
		t.Fatalf("no traceparent injected: %v", h)
	}

	tests := []struct {
		name   string
		header nats.Header
	}{
		{"as injected", h},
		{"canonicalised keys", nats.Header{"Traceparent": h["traceparent"], "Baggage": h["baggage"]}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tel.Propagator.Extract(context.Background(), NATSHeaderCarrier(tc.header))
			sc := trace.SpanContextFromContext(got)
			if sc.TraceID() != span.SpanContext().TraceID() || sc.SpanID() != span.SpanContext().SpanID() {
				t.Fatalf("extracted %v, want %v", sc, span.SpanContext())
			}
			if v := baggage.FromContext(got).Member("tenant").Value(); v != "acme" {
				t.Fatalf("baggage tenant = %q", v)
			}
		})
	}
	span.End()
	keys := NATSHeaderCarrier(h).Keys()
	if len(keys) != 2 {
		t.Fatalf("keys = %v, want traceparent and baggage", keys)
	}
}

func TestNewWithInjectedExporter(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tel, err := New(context.Background(), Config{ServiceName: "classifier", ServiceVersion: "1.2.3", InstanceID: "i-1"}, WithSpanExporter(exp))
	if err != nil {
		t.Fatal(err)
	}
	ctx, parent := tel.Tracer("t").Start(context.Background(), "parent")
	_, child := tel.Tracer("t").Start(ctx, "child")
	child.End()
	parent.End()
	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("got %d spans, want 2", len(spans))
	}
	if spans[0].Parent.SpanID() != spans[1].SpanContext.SpanID() {
		t.Errorf("child's parent = %v, want %v", spans[0].Parent.SpanID(), spans[1].SpanContext.SpanID())
	}
	attrs := map[string]string{}
	for _, kv := range spans[0].Resource.Attributes() {
		attrs[string(kv.Key)] = kv.Value.AsString()
	}
	want := map[string]string{"service.name": "classifier", "service.version": "1.2.3", "service.instance.id": "i-1"}
	for k, v := range want {
		if attrs[k] != v {
			t.Errorf("resource %s = %q, want %q", k, attrs[k], v)
		}
	}
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestNewWithoutExportIsNoop(t *testing.T) {
	tel, err := New(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tel.Tracer("t").Start(context.Background(), "x")
	if span.IsRecording() {
		t.Error("span records without any exporter")
	}
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestNewRejectsBadSampleRatio(t *testing.T) {
	if _, err := New(context.Background(), Config{SampleRatio: 1.5}, WithSpanExporter(tracetest.NewInMemoryExporter())); err == nil {
		t.Fatal("want error for sample ratio 1.5")
	}
}

// collector is a real OTLP/gRPC trace collector (a gRPC server implementing
// the collector TraceService) that records span names.
type collector struct {
	collectortrace.UnimplementedTraceServiceServer
	mu    sync.Mutex
	names []string
	got   chan struct{}
}

func (c *collector) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				c.names = append(c.names, s.GetName())
			}
		}
	}
	select {
	case c.got <- struct{}{}:
	default:
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func TestSetupExportsOverOTLPGRPC(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	col := &collector{got: make(chan struct{}, 1)}
	collectortrace.RegisterTraceServiceServer(srv, col)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, tc := range []struct{ name, endpoint string }{
		{"host port", lis.Addr().String()},
		{"url", "http://" + lis.Addr().String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shutdown, err := Setup(ctx, Config{ServiceName: "svc", OTLPEndpoint: tc.endpoint, Insecure: true})
			if err != nil {
				t.Fatal(err)
			}
			_, span := otel.Tracer("t").Start(ctx, "exported-"+tc.name)
			span.End()
			if err := shutdown(ctx); err != nil { // flushes the batcher
				t.Fatal(err)
			}
			select {
			case <-col.got:
			case <-ctx.Done():
				t.Fatal("collector received nothing")
			}
			col.mu.Lock()
			defer col.mu.Unlock()
			found := false
			for _, n := range col.names {
				found = found || n == "exported-"+tc.name
			}
			if !found {
				t.Fatalf("collector got %v, want exported-%s", col.names, tc.name)
			}
			if _, s := otel.Tracer("t").Start(ctx, "after"); s.IsRecording() {
				t.Error("global tracer provider still recording after shutdown")
			}
		})
	}
}
