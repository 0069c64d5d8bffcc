package telemetry

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Config configures tracing.
type Config struct {
	// ServiceName is the service.name resource attribute (e.g. "classifier").
	ServiceName string
	// ServiceVersion is the service.version resource attribute.
	ServiceVersion string
	// InstanceID is the service.instance.id resource attribute.
	InstanceID string
	// DeploymentEnvironment is the deployment.environment.name resource
	// attribute.
	DeploymentEnvironment string
	// OTLPEndpoint is the OTLP/gRPC collector: "host:port" or a URL
	// ("http://host:4317" is plaintext, "https://…" TLS). Empty disables
	// export unless a span exporter is injected.
	OTLPEndpoint string
	// Insecure uses plaintext gRPC for a "host:port" endpoint.
	Insecure bool
	// Headers are sent with every export (e.g. an API key).
	Headers map[string]string
	// SampleRatio is the fraction of root traces sampled, in [0,1];
	// 0 means 1 (sample everything). Child spans follow their parent.
	SampleRatio float64
}

// Option adjusts Setup/New.
type Option func(*options)

type options struct {
	exporters []sdktrace.SpanExporter
}

// WithSpanExporter adds an exporter that receives every ended span
// synchronously (for tests, e.g. tracetest.NewInMemoryExporter, and debugging).
func WithSpanExporter(exp sdktrace.SpanExporter) Option {
	return func(o *options) { o.exporters = append(o.exporters, exp) }
}

// Telemetry holds the tracing providers of a process. Pass them down
// explicitly; Setup additionally installs them as the OpenTelemetry globals.
type Telemetry struct {
	TracerProvider trace.TracerProvider
	Propagator     propagation.TextMapPropagator
	sdk            *sdktrace.TracerProvider
}

// Propagator is the W3C trace-context plus baggage propagator.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// New builds the tracing providers without touching OpenTelemetry globals.
// With no endpoint and no injected exporter the tracer provider is a no-op
// (trace context still propagates).
func New(ctx context.Context, cfg Config, opts ...Option) (*Telemetry, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if cfg.SampleRatio < 0 || cfg.SampleRatio > 1 {
		return nil, fmt.Errorf("set up tracing: sample ratio %v is outside [0,1]", cfg.SampleRatio)
	}
	t := &Telemetry{Propagator: Propagator()}
	if cfg.OTLPEndpoint == "" && len(o.exporters) == 0 {
		t.TracerProvider = noop.NewTracerProvider()
		return t, nil
	}

	attrs := []attribute.KeyValue{attribute.String("service.name", cfg.ServiceName)}
	if cfg.ServiceName == "" {
		attrs[0] = attribute.String("service.name", "semrouter")
	}
	if cfg.ServiceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", cfg.ServiceVersion))
	}
	if cfg.InstanceID != "" {
		attrs = append(attrs, attribute.String("service.instance.id", cfg.InstanceID))
	}
	if cfg.DeploymentEnvironment != "" {
		attrs = append(attrs, attribute.String("deployment.environment.name", cfg.DeploymentEnvironment))
	}
	ratio := cfg.SampleRatio
	if ratio == 0 {
		ratio = 1
	}
	tpOpts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(resource.NewSchemaless(attrs...)),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
	}
	if cfg.OTLPEndpoint != "" {
		exp, err := newOTLPExporter(ctx, cfg)
		if err != nil {
			return nil, err
		}
		tpOpts = append(tpOpts, sdktrace.WithBatcher(exp))
	}
	for _, exp := range o.exporters {
		tpOpts = append(tpOpts, sdktrace.WithSyncer(exp))
	}
	t.sdk = sdktrace.NewTracerProvider(tpOpts...)
	t.TracerProvider = t.sdk
	return t, nil
}

func newOTLPExporter(ctx context.Context, cfg Config) (sdktrace.SpanExporter, error) {
	var eo []otlptracegrpc.Option
	if strings.Contains(cfg.OTLPEndpoint, "://") {
		eo = append(eo, otlptracegrpc.WithEndpointURL(cfg.OTLPEndpoint))
	} else {
		eo = append(eo, otlptracegrpc.WithEndpoint(cfg.OTLPEndpoint))
		if cfg.Insecure {
			eo = append(eo, otlptracegrpc.WithInsecure())
		}
	}
	if len(cfg.Headers) > 0 {
		eo = append(eo, otlptracegrpc.WithHeaders(cfg.Headers))
	}
	// New does not dial eagerly: an unreachable collector does not stop the process.
	exp, err := otlptracegrpc.New(ctx, eo...)
	if err != nil {
		return nil, fmt.Errorf("create OTLP exporter for %q: %w", cfg.OTLPEndpoint, err)
	}
	return exp, nil
}

// Tracer returns a named tracer of the provider.
func (t *Telemetry) Tracer(name string) trace.Tracer { return t.TracerProvider.Tracer(name) }

// ForceFlush exports every finished span now.
func (t *Telemetry) ForceFlush(ctx context.Context) error {
	if t.sdk == nil {
		return nil
	}
	return t.sdk.ForceFlush(ctx)
}

// Shutdown flushes and stops the exporters.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t.sdk == nil {
		return nil
	}
	if err := t.sdk.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut down tracing: %w", err)
	}
	return nil
}

// Setup is New plus installing the providers as the OpenTelemetry globals
// (otel.SetTracerProvider, otel.SetTextMapPropagator), for libraries that
// only use the globals. Call it once from a process's Run; the returned
// function flushes and restores no-op globals.
func Setup(ctx context.Context, cfg Config, opts ...Option) (shutdown func(context.Context) error, err error) {
	t, err := New(ctx, cfg, opts...)
	if err != nil {
		return nil, err
	}
	otel.SetTracerProvider(t.TracerProvider)
	otel.SetTextMapPropagator(t.Propagator)
	return func(ctx context.Context) error {
		err := t.Shutdown(ctx)
		otel.SetTracerProvider(noop.NewTracerProvider())
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
		return err
	}, nil
}
