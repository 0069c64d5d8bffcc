package natsrpc_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	configv1 "github.com/semrouter/semrouter/gen/semrouter/config/v1"
	"github.com/semrouter/semrouter/gen/semrouter/config/v1/configv1connect"
	embeddingv1 "github.com/semrouter/semrouter/gen/semrouter/embedding/v1"
	"github.com/semrouter/semrouter/gen/semrouter/embedding/v1/embeddingv1connect"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/pkg/telemetry"
)

func TestTracePropagation(t *testing.T) {
	nc := natstest.Connect(t, natstest.RunServer(t))
	exp := &notifyingExporter{InMemoryExporter: tracetest.NewInMemoryExporter(), ended: make(chan struct{}, 16)}
	tel, err := telemetry.New(context.Background(), telemetry.Config{ServiceName: "test"}, telemetry.WithSpanExporter(exp))
	if err != nil {
		t.Fatal(err)
	}
	opts := []natsrpc.Option{natsrpc.WithTracerProvider(tel.TracerProvider), natsrpc.WithPropagator(tel.Propagator)}
	svc := newConfigService()
	svc.tracer = tel.Tracer("handler")
	serveConfig(t, nc, svc, opts[0], opts[1])
	cli := configv1connect.NewConfigServiceClient(natsrpc.NewClient(nc, opts[0], opts[1]), natsrpc.BaseURL)

	ctx, root := tel.Tracer("test").Start(context.Background(), "request")
	if _, err := cli.GetConfig(ctx, connect.NewRequest(&configv1.GetConfigRequest{})); err != nil {
		t.Fatal(err)
	}
	root.End()
	// The server span ends after the reply is sent: wait for all four spans.
	for range 4 {
		<-exp.ended
	}

	// The client and server spans share the procedure's name: tell them
	// apart by kind.
	var rootSpan, client, server, inner tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		switch {
		case s.Name == "request":
			rootSpan = s
		case s.Name == "load-document":
			inner = s
		case s.SpanKind == trace.SpanKindClient:
			client = s
		case s.SpanKind == trace.SpanKindServer:
			server = s
		}
	}
	if client.SpanKind != trace.SpanKindClient || server.SpanKind != trace.SpanKindServer {
		t.Fatalf("spans = %v", exp.GetSpans())
	}
	traceID := rootSpan.SpanContext.TraceID()
	for _, s := range []tracetest.SpanStub{client, server, inner} {
		if s.SpanContext.TraceID() != traceID {
			t.Errorf("span %q in trace %v, want %v", s.Name, s.SpanContext.TraceID(), traceID)
		}
	}
	if client.Parent.SpanID() != rootSpan.SpanContext.SpanID() ||
		server.Parent.SpanID() != client.SpanContext.SpanID() ||
		inner.Parent.SpanID() != server.SpanContext.SpanID() {
		t.Errorf("parent chain broken: client<-%v server<-%v inner<-%v", client.Parent.SpanID(), server.Parent.SpanID(), inner.Parent.SpanID())
	}
}

func TestConcurrencyIsBounded(t *testing.T) {
	s := natstest.RunServer(t)
	svc := &embeddingService{id: "a", entered: make(chan struct{}, 16), gate: make(chan struct{})}
	serveEmbedding(t, natstest.Connect(t, s), svc, natsrpc.WithMaxConcurrency(2))
	cli := embeddingv1connect.NewEmbeddingServiceClient(natsrpc.NewClient(natstest.Connect(t, s)), natsrpc.BaseURL)

	const n = 8
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := cli.Embed(context.Background(), connect.NewRequest(&embeddingv1.EmbedRequest{Texts: []string{"x"}})); err != nil {
				failed.Add(1)
			}
		}()
	}
	// Let handlers through one at a time, but only once two are running
	// concurrently, so the bound is reached.
	<-svc.entered
	<-svc.entered
	for i := range n {
		svc.gate <- struct{}{}
		if i+2 < n {
			<-svc.entered
		}
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d calls failed", failed.Load())
	}
	if got := svc.maxSeen.Load(); got != 2 {
		t.Fatalf("max concurrent handlers = %d, want 2", got)
	}
}

func TestDrainWaitsForInFlight(t *testing.T) {
	s := natstest.RunServer(t)
	svc := &embeddingService{id: "a", entered: make(chan struct{}, 1), gate: make(chan struct{})}
	srv := serveEmbedding(t, natstest.Connect(t, s), svc)
	cli := embeddingv1connect.NewEmbeddingServiceClient(natsrpc.NewClient(natstest.Connect(t, s)), natsrpc.BaseURL)

	var handlerDone atomic.Bool
	callErr := make(chan error, 1)
	go func() {
		_, err := cli.Embed(context.Background(), connect.NewRequest(&embeddingv1.EmbedRequest{Texts: []string{"x"}}))
		callErr <- err
	}()
	<-svc.entered
	drained := make(chan error, 1)
	go func() {
		err := srv.Drain(context.Background())
		drained <- err
		if !handlerDone.Load() {
			drained <- errors.New("Drain returned before the in-flight handler finished")
		}
	}()
	handlerDone.Store(true)
	svc.gate <- struct{}{}
	if err := <-callErr; err != nil {
		t.Fatalf("in-flight call: %v", err)
	}
	if err := <-drained; err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-drained:
		t.Fatal(err)
	default:
	}
	_, err := cli.Embed(context.Background(), connect.NewRequest(&embeddingv1.EmbedRequest{Texts: []string{"x"}}))
	if connect.CodeOf(err) != connect.CodeUnavailable {
		t.Fatalf("after drain: err = %v, want unavailable", err)
	}
	if err := srv.Drain(context.Background()); err != nil {
		t.Fatalf("second drain: %v", err)
	}
}

func TestDrainHonoursContext(t *testing.T) {
	s := natstest.RunServer(t)
	svc := &embeddingService{id: "a", entered: make(chan struct{}, 1), gate: make(chan struct{})}
	srv := serveEmbedding(t, natstest.Connect(t, s), svc)
	cli := embeddingv1connect.NewEmbeddingServiceClient(natsrpc.NewClient(natstest.Connect(t, s)), natsrpc.BaseURL)
	go func() {
		_, _ = cli.Embed(context.Background(), connect.NewRequest(&embeddingv1.EmbedRequest{Texts: []string{"x"}}))
	}()
	<-svc.entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := srv.Drain(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("drain with canceled context = %v, want context.Canceled", err)
	}
	close(svc.gate)
}

// notifyingExporter is an in-memory exporter that signals every exported span.
type notifyingExporter struct {
	*tracetest.InMemoryExporter
	ended chan struct{}
}

func (e *notifyingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.InMemoryExporter.ExportSpans(ctx, spans)
	for range spans {
		e.ended <- struct{}{}
	}
	return err
}
