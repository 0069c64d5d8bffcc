package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"connectrpc.com/connect"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/semrouter/semrouter/gen/semrouter/cache/v1/cachev1connect"
	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/configwatch"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/pkg/subjects"
	"github.com/semrouter/semrouter/pkg/telemetry"
	"github.com/semrouter/semrouter/services/cache"
)

// MaxRequestBytes bounds one Connect request (HTTP or NATS): a stored
// response travels in it, and NATS messages are smaller anyway.
const MaxRequestBytes = 16 << 20

// ServiceName names the cache service in config status reports.
const ServiceName = "cache"

// Options configure Run.
type Options struct {
	// NATS is the connection to serve on, replicate through and watch the
	// config KV with (required).
	NATS *nats.Conn
	// HTTPAddr is the Connect-over-HTTP listen address (empty: none unless
	// HTTPListener is set).
	HTTPAddr     string
	HTTPListener net.Listener
	// MetricsAddr serves Prometheus /metrics (empty: none unless
	// MetricsListener is set).
	MetricsAddr     string
	MetricsListener net.Listener
	Logger          *slog.Logger
	// Instance names this replica (default: the host name).
	Instance string
	// Clock defaults to the wall clock.
	Clock cache.Clock
	// Build builds backends (default Build).
	Build BuildFunc
	// MaxConcurrency bounds the NATS requests handled at once (default 64).
	MaxConcurrency int
	// OnReady, when set, is called with the running service once it
	// serves on NATS (tests).
	OnReady func(*Service)
	// OnSwap, when set, is called after each configuration revision the
	// service applies (serve announces readiness after the first).
	OnSwap func(rev uint64)
	// TracerProvider traces the NATS requests (nil: no tracing).
	TracerProvider trace.TracerProvider
	// Registerer, when set, receives the cache metrics (NewMetricsIn) of a
	// process whose gateway owns the plugin hit/miss counters and serves
	// /metrics itself; MetricsAddr and MetricsListener must then be unset.
	Registerer prometheus.Registerer
}

