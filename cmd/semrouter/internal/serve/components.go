package serve

import (
	"context"
	"log/slog"
	"maps"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/semrouter/semrouter/cmd/semrouter/internal/assets"
	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/pkg/telemetry"
	cacheserver "github.com/semrouter/semrouter/services/cache/server"
	"github.com/semrouter/semrouter/services/classifier/classifier"
	classifierserver "github.com/semrouter/semrouter/services/classifier/server"
	"github.com/semrouter/semrouter/services/config-hub/hub"
	"github.com/semrouter/semrouter/services/config-hub/xds"
	embedderserver "github.com/semrouter/semrouter/services/embedder-gpu/server"
	gatewayservice "github.com/semrouter/semrouter/services/gateway-extproc/service"
)

// environment holds what the services share: loaded models and scorers,
// the metrics registry and the tracer provider. A service added here
// registers its metrics in registry (its Options' Registerer) and traces
// with tracerProvider (its Options' TracerProvider).
type environment struct {
	o          Options
	assets     *assets.Assets
	embedReady chan struct{}

	registry       *prometheus.Registry
	tracerProvider trace.TracerProvider

	// listeners is the number of API listeners; apiReady closes once each
	// has bound its address.
	listeners int
	apiMu     sync.Mutex
	apiBound  map[string]string
	apiReady  chan struct{}
	// apiAnnounced is set once apiReady is closed.
	apiAnnounced bool
	// classifierReady closes when the classifier serves its first revision.
	classifierReady chan struct{}
	// cacheReady closes when the cache applies its first revision.
	cacheReady     chan struct{}
	cacheOnce      sync.Once
	classifierOnce sync.Once

	// extProc is the gateway's ext_proc listener, bound before any service
	// starts (nil when disabled); extProcAdvertised is the address
	// config-hub gives Envoy for it (the bound port, see listenExtProc).
	extProc           net.Listener
	extProcAdvertised string
	// hubStarted closes once config-hub listens; hubAddrs are its bound
	// addresses.
	hubStarted chan struct{}
	hubAddrs   hub.Addrs
}

func newEnvironment(ctx context.Context, o Options, cfg *config.Config) (*environment, error) {
	a, err := assets.Load(ctx, cfg, o.ConfigPath, assets.Options{
		ModelsDir: o.ModelsDir, GuardDir: o.GuardDir, DomainHeadDir: o.DomainHeadDir, Getenv: o.Getenv, Logger: o.Logger,
	})
	if err != nil {
		return nil, err
	}
	return &environment{o: o, assets: a, embedReady: make(chan struct{}), apiBound: map[string]string{}, apiReady: make(chan struct{}),
		classifierReady: make(chan struct{}), cacheReady: make(chan struct{}), hubStarted: make(chan struct{})}, nil
}

func (e *environment) close() { e.assets.Close() }

// embedModel names the default embedding model: the classifier embeds its
// candidates with it and the gateway embeds queries with it, so both agree
// (and the domain head trained for it is found).
func (e *environment) embedModel() string {
	m, err := e.assets.Default()
	if err != nil {
		return ""
	}
	return m.Name()
}

// group is a set of components started together, then waited for.
type group struct {
	components []component
	wait       func(ctx context.Context) error
}

