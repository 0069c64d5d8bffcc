// Package metrics defines the Prometheus series every semrouter service
// exports, with the metric and label names of the upstream vLLM Semantic
// Router where one exists (llm_model_requests_total, llm_model_ttft_seconds,
// llm_decision_match_total, …) and semrouter_* names for what is ours
// (embedder batching, NATS round trips).
//
// There are no package-level collectors: each constructor registers its
// series in the prometheus.Registerer it is given, so one process can put
// every in-process service into one registry (semrouter serve) and a
// standalone binary into its own. Constructors are idempotent per registry:
// a second constructor call on the same registry reuses the series already
// there (services that share a series, like the NATS RPC histograms, simply
// each ask for it). A nil Registerer gives a nil value whose methods record
// nothing.
//
// Convention for services: their Options carry
//
//	// Registerer, when set, receives the service's metrics (semrouter serve
//	// passes one registry to every service and serves it once).
//	Registerer prometheus.Registerer
//
// and a standalone binary builds NewRegistry() and serves it with Serve on
// its --metrics-addr.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry holding the Go runtime and process
// collectors, to which services add their own series.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// register adds c to reg, or returns the collector already registered
// under the same descriptors.
func register[T prometheus.Collector](reg prometheus.Registerer, c T) (T, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(T); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("register metric: %w", err)
}

// registrar registers a series of collectors, keeping the first error.
type registrar struct {
	reg prometheus.Registerer
	err error
}

func counterVec(r *registrar, name, help string, labels ...string) *prometheus.CounterVec {
	c, err := register(r.reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels))
	r.err = errors.Join(r.err, err)
	return c
}

func counter(r *registrar, name, help string) prometheus.Counter {
	c, err := register(r.reg, prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help}))
	r.err = errors.Join(r.err, err)
	return c
}

func histogramVec(r *registrar, name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h, err := register(r.reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels))
	r.err = errors.Join(r.err, err)
	return h
}

func histogram(r *registrar, name, help string, buckets []float64) prometheus.Histogram {
	h, err := register(r.reg, prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}))
	r.err = errors.Join(r.err, err)
	return h
}

func gaugeVec(r *registrar, name, help string, labels ...string) *prometheus.GaugeVec {
	g, err := register(r.reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels))
	r.err = errors.Join(r.err, err)
	return g
}

// Bucket layouts.
var (
	// latencyBuckets span sub-millisecond router stages to long completions.
	latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
	// fastBuckets are for in-process stages (signals, decisions, RPC hops).
	fastBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}
)

// Handler serves g in the Prometheus exposition format.
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}

// Server is a running /metrics endpoint.
type Server struct {
	srv  *http.Server
	addr net.Addr
	errc chan error
}

// Serve listens on addr and serves g at GET /metrics until Shutdown.
func Serve(addr string, g prometheus.Gatherer, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for metrics on %s: %w", addr, err)
	}
	return ServeListener(ln, g, log), nil
}

// ServeListener serves g at GET /metrics on ln until Shutdown.
func ServeListener(ln net.Listener, g prometheus.Gatherer, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", Handler(g))
	s := &Server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, addr: ln.Addr(), errc: make(chan error, 1)}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errc <- fmt.Errorf("serve metrics: %w", err)
		}
		close(s.errc)
	}()
	log.Info("metrics listening", slog.String("addr", ln.Addr().String()))
	return s
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.addr }

// Err delivers the error that stopped the server, if it stopped on its own.
func (s *Server) Err() <-chan error { return s.errc }

// Shutdown stops the server gracefully.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut down metrics server: %w", err)
	}
	return nil
}
