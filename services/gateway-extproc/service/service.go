// Package service runs the gateway as a semrouter service: it follows the
// config KV (hot reload, bad revisions rejected), builds the router stages
// over NATS, and serves the Envoy ext_proc gRPC server and/or the
// OpenAI-compatible API mode until its context ends, then drains.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/configwatch"
	pkgmetrics "github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/pkg/subjects"
	"github.com/semrouter/semrouter/pkg/telemetry"
	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
	"github.com/semrouter/semrouter/services/gateway-extproc/extproc"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/natsstages"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// ServiceName names the gateway in config status reports.
const ServiceName = "gateway"

// Options configure Run.
type Options struct {
	// NATS is the connection used for the config KV and every stage.
	NATS *nats.Conn
	// ExtProcAddr is the ext_proc gRPC listen address (e.g. ":50051");
	// empty means no ext_proc server unless ExtProcListener is set.
	ExtProcAddr string
	// ExtProcListener, when set, is used instead of listening on ExtProcAddr.
	ExtProcListener net.Listener
	// APIMode serves the OpenAI-compatible API on the config's listeners[]
	// and follows every revision: a listener that appears is bound, one
	// that disappears stops accepting and drains its in-flight requests
	// (streams included, cut only at DrainTimeout), one whose address
	// changed is bound at the new address before the old one is retired
	// (when the new bind fails the old server keeps serving and the
	// revision's status report names the listener), and an unchanged one is
	// left alone (its timeout applies to new requests in place). Only the
	// first revision's listeners are all-or-nothing: a bind failure there
	// ends Run.
	APIMode bool
	// OnAPIListen is called with each newly bound API listener's address:
	// at start and whenever a revision adds or moves a listener (so a name
	// can be reported more than once). Later calls run on the config
	// watcher's goroutine: keep it short.
	OnAPIListen func(listener string, addr net.Addr)
	// APIListen, when set, opens the API listeners' sockets (tests bind
	// free ports with it); addr is the listener's (mapped) address.
	APIListen func(listener, addr string) (net.Listener, error)
	// APIAddress, when set, maps a listener's configured host:port to the
	// address it binds (--api-addr); a listener is rebound only when its
	// mapped address changes.
	APIAddress func(listener, configured string) string
	Logger     *slog.Logger
	// MetricsAddr, when set, serves Prometheus metrics at /metrics: the
	// Registerer when it is also a prometheus.Gatherer, else a registry of
	// the gateway's own.
	MetricsAddr string
	// Registerer, when set, receives the gateway's metrics (semrouter serve
	// passes one registry to every service and serves it once).
	Registerer prometheus.Registerer
	// TracerProvider traces requests and NATS calls (nil: no tracing).
	TracerProvider trace.TracerProvider
	// EmbedModel is the embedding model asked of the embedder pool; empty
	// asks the pool's default model (derived by the embedder from
	// global.model_catalog.embeddings). Use the classifier's --embed-model.
	EmbedModel string
	// EmbedDimensions truncates query embeddings when > 0.
	EmbedDimensions int32
	// StageTimeout overrides the per-stage deadline (default 150ms).
	StageTimeout time.Duration
	// Instance names this replica in config status reports (default: host name).
	Instance string
	// DrainTimeout bounds the graceful shutdown, and the drain of an API
	// listener a revision removes or moves (default 30s).
	DrainTimeout time.Duration
	// OnSwap is called after a config revision has been swapped in.
	OnSwap func(revision uint64)
	// HTTPClient reaches the upstream backends in API mode (default: a
	// pooled client).
	HTTPClient *http.Client
	// TrustedProxies are the TCP peers whose identity headers and
	// x-vsr-debug API mode honours (--trusted-proxies); from other peers
	// they are removed before routing. nil: loopback only
	// (apimode.DefaultTrustedProxies); an empty set trusts nobody. ext_proc
	// mode is unaffected: there Envoy must strip client copies.
	TrustedProxies *apimode.TrustedProxies
	// VectorStoreDir holds API mode's vector store when
	// global.stores.vector_store.file_storage_dir is unset ("": a
	// directory under the temporary directory).
	VectorStoreDir string
}

// Compile turns one published config document into the gateway's routes:
// strict parse and validation (pkg/config), FromConfig, then routes.Compile.
func Compile(doc []byte, revision uint64, stageTimeout time.Duration) (*routes.Table, error) {
	cfg, _, err := config.Parse(doc, "config revision "+strconv.FormatUint(revision, 10))
	if err != nil {
		return nil, err
	}
	spec, err := routes.FromConfig(cfg, revision)
	if err != nil {
		return nil, err
	}
	if stageTimeout > 0 {
		spec.StageTimeout = stageTimeout
	}
	return routes.Compile(spec)
}

