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

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/protobuf/proto"

	classifierv1 "github.com/semrouter/semrouter/gen/semrouter/classifier/v1"
	"github.com/semrouter/semrouter/gen/semrouter/classifier/v1/classifierv1connect"
	"github.com/semrouter/semrouter/pkg/configwatch"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/pkg/subjects"
	"github.com/semrouter/semrouter/pkg/telemetry"
	"github.com/semrouter/semrouter/services/classifier/classifier"
	"github.com/semrouter/semrouter/services/classifier/engine/selection"
	"github.com/semrouter/semrouter/services/classifier/heuristic"
)

// ServiceName names the classifier in config status reports.
const ServiceName = "classifier"

// Options configure Run.
type Options struct {
	// NATS is the connection to serve on and watch the config KV with.
	NATS *nats.Conn
	// HTTPAddr is the address of the HTTP (Connect + JSON) listener; empty
	// means no HTTP unless HTTPListener is set.
	HTTPAddr string
	// HTTPListener, when set, is used instead of listening on HTTPAddr.
	HTTPListener net.Listener
	// Embedder embeds candidates at config load and texts for the
	// text-only APIs; nil leaves embedding families degraded.
	Embedder classifier.Embedder
	// Jailbreak is the jailbreak model scorer; optional.
	Jailbreak heuristic.JailbreakScorer
	// CompileOptions are passed to classifier.Compile for every revision
	// (e.g. WithDomainHeadDir).
	CompileOptions []classifier.Option
	Logger         *slog.Logger
	// Instance names this replica in config status reports (default: the
	// host name).
	Instance string
	// Service, when set, is the service to serve (so a caller can observe
	// it); nil creates one.
	Service *classifier.Service
	// MaxConcurrency bounds the NATS requests handled at once (default 64).
	MaxConcurrency int
	// MetricsAddr, when set, serves Prometheus metrics at /metrics there:
	// the Registerer when it is also a prometheus.Gatherer, else a registry
	// of the classifier's own.
	MetricsAddr string
	// Registerer, when set, receives the classifier's metrics (semrouter
	// serve passes one registry to every service and serves it once).
	Registerer prometheus.Registerer
	// TracerProvider traces NATS requests and signal/decision evaluation
	// (nil: no tracing).
	TracerProvider trace.TracerProvider
	// OnSwap, when set, is called after a config revision has been
	// compiled and swapped in (readiness: the first call means the
	// classifier answers).
	OnSwap func(revision uint64)
	// OnLatency, when set, is called after each observation received on
	// the latency subjects has been recorded (metrics, tests).
	OnLatency func(selection.Observation)
}

