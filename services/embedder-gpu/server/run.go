package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/semrouter/semrouter/gen/semrouter/embedding/v1/embeddingv1connect"
	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/pkg/subjects"
	"github.com/semrouter/semrouter/pkg/telemetry"
	"github.com/semrouter/semrouter/services/embedder-gpu/batching"
)

// Options configures Run.
type Options struct {
	// NATS, when set, serves the service over NATS request-reply.
	NATS *nats.Conn
	// HTTPAddr, when set, serves Connect/gRPC/gRPC-Web over HTTP (h2c) on
	// this address (":0" picks a port; see Ready).
	HTTPAddr string
	// Models to serve (required).
	Models []Model
	// Logger (default: discard).
	Logger *slog.Logger
	// Batching tunes the per-model dynamic batchers.
	Batching batching.Config
	// MaxConcurrency bounds the requests one model's NATS subscription
	// handles at once (0: natsrpc's default).
	MaxConcurrency int
	// DrainTimeout bounds the graceful stop (default 10s).
	DrainTimeout time.Duration
	// Registerer, when set, receives the embedder's metrics (batch size,
	// queue depth, NATS handling time); semrouter serve passes one registry
	// to every service.
	Registerer prometheus.Registerer
	// TracerProvider traces the NATS requests (nil: no tracing).
	TracerProvider trace.TracerProvider
	// Ready, when set, is called once everything serves, with the HTTP
	// listener's address ("" without HTTP).
	Ready func(httpAddr string)
}

// Run serves the models until ctx ends, then drains NATS subscriptions and
// HTTP connections. It does not close the models or the NATS connection.
func Run(ctx context.Context, opts Options) error {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.NATS == nil && opts.HTTPAddr == "" {
		return errors.New("run embedder: neither NATS nor an HTTP address is set")
	}
	em, err := metrics.NewEmbedder(opts.Registerer)
	if err != nil {
		return fmt.Errorf("run embedder: %w", err)
	}
	rpcm, err := metrics.NewRPC(opts.Registerer)
	if err != nil {
		return fmt.Errorf("run embedder: %w", err)
	}
	bcfg := opts.Batching
	if em != nil {
		next := bcfg.OnBatch
		bcfg.OnBatch = func(model string, texts int, elapsed time.Duration, err error) {
			em.Batch(model, texts, elapsed, err)
			if next != nil {
				next(model, texts, elapsed, err)
			}
		}
	}
	svc, err := NewService(logger, opts.Models, bcfg)
	if err != nil {
		return fmt.Errorf("run embedder: %w", err)
	}
	defer svc.Close()
	defer svc.TrackQueues(em)()
	tp := opts.TracerProvider
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	var natsServers []*natsrpc.Server
	if opts.NATS != nil {
		natsServers, err = svc.ServeNATS(opts.NATS, NATSOptions{Logger: logger, MaxConcurrency: opts.MaxConcurrency,
			ServerOptions: []natsrpc.ServerOption{natsrpc.WithTracerProvider(tp), natsrpc.WithPropagator(telemetry.Propagator()),
				natsrpc.WithMetrics(rpcm)}})
		if err != nil {
			return fmt.Errorf("run embedder: %w", err)
		}
	}
	var (
		httpSrv  *http.Server
		httpAddr string
		httpErr  = make(chan error, 1)
	)
	if opts.HTTPAddr != "" {
		ln, err := net.Listen("tcp", opts.HTTPAddr)
		if err != nil {
			closeAll(natsServers)
			return fmt.Errorf("run embedder: listen on %q: %w", opts.HTTPAddr, err)
		}
		httpAddr = ln.Addr().String()
		httpSrv = NewHTTPServer(svc)
		go func() { httpErr <- httpSrv.Serve(ln) }()
		logger.Info("embedder serving HTTP", slog.String("addr", httpAddr))
	}
	for _, m := range svc.Models() {
		logger.Info("embedder serving model", slog.String("model", m.Embedder.Name()), slog.Any("aliases", m.Aliases),
			slog.Bool("default", m.Default), slog.String("device", m.Device), slog.Int("dims", m.Embedder.Dims()))
	}
	if opts.Ready != nil {
		opts.Ready(httpAddr)
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case err := <-httpErr:
		serveErr = fmt.Errorf("run embedder: serve HTTP: %w", err)
	}
	timeout := opts.DrainTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	errs := []error{serveErr}
	for _, s := range natsServers {
		if err := s.Drain(stopCtx); err != nil {
			errs = append(errs, err)
		}
	}
	if httpSrv != nil {
		if err := httpSrv.Shutdown(stopCtx); err != nil {
			errs = append(errs, fmt.Errorf("shut down HTTP: %w", err))
		}
	}
	return errors.Join(errs...)
}