// Stages builds the NATS stage clients; opts apply to every natsrpc
// client (tracing, metrics).
func Stages(nc *nats.Conn, embedModel string, dims int32, opts ...natsrpc.ClientOption) (gateway.Stages, error) {
	emb := natsstages.NewEmbedder(nc, embedModel, dims, opts...)
	cache, err := natsstages.NewCache(nc, emb.ResolvedModel, opts...)
	if err != nil {
		return gateway.Stages{}, err
	}
	return gateway.Stages{
		Embedder:   emb,
		Classifier: natsstages.NewClassifier(nc, emb.Keys, opts...),
		Cache:      cache,
		Latency:    natsstages.NewLatency(nc),
	}, nil
}

// Run serves until ctx ends. It waits for the first config revision that
// compiles before serving; later revisions are swapped in atomically (the
// API-mode listeners follow them, see Options.APIMode) and a revision that
// fails to compile is rejected (reported on
// subjects.ConfigStatus) while the previous one keeps serving. On
// shutdown it stops taking requests, drains in-flight ones and the
// background cache/latency publications.
func Run(ctx context.Context, o Options) error {
	if o.NATS == nil {
		return errors.New("gateway: a NATS connection is required")
	}
	if o.ExtProcAddr == "" && o.ExtProcListener == nil && !o.APIMode {
		return errors.New("gateway: nothing to serve: set an ext_proc address or enable API mode")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Instance == "" {
		o.Instance, _ = os.Hostname()
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 30 * time.Second
	}
	reg := o.Registerer
	var gatherer prometheus.Gatherer
	if o.MetricsAddr != "" {
		if g, ok := reg.(prometheus.Gatherer); ok {
			gatherer = g
		} else if reg == nil {
			own := pkgmetrics.NewRegistry()
			reg, gatherer = own, own
		} else {
			return errors.New("gateway: MetricsAddr is set but the Registerer is not a Gatherer: serve it yourself")
		}
	}
	obs, err := newObservability(reg)
	if err != nil {
		return fmt.Errorf("gateway metrics: %w", err)
	}
	met := obs.config
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
	stages, err := Stages(o.NATS, o.EmbedModel, o.EmbedDimensions,
		natsrpc.WithTracerProvider(tp), natsrpc.WithPropagator(telemetry.Propagator()), natsrpc.WithMetrics(obs.rpc))
	if err != nil {
		return err
	}

	var gw atomic.Pointer[gateway.Gateway]
	var api atomic.Pointer[apimode.Server]
	var listenerErrs revisionErrors
	var w *configwatch.Watcher[*routes.Table]
	report := configwatch.NATSReporter(o.NATS, subjects.ConfigStatus(ServiceName, o.Instance), log)
	w = configwatch.New(kv, subjects.ConfigKey(),
		func(_ context.Context, doc []byte, rev uint64) (*routes.Table, error) {
			return Compile(doc, rev, o.StageTimeout)
		},
		configwatch.WithLogger(log),
		configwatch.WithIdentity(ServiceName, o.Instance),
		configwatch.WithReporter(func(ctx context.Context, st configwatch.Status) {
			met.config(st.Accepted, st.Serving)
			if err := listenerErrs.take(st.Revision); err != nil && st.Accepted {
				// The routes serve; the listeners named here do not (yet)
				// serve this revision's address.
				st.Error = "api listeners: " + err.Error()
			}
			report(ctx, st)
		}),
		configwatch.WithOnSwap(func(rev uint64) {
			if g := gw.Load(); g != nil {
				g.Swap(w.Current().Value)
			}
			if a := api.Load(); a != nil {
				err := a.Reconcile()
				listenerErrs.put(rev, err)
				met.apiListeners(a.Listeners())
			}
			if o.OnSwap != nil {
				o.OnSwap(rev)
			}
		}),
	)
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	errc := make(chan error, 4)
	go func() {
		if err := w.Run(wctx); err != nil && wctx.Err() == nil {
			errc <- err
		}
	}()

	if gatherer != nil {
		stop, err := serveMetrics(o.MetricsAddr, gatherer, errc, log)
		if err != nil {
			return err
		}
		defer stop()
	}

	log.Info("gateway waiting for the first config revision", slog.String("bucket", subjects.ConfigBucket()), slog.String("key", subjects.ConfigKey()))
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	case <-w.Ready():
	}
	g := gateway.New(w.Current().Value, stages, log, gateway.WithMetrics(obs.gateway),
		gateway.WithTracerProvider(tp), gateway.WithPropagator(telemetry.Propagator()))
	gw.Store(g)
	var a *apimode.Server
	if o.APIMode {
		a = newAPI(o, g, met, obs.gateway, log)
		api.Store(a)
	}
	// A revision swapped in between Ready and Store is picked up here (API
	// mode binds the routes active when it starts serving).
	g.Swap(w.Current().Value)
	log.Info("gateway serving", slog.Uint64("revision", w.Current().Revision))

	return serve(ctx, o, g, a, errc, log)
}