// Run serves the classifier until ctx ends: it watches the config KV
// (subjects.ConfigBucket/ConfigKey) and hot-reloads every revision, serves
// the ClassifierService on NATS (queue group) and over HTTP, and records
// the latency observations published on subjects.LatencyAll().
func Run(ctx context.Context, o Options) error {
	if o.NATS == nil {
		return errors.New("classifier: a NATS connection is required")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Instance == "" {
		o.Instance, _ = os.Hostname()
	}
	svc := o.Service
	if svc == nil {
		svc = classifier.NewService()
		defer svc.Close()
	}
	copts := append([]classifier.Option{classifier.WithLogger(log)}, o.CompileOptions...)
	if o.Jailbreak != nil {
		copts = append(copts, classifier.WithJailbreakScorer(o.Jailbreak))
	}

	var metrics *Metrics
	var err error
	switch {
	case o.Registerer != nil:
		if metrics, err = NewMetricsWith(o.Registerer); err != nil {
			return fmt.Errorf("classifier metrics: %w", err)
		}
		if o.MetricsAddr != "" && metrics.gatherer == nil {
			return errors.New("classifier: MetricsAddr is set but the Registerer is not a Gatherer: serve it yourself")
		}
	case o.MetricsAddr != "":
		metrics = NewMetrics()
	}
	tp := o.TracerProvider
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	js, err := jetstream.New(o.NATS)
	if err != nil {
		return fmt.Errorf("open jetstream: %w", err)
	}
	kv, err := configBucket(ctx, js)
	if err != nil {
		return err
	}
	var w *configwatch.Watcher[*classifier.Classifier]
	w = configwatch.New(kv, subjects.ConfigKey(), svc.Compiler(o.Embedder, copts...),
		configwatch.WithLogger(log),
		configwatch.WithIdentity(ServiceName, o.Instance),
		configwatch.WithReporter(configwatch.NATSReporter(o.NATS, subjects.ConfigStatus(ServiceName, o.Instance), log)),
		configwatch.WithOnSwap(func(rev uint64) {
			svc.Set(w.Current().Value)
			metrics.setRevision(rev)
			if o.OnSwap != nil {
				o.OnSwap(rev)
			}
		}),
	)

	h := NewHandler(svc, HandlerOptions{Embedder: o.Embedder, Jailbreak: o.Jailbreak, Logger: log, Metrics: metrics, TracerProvider: tp})
	path, handler := classifierv1connect.NewClassifierServiceHandler(h)
	nopts := []natsrpc.ServerOption{natsrpc.WithLogger(log), natsrpc.WithTracerProvider(tp),
		natsrpc.WithPropagator(telemetry.Propagator()), natsrpc.WithMetrics(metrics.RPC())}
	if o.MaxConcurrency > 0 {
		nopts = append(nopts, natsrpc.WithMaxConcurrency(o.MaxConcurrency))
	}
	rpc, err := natsrpc.Serve(o.NATS, path, handler, nopts...)
	if err != nil {
		return fmt.Errorf("serve classifier on nats: %w", err)
	}
	defer rpc.Close()

	sub, err := o.NATS.Subscribe(subjects.LatencyAll(), func(m *nats.Msg) {
		var obs classifierv1.LatencyObservation
		if err := proto.Unmarshal(m.Data, &obs); err != nil {
			log.Warn("decode latency observation", slog.String("subject", m.Subject), slog.Any("error", err))
			return
		}
		if ob, ok := toObservation(&obs, time.Now()); ok {
			svc.Latency().Record(ob)
			metrics.latency()
			if o.OnLatency != nil {
				o.OnLatency(ob)
			}
		}
	})
	if err != nil {
		return fmt.Errorf("subscribe to latency observations: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()

	ln := o.HTTPListener
	if ln == nil && o.HTTPAddr != "" {
		ln, err = net.Listen("tcp", o.HTTPAddr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", o.HTTPAddr, err)
		}
	}
	errc := make(chan error, 3)
	var msrv *http.Server
	if metrics != nil && o.MetricsAddr != "" {
		mln, err := net.Listen("tcp", o.MetricsAddr)
		if err != nil {
			if ln != nil {
				_ = ln.Close()
			}
			return fmt.Errorf("listen for metrics on %s: %w", o.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics.Handler())
		msrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := msrv.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serve metrics: %w", err)
			}
		}()
	}
	var srv *http.Server
	if ln != nil {
		srv = &http.Server{Handler: Mux(h), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serve http: %w", err)
			}
		}()
		log.Info("classifier http listening", slog.String("addr", ln.Addr().String()))
	}
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go func() {
		if err := w.Run(wctx); err != nil && wctx.Err() == nil {
			errc <- err
		}
	}()

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	stopWatch()
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if srv != nil {
		_ = srv.Shutdown(shutdown)
	}
	if msrv != nil {
		_ = msrv.Shutdown(shutdown)
	}
	if err := rpc.Drain(shutdown); err != nil {
		log.Warn("drain nats server", slog.Any("error", err))
	}
	return runErr
}

// configBucket opens the config KV bucket, creating it when config-hub
// has not yet.
func configBucket(ctx context.Context, js jetstream.JetStream) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, subjects.ConfigBucket())
	if err == nil {
		return kv, nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("open config bucket: %w", err)
	}
	kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: subjects.ConfigBucket(), Description: "semrouter canonical configuration revisions", History: 32})
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = js.KeyValue(ctx, subjects.ConfigBucket())
	}
	if err != nil {
		return nil, fmt.Errorf("create config bucket: %w", err)
	}
	return kv, nil
}