func (e *environment) components() []group {
	o := e.o
	return []group{
		{components: []component{{name: "config-hub", run: e.runHub}}, wait: func(ctx context.Context) error {
			select {
			case <-e.hubStarted:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}},
		{components: []component{{name: "embedder", run: e.runEmbedder}}, wait: func(ctx context.Context) error {
			select {
			case <-e.embedReady:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}},
		{components: []component{
			{name: "cache", run: func(ctx context.Context, nc *nats.Conn) error {
				// In one process the gateway reports cache hits and misses;
				// the cache adds its operations, entries and writes.
				return cacheserver.Run(ctx, cacheserver.Options{NATS: nc, Logger: o.Logger.With(slog.String("service", "cache")), Instance: "serve",
					TracerProvider: e.tracerProvider, Registerer: e.registry,
					OnSwap: func(uint64) { e.cacheOnce.Do(func() { close(e.cacheReady) }) }})
			}},
			{name: "classifier", run: e.runClassifier},
			{name: "gateway", run: func(ctx context.Context, nc *nats.Conn) error {
				return gatewayservice.Run(ctx, gatewayservice.Options{
					NATS: nc, ExtProcListener: e.extProc, APIMode: true, EmbedModel: e.embedModel(),
					Logger:     o.Logger.With(slog.String("service", "gateway")),
					Registerer: e.registry, TracerProvider: e.tracerProvider, OnAPIListen: e.apiListening,
					StageTimeout: o.StageTimeout, DrainTimeout: o.DrainTimeout, TrustedProxies: o.TrustedProxies,
					VectorStoreDir: vectorStoreDir(o.DataDir),
				})
			}},
		}, wait: e.waitAPI},
	}
}

// apiListening records a bound API listener.
func (e *environment) apiListening(name string, addr net.Addr) {
	e.apiMu.Lock()
	defer e.apiMu.Unlock()
	e.apiBound[name] = addr.String()
	// Later revisions may bind listeners again (a moved address, a new
	// listener): readiness is only announced once.
	if !e.apiAnnounced && len(e.apiBound) >= e.listeners {
		e.apiAnnounced = true
		close(e.apiReady)
	}
}

// waitAPI waits until the classifier and the cache serve a revision (so
// the first requests meet no stage still waiting for its config) and
// every API listener accepts connections (the gateway binds them once it
// serves).
func (e *environment) waitAPI(ctx context.Context) error {
	for _, ready := range []chan struct{}{e.classifierReady, e.cacheReady} {
		select {
		case <-ready:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if e.listeners == 0 {
		return nil
	}
	select {
	case <-e.apiReady:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *environment) apiAddrs() map[string]string {
	e.apiMu.Lock()
	defer e.apiMu.Unlock()
	return maps.Clone(e.apiBound)
}

// runHub runs config-hub. Envoy's ext_proc cluster names the gateway's
// bound ext_proc address (the default address when ext_proc is off).
func (e *environment) runHub(ctx context.Context, nc *nats.Conn) error {
	o := e.o
	return hub.Run(ctx, hub.Options{
		ConfigPath: o.ConfigPath, NATS: nc, ManagementAddr: o.ManagementAddr, ManagementInsecure: o.ManagementInsecure,
		ManagementToken: o.Getenv(hub.EnvManagementToken), XDSAddr: o.XDSAddr,
		XDS:    xds.Options{ExtProcAddress: e.extProcAdvertised, TrustDownstreamIdentity: o.TrustDownstreamIdentity},
		Logger: o.Logger, Instance: "serve", Getenv: o.Getenv, TracerProvider: e.tracerProvider,
		Registerer: e.registry,
		Started: func(a hub.Addrs) {
			e.hubAddrs = a
			close(e.hubStarted)
		},
	})
}

func (e *environment) runEmbedder(ctx context.Context, nc *nats.Conn) error {
	models := make([]embedderserver.Model, len(e.assets.Models))
	for i, l := range e.assets.Models {
		models[i] = embedderserver.Model{Embedder: l.Embedder, Aliases: l.Spec.Aliases, Default: l.Spec.Default, Backend: l.Backend}
	}
	return embedderserver.Run(ctx, embedderserver.Options{
		NATS: nc, Models: models, Logger: e.o.Logger.With(slog.String("service", "embedder")),
		Registerer: e.registry, TracerProvider: e.tracerProvider,
		Ready: func(string) { close(e.embedReady) },
	})
}

func (e *environment) runClassifier(ctx context.Context, nc *nats.Conn) error {
	var opts []classifier.Option
	if e.assets.DomainHeadDir != "" {
		opts = append(opts, classifier.WithDomainHeadDir(e.assets.DomainHeadDir))
	}
	// Knowledge bases named relative to the config file live beside it;
	// the classifier receives the config over NATS, without its path.
	if abs, err := filepath.Abs(e.o.ConfigPath); err == nil {
		opts = append(opts, classifier.WithKBDir(filepath.Dir(abs)))
	}
	return classifierserver.Run(ctx, classifierserver.Options{
		NATS: nc,
		Embedder: classifierserver.NewNATSEmbedder(nc, e.embedModel(), 64, 30*time.Second,
			natsrpc.WithTracerProvider(e.tracerProvider), natsrpc.WithPropagator(telemetry.Propagator()), natsrpc.WithMetrics(e.rpcMetrics())),
		Registerer:     e.registry,
		TracerProvider: e.tracerProvider,
		OnSwap:         func(uint64) { e.classifierOnce.Do(func() { close(e.classifierReady) }) },
		Jailbreak:      e.assets.Guard,
		CompileOptions: opts,
		Logger:         e.o.Logger.With(slog.String("service", "classifier")),
		Instance:       "serve",
	})
}

// rpcMetrics is the process's NATS RPC series (shared by every service).
func (e *environment) rpcMetrics() *metrics.RPC {
	m, err := metrics.NewRPC(e.registry)
	if err != nil {
		e.o.Logger.Warn("register NATS RPC metrics", slog.String("error", err.Error()))
		return nil
	}
	return m
}

// off maps "" to def and "off" to "" (disabled).
func off(v, def string) string {
	switch v {
	case "":
		return def
	case "off":
		return ""
	}
	return v
}

// vectorStoreDir is the vector store's default directory under the data
// directory ("" when there is none: the gateway picks a temporary one).
func vectorStoreDir(dataDir string) string {
	if dataDir == "" {
		return ""
	}
	return filepath.Join(dataDir, "vector-store")
}
