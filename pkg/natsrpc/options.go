package natsrpc

import (
	"context"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/pkg/subjects"
)

// ClientOption configures a Client.
type ClientOption interface{ applyClient(*clientConfig) }

// ServerOption configures a Server.
type ServerOption interface{ applyServer(*serverConfig) }

// Option configures both clients and servers.
type Option interface {
	ClientOption
	ServerOption
}

type common struct {
	tracerProvider trace.TracerProvider
	propagator     propagation.TextMapPropagator
	logger         *slog.Logger
	metrics        *metrics.RPC
}

func defaultCommon() common {
	return common{
		tracerProvider: otel.GetTracerProvider(),
		propagator:     otel.GetTextMapPropagator(),
		logger:         slog.New(slog.DiscardHandler),
	}
}

type clientConfig struct {
	common
	compression    bool
	defaultTimeout time.Duration
	subject        func(ctx context.Context, procedure string) string
}

type serverConfig struct {
	common
	queueGroup     string
	maxConcurrency int
	suffixes       map[string][]string
}

type commonOption func(*common)

func (o commonOption) applyClient(c *clientConfig) { o(&c.common) }
func (o commonOption) applyServer(c *serverConfig) { o(&c.common) }

type clientOption func(*clientConfig)

func (o clientOption) applyClient(c *clientConfig) { o(c) }

type serverOption func(*serverConfig)

func (o serverOption) applyServer(c *serverConfig) { o(c) }

// WithTracerProvider sets the tracer provider for client and server spans
// (default: the OpenTelemetry global).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return commonOption(func(c *common) { c.tracerProvider = tp })
}

// WithPropagator sets the propagator that carries trace context in NATS
// headers (default: the OpenTelemetry global; telemetry.Propagator() is W3C).
func WithPropagator(p propagation.TextMapPropagator) Option {
	return commonOption(func(c *common) { c.propagator = p })
}

// WithLogger sets the logger for transport problems (default: discard).
func WithLogger(l *slog.Logger) Option {
	return commonOption(func(c *common) { c.logger = l })
}

// WithMetrics records client round trips and server handling times in m
// (semrouter_natsrpc_client_duration_seconds and
// semrouter_natsrpc_server_duration_seconds, by procedure and code); nil
// records nothing.
func WithMetrics(m *metrics.RPC) Option {
	return commonOption(func(c *common) { c.metrics = m })
}

// WithDefaultTimeout bounds calls whose context has no deadline
// (default 30s). The remaining time of every call is sent to the server,
// whose handler context gets the same deadline.
func WithDefaultTimeout(d time.Duration) ClientOption {
	return clientOption(func(c *clientConfig) { c.defaultTimeout = d })
}

// WithResponseCompression keeps the Connect client's Accept-Encoding
// headers, so handlers may gzip responses. By default a Client removes them:
// NATS traffic stays inside the cluster, where compressing every response
// costs more CPU on the hot path than the bytes it saves. Enable it for
// large, compressible responses near the NATS max payload.
func WithResponseCompression() ClientOption {
	return clientOption(func(c *clientConfig) { c.compression = true })
}

// WithSubjectFunc replaces the mapping from procedure to NATS subject
// (default: subjects.RPCWithSuffix(procedure, SubjectSuffix(ctx))).
func WithSubjectFunc(fn func(ctx context.Context, procedure string) string) ClientOption {
	return clientOption(func(c *clientConfig) { c.subject = fn })
}

// WithQueueGroup sets the queue group the server's subscriptions join
// (default: subjects.QueueGroup(service)). Replicas in one group share the load.
func WithQueueGroup(name string) ServerOption {
	return serverOption(func(c *serverConfig) { c.queueGroup = name })
}

// WithMaxConcurrency bounds the number of requests handled at once
// (default 64). When all workers are busy, further messages wait in the
// subscription's pending queue.
func WithMaxConcurrency(n int) ServerOption {
	return serverOption(func(c *serverConfig) { c.maxConcurrency = n })
}

// WithProcedureSuffixes serves procedure on subjects.RPCWithSuffix(procedure, s)
// for each suffix s instead of its plain subject; an empty suffix stands for
// the plain subject. The embedder uses it to serve Embed once per model.
func WithProcedureSuffixes(procedure string, suffixes ...string) ServerOption {
	return serverOption(func(c *serverConfig) {
		if c.suffixes == nil {
			c.suffixes = map[string][]string{}
		}
		c.suffixes[procedure] = append(c.suffixes[procedure], suffixes...)
	})
}

type suffixKey struct{}

// ContextWithSubjectSuffix returns a context that routes the calls made with it to
// subjects.RPCWithSuffix(procedure, suffix), e.g. the embedder pool serving
// one model: natsrpc.ContextWithSubjectSuffix(ctx, "bge-m3").
func ContextWithSubjectSuffix(ctx context.Context, suffix string) context.Context {
	return context.WithValue(ctx, suffixKey{}, suffix)
}

// SubjectSuffix returns the suffix set by ContextWithSubjectSuffix ("" if none).
func SubjectSuffix(ctx context.Context) string {
	s, _ := ctx.Value(suffixKey{}).(string)
	return s
}

func defaultSubject(ctx context.Context, procedure string) string {
	return subjects.RPCWithSuffix(procedure, SubjectSuffix(ctx))
}