// TrackQueues reports every model's batch queue as
// semrouter_embedder_queue_depth in m until the returned function is called.
func (s *Service) TrackQueues(m *metrics.Embedder) (untrack func()) {
	var stops []func()
	for _, sv := range s.models {
		stops = append(stops, m.TrackQueue(sv.Embedder.Name(), sv.batcher.QueueLen))
	}
	return func() {
		for _, stop := range stops {
			stop()
		}
	}
}

func closeAll(servers []*natsrpc.Server) {
	for _, s := range servers {
		s.Close()
	}
}

// NATSOptions tunes ServeNATS.
type NATSOptions struct {
	Logger         *slog.Logger
	MaxConcurrency int
	// Extra options for every natsrpc server (tracing, ...).
	ServerOptions []natsrpc.ServerOption
}

// ModelQueueGroup is the queue group of the replicas serving one model:
// the service's group plus the model token, so each model's pool (a GPU
// pool, a CPU pool) balances and scales on its own.
func ModelQueueGroup(model string) string {
	return subjects.QueueGroup(embeddingv1connect.EmbeddingServiceName) + "_" + subjects.Token(model)
}

// ServeNATS subscribes the service on nc:
//
//   - per model, Embed and ListModels on subjects.EmbedModel(name) (and the
//     ListModels subject with the same suffix) for the name and every alias,
//     in the queue group ModelQueueGroup(name);
//   - the default model also answers the plain Embed and ListModels subjects,
//     in the service's queue group subjects.QueueGroup(service), which every
//     replica shares, so a plain request reaches exactly one replica.
//
// Close or Drain the returned servers to stop.
func (s *Service) ServeNATS(nc *nats.Conn, o NATSOptions) ([]*natsrpc.Server, error) {
	path, handler := s.Handler()
	base := append([]natsrpc.ServerOption(nil), o.ServerOptions...)
	if o.Logger != nil {
		base = append(base, natsrpc.WithLogger(o.Logger))
	}
	if o.MaxConcurrency > 0 {
		base = append(base, natsrpc.WithMaxConcurrency(o.MaxConcurrency))
	}
	var servers []*natsrpc.Server
	serve := func(group string, suffixes []string) error {
		opts := append(append([]natsrpc.ServerOption(nil), base...),
			natsrpc.WithQueueGroup(group),
			natsrpc.WithProcedureSuffixes(embeddingv1connect.EmbeddingServiceEmbedProcedure, suffixes...),
			natsrpc.WithProcedureSuffixes(embeddingv1connect.EmbeddingServiceListModelsProcedure, suffixes...))
		srv, err := natsrpc.Serve(nc, path, handler, opts...)
		if err != nil {
			return err
		}
		servers = append(servers, srv)
		return nil
	}
	for _, m := range s.models {
		if err := serve(ModelQueueGroup(m.Embedder.Name()), m.Names()); err != nil {
			closeAll(servers)
			return nil, fmt.Errorf("serve model %q on NATS: %w", m.Embedder.Name(), err)
		}
	}
	if err := serve(subjects.QueueGroup(embeddingv1connect.EmbeddingServiceName), []string{""}); err != nil {
		closeAll(servers)
		return nil, fmt.Errorf("serve default model on NATS: %w", err)
	}
	return servers, nil
}

// MaxRequestBytes bounds one Embed request (HTTP or NATS): texts are
// truncated to the model's window anyway, so more is never useful.
const MaxRequestBytes = 16 << 20

// Handler is the Connect handler of the service and its path prefix.
func (s *Service) Handler() (string, http.Handler) {
	return embeddingv1connect.NewEmbeddingServiceHandler(s, connect.WithRecover(s.recoverPanic), connect.WithReadMaxBytes(MaxRequestBytes))
}

func (s *Service) recoverPanic(ctx context.Context, spec connect.Spec, _ http.Header, p any) error {
	s.logger.LogAttrs(ctx, slog.LevelError, "embedder handler panic", slog.String("procedure", spec.Procedure), slog.Any("panic", p))
	return connect.NewError(connect.CodeInternal, fmt.Errorf("embedder: internal error in %s", spec.Procedure))
}

// NewHTTPServer serves the Connect handler (HTTP/1.1 and unencrypted HTTP/2,
// so gRPC clients work without TLS) and GET /healthz.
func NewHTTPServer(s *Service) *http.Server {
	mux := http.NewServeMux()
	path, handler := s.Handler()
	mux.Handle(path, handler)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Server{Handler: mux, Protocols: &protocols, ReadHeaderTimeout: 10 * time.Second}
}