// Run serves one cache replica until ctx ends: it creates the writes
// stream and consumes it into the local backend, serves CacheService on
// NATS (queue group: lookups are balanced over replicas) and over HTTP
// (Connect), applies invalidations and flushes broadcast by other
// replicas, and follows the config KV (subjects.ConfigBucket/ConfigKey):
// a revision whose global.stores.response_cache settings differ rebuilds
// the backend (see Service.Apply for what happens to the entries); a
// revision that fails to compile is rejected and the previous settings
// keep serving.
func Run(ctx context.Context, o Options) error {
	if o.NATS == nil {
		return errors.New("cache: a NATS connection is required")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Instance == "" {
		o.Instance, _ = os.Hostname()
	}
	var metrics *Metrics
	switch {
	case o.Registerer != nil && (o.MetricsAddr != "" || o.MetricsListener != nil):
		return errors.New("cache: set either Registerer or a metrics address, not both")
	case o.Registerer != nil:
		m, err := NewMetricsIn(o.Registerer)
		if err != nil {
			return err
		}
		metrics = m
	case o.MetricsAddr != "" || o.MetricsListener != nil:
		metrics = NewMetrics()
	}
	svc, err := NewService(ctx, ServiceOptions{NATS: o.NATS, Instance: o.Instance, Clock: o.Clock, Logger: log,
		Metrics: metrics, Build: o.Build})
	if err != nil {
		return err
	}
	defer svc.Close()

	js, err := natsjs.New(o.NATS)
	if err != nil {
		return fmt.Errorf("open jetstream: %w", err)
	}
	kv, err := configBucket(ctx, js)
	if err != nil {
		return err
	}
	var w *configwatch.Watcher[*Prepared]
	w = configwatch.New(kv, subjects.ConfigKey(), svc.Compiler(),
		configwatch.WithLogger(log),
		configwatch.WithIdentity(ServiceName, o.Instance),
		configwatch.WithReporter(configwatch.NATSReporter(o.NATS, subjects.ConfigStatus(ServiceName, o.Instance), log)),
		configwatch.WithOnSwap(func(rev uint64) {
			svc.Swap(w.Current().Value)
			metrics.setRevision(rev)
			if o.OnSwap != nil {
				o.OnSwap(rev)
			}
		}),
	)

	path, handler := cachev1connect.NewCacheServiceHandler(svc, connect.WithReadMaxBytes(MaxRequestBytes))
	nopts := []natsrpc.ServerOption{natsrpc.WithLogger(log)}
	if o.TracerProvider != nil {
		nopts = append(nopts, natsrpc.WithTracerProvider(o.TracerProvider), natsrpc.WithPropagator(telemetry.Propagator()))
	}
	if o.MaxConcurrency > 0 {
		nopts = append(nopts, natsrpc.WithMaxConcurrency(o.MaxConcurrency))
	}
	rpc, err := natsrpc.Serve(o.NATS, path, handler, nopts...)
	if err != nil {
		return fmt.Errorf("serve cache on nats: %w", err)
	}
	defer rpc.Close()

	ln := o.HTTPListener
	if ln == nil && o.HTTPAddr != "" {
		if ln, err = net.Listen("tcp", o.HTTPAddr); err != nil {
			return fmt.Errorf("listen on %s: %w", o.HTTPAddr, err)
		}
	}
	errc := make(chan error, 3)
	var servers []*http.Server
	serve := func(name string, l net.Listener, h http.Handler) {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serve %s: %w", name, err)
			}
		}()
		log.Info("cache listening", slog.String("what", name), slog.String("addr", l.Addr().String()))
	}
	if metrics != nil && o.Registerer == nil {
		mln := o.MetricsListener
		if mln == nil {
			if mln, err = net.Listen("tcp", o.MetricsAddr); err != nil {
				if ln != nil {
					_ = ln.Close()
				}
				return fmt.Errorf("listen for metrics on %s: %w", o.MetricsAddr, err)
			}
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics.Handler())
		serve("metrics", mln, mux)
	}
	if ln != nil {
		mux := http.NewServeMux()
		mux.Handle(path, handler)
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
		serve("http", ln, mux)
	}
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go func() {
		if err := w.Run(wctx); err != nil && wctx.Err() == nil {
			errc <- err
		}
	}()
	if o.OnReady != nil {
		o.OnReady(svc)
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	stopWatch()
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, srv := range servers {
		_ = srv.Shutdown(shutdown)
	}
	if err := rpc.Drain(shutdown); err != nil {
		log.Warn("drain nats server", slog.Any("error", err))
	}
	return runErr
}

// Compiler compiles a config revision into its store settings and, when
// they differ from the ones serving, builds their backend; a revision
// whose settings are invalid or whose backend cannot be built (Redis or
// Milvus unreachable) is rejected, and the previous one keeps serving.
func (s *Service) Compiler() configwatch.Compiler[*Prepared] {
	return func(ctx context.Context, doc []byte, rev uint64) (*Prepared, error) {
		cfg, _, err := config.Parse(doc, fmt.Sprintf("config revision %d", rev))
		if err != nil {
			return nil, err
		}
		settings, err := SettingsFromConfig(cfg)
		if err != nil {
			return nil, err
		}
		return s.Prepare(ctx, settings)
	}
}

// configBucket opens the config KV bucket, creating it when config-hub
// has not yet.
func configBucket(ctx context.Context, js natsjs.JetStream) (natsjs.KeyValue, error) {
	kv, err := js.KeyValue(ctx, subjects.ConfigBucket())
	if err == nil {
		return kv, nil
	}
	if !errors.Is(err, natsjs.ErrBucketNotFound) {
		return nil, fmt.Errorf("open config bucket: %w", err)
	}
	kv, err = js.CreateKeyValue(ctx, natsjs.KeyValueConfig{Bucket: subjects.ConfigBucket(),
		Description: "semrouter canonical configuration revisions", History: 32})
	if errors.Is(err, natsjs.ErrBucketExists) {
		kv, err = js.KeyValue(ctx, subjects.ConfigBucket())
	}
	if err != nil {
		return nil, fmt.Errorf("create config bucket: %w", err)
	}
	return kv, nil
}