// newAPI builds the API-mode server; its listener events feed met, its
// upstream attempts and ejections up.
func newAPI(o Options, g *gateway.Gateway, met *metrics, up *pkgmetrics.Gateway, log *slog.Logger) *apimode.Server {
	opts := []apimode.Option{apimode.WithShutdownTimeout(o.DrainTimeout), apimode.WithUpstreamObserver(up),
		apimode.WithOnListen(func(name string, addr net.Addr) {
			met.apiListening(name)
			if o.OnAPIListen != nil {
				o.OnAPIListen(name, addr)
			}
		})}
	if o.APIListen != nil {
		opts = append(opts, apimode.WithListen(o.APIListen))
	}
	if o.APIAddress != nil {
		opts = append(opts, apimode.WithAddress(o.APIAddress))
	}
	if o.HTTPClient != nil {
		opts = append(opts, apimode.WithHTTPClient(o.HTTPClient))
	}
	trusted := o.TrustedProxies
	if trusted == nil {
		trusted = apimode.LoopbackProxies()
	}
	if trusted.TrustsEveryone() {
		log.Warn("trusted proxies cover a whole address family: any client can claim any identity and ask for debug headers",
			slog.String("trusted_proxies", trusted.String()))
	}
	opts = append(opts, apimode.WithTrustedProxies(trusted), apimode.WithHeaderObserver(met))
	if o.VectorStoreDir != "" {
		opts = append(opts, apimode.WithVectorStoreDir(o.VectorStoreDir))
	}
	return apimode.New(g, log, opts...)
}

// revisionErrors hands the listener errors of a revision from the swap
// hook to its status report.
type revisionErrors struct {
	mu  sync.Mutex
	rev uint64
	err error
}

func (r *revisionErrors) put(rev uint64, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rev, r.err = rev, err
}

func (r *revisionErrors) take(rev uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rev != rev {
		return nil
	}
	err := r.err
	r.err = nil
	return err
}

// serve runs the ext_proc and API-mode (api, when not nil) servers until
// ctx ends or one fails.
func serve(ctx context.Context, o Options, g *gateway.Gateway, api *apimode.Server, errc chan error, log *slog.Logger) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{}, 2)
	running := 0

	var grpcSrv *grpc.Server
	if ln := o.ExtProcListener; ln != nil || o.ExtProcAddr != "" {
		if ln == nil {
			var err error
			if ln, err = net.Listen("tcp", o.ExtProcAddr); err != nil {
				return fmt.Errorf("listen for ext_proc on %s: %w", o.ExtProcAddr, err)
			}
		}
		grpcSrv = grpc.NewServer()
		var epOpts []extproc.Option
		if api != nil { // one Responses API store for both front ends
			epOpts = append(epOpts, extproc.WithResponseStores(api.ResponseStores()))
		}
		extproc.New(g, log, epOpts...).Register(grpcSrv)
		running++
		go func() {
			defer func() { done <- struct{}{} }()
			log.Info("ext_proc listening", slog.String("addr", ln.Addr().String()))
			if err := grpcSrv.Serve(ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				errc <- fmt.Errorf("serve ext_proc: %w", err)
			}
		}()
	}
	if api != nil {
		running++
		go func() {
			defer func() { done <- struct{}{} }()
			if err := api.Serve(sctx); err != nil {
				errc <- fmt.Errorf("serve api mode: %w", err)
			}
		}()
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	log.Info("gateway draining")
	cancel() // API mode: Shutdown waits for in-flight requests.
	if grpcSrv != nil {
		stopped := make(chan struct{})
		go func() {
			grpcSrv.GracefulStop()
			close(stopped)
		}()
		select {
		case <-stopped:
		case <-time.After(o.DrainTimeout):
			grpcSrv.Stop()
		}
	}
	for range running {
		<-done
	}
	g.Wait()
	g.CloseRateLimits()
	return runErr
}

func serveMetrics(addr string, g prometheus.Gatherer, errc chan error, log *slog.Logger) (stop func(), err error) {
	srv, err := pkgmetrics.Serve(addr, g, log)
	if err != nil {
		return nil, err
	}
	go func() {
		if err, ok := <-srv.Err(); ok && err != nil {
			errc <- err
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// configBucket opens the config KV bucket, creating it when config-hub has
// not yet.
func configBucket(ctx context.Context, js jetstream.JetStream) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, subjects.ConfigBucket())
	if err == nil {
		return kv, nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("open config bucket: %w", err)
	}
	kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: subjects.ConfigBucket(),
		Description: "semrouter canonical configuration revisions", History: 32})
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = js.KeyValue(ctx, subjects.ConfigBucket())
	}
	if err != nil {
		return nil, fmt.Errorf("create config bucket: %w", err)
	}
	return kv, nil
}
