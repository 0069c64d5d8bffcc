// Package serve runs the whole router in one process: an embedded NATS
// server with JetStream (or an external one), and the config hub, embedder,
// classifier, cache and gateway services, each on its own NATS connection,
// talking exactly as they would across a network.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/pkg/natsembed"
	"github.com/semrouter/semrouter/pkg/telemetry"
	"github.com/semrouter/semrouter/services/config-hub/hub"
	"github.com/semrouter/semrouter/services/config-hub/xds"
	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
)

// Options configures the all-in-one process.
type Options struct {
	// ConfigPath is the v0.3 config (required). The hub publishes it and
	// republishes it when the file changes.
	ConfigPath string
	// DataDir holds JetStream storage of the embedded NATS server.
	DataDir string
	// NATSURL joins an external NATS instead of embedding one.
	NATSURL string
	// NATSOptions are added to every service's NATS connection: the
	// credentials, TLS and reply-inbox prefix of the shared NATS flags
	// (telemetry.AddNATSFlags). The services share them, so an external
	// NATS user for serve needs the permissions of every service.
	NATSOptions []nats.Option
	// NATSAddr is the embedded server's client address (default
	// 127.0.0.1:4222, so separate service processes can join it).
	NATSAddr string
	// ManagementAddr, XDSAddr, ExtProcAddr and MetricsAddr are the
	// listening addresses ("off" disables one; empty uses the defaults).
	// Port 0 picks a free port (Info reports the bound addresses); Envoy's
	// ext_proc cluster, built by config-hub, names the bound ext_proc port,
	// and loopback for an empty or wildcard ext_proc host (see
	// xds.ExtProcEndpoint).
	ManagementAddr string
	XDSAddr        string
	ExtProcAddr    string
	MetricsAddr    string
	// NATSInsecure lets the embedded NATS server listen beyond loopback.
	// It has no authentication: a client that reaches it can rewrite the
	// config, read every prompt and fill the response cache.
	NATSInsecure bool
	// ManagementInsecure lets the management API listen beyond loopback
	// while the config leaves its authentication off (config-hub refuses
	// that otherwise).
	ManagementInsecure bool
	// ModelsDir holds the built embedding models (default: the
	// SEMROUTER_MODELS_DIR variable or the checkout's .cache/models).
	ModelsDir string
	// DomainHeadDir holds trained domain heads (default: the ones shipped
	// with the classifier).
	DomainHeadDir string
	// GuardDir holds the prompt-guard package (default: the checkout's
	// .cache/npm/llm_guardrail@2.1.2/package).
	GuardDir string
	Logger   *slog.Logger
	// Ready is called once every service serves and the API listeners
	// accept connections.
	Ready func(Info)
	// Registry receives the metrics of every in-process service and is
	// served on MetricsAddr (default: a fresh registry with the Go and
	// process collectors).
	Registry *prometheus.Registry
	// TelemetryOptions are passed to telemetry.New with the tracing
	// configured by global.services.observability.tracing (tests read the
	// spans with telemetry.WithSpanExporter).
	TelemetryOptions []telemetry.Option
	// StageTimeout overrides the gateway's per-stage deadline (embed,
	// classify, cache lookup; 0: the gateway's default).
	StageTimeout time.Duration
	// DrainTimeout bounds the gateway's graceful shutdown and the drain of
	// an API listener a revision removes or moves (0: the gateway's
	// default, 30s).
	DrainTimeout time.Duration
	// Getenv reads the environment (default os.Getenv).
	Getenv func(string) string
	// TrustedProxies are the TCP peers whose identity headers and
	// x-vsr-debug the API honours (--trusted-proxies); from other peers
	// they are removed before routing. nil: loopback only; an empty set
	// trusts nobody.
	TrustedProxies *apimode.TrustedProxies
	// TrustDownstreamIdentity keeps client identity headers and
	// x-vsr-debug on the Envoy listeners config-hub generates
	// (xds.Options.TrustDownstreamIdentity); by default they are removed
	// before any HTTP filter.
	TrustDownstreamIdentity bool
}

// Info describes a running process.
type Info struct {
	NATSURL string
	// MetricsAddr is the bound /metrics address ("" when disabled).
	MetricsAddr string
	// ManagementAddr and XDSAddr are config-hub's bound addresses, and
	// ExtProcAddr the gateway's bound ext_proc address ("" when disabled).
	ManagementAddr string
	XDSAddr        string
	ExtProcAddr    string
	// APIAddrs maps each listener name to its bound address.
	APIAddrs map[string]string
}

// ErrInsecureNATS refuses an embedded NATS server (no authentication)
// on an address other hosts can reach.
var ErrInsecureNATS = errors.New("embedded NATS would accept unauthenticated clients from other hosts")

// component is one service of the process.
type component struct {
	name string
	run  func(ctx context.Context, nc *nats.Conn) error
}

// Run serves until ctx ends, then shuts every service down gracefully:
// the gateway drains in-flight requests, the services drain their NATS
// subscriptions, and the embedded server flushes JetStream.
func Run(ctx context.Context, o Options) error {
	if o.ConfigPath == "" {
		return errors.New("serve: --config is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	log := o.Logger
	// Refuse an invalid config before starting anything.
	cfg, probs, err := config.Load(o.ConfigPath)
	for _, p := range probs.Warnings() {
		log.Warn("config", slog.String("problem", p.Error()))
	}
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if o.TrustDownstreamIdentity {
		log.Warn("Envoy listeners keep client identity and x-vsr-debug headers (--trust-downstream-identity): every client must come through a proxy that sets them")
	}
	if o.NATSURL == "" && !o.NATSInsecure {
		addr := o.NATSAddr
		if addr == "" {
			addr = "127.0.0.1:4222"
		}
		// natsembed binds loopback for an empty host.
		if host, _, err := net.SplitHostPort(addr); err == nil && host != "" && !hub.IsLoopbackAddr(addr) {
			return fmt.Errorf("serve: --nats-addr %s: %w: bind a loopback address, join a NATS server with authentication (--nats-url), or pass --nats-insecure to accept it", addr, ErrInsecureNATS)
		}
	}
	// Then the prerequisites (models folder, ONNX Runtime, the models
	// themselves): a process that cannot embed must fail before it binds
	// NATS or any other port.
	env, err := newEnvironment(ctx, o, cfg)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer env.close()

	tcfg, err := telemetry.FromConfig(cfg, "semrouter")
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	tel, err := telemetry.New(ctx, tcfg, o.TelemetryOptions...)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tel.Shutdown(sctx); err != nil {
			log.Warn("flush traces", slog.String("error", err.Error()))
		}
	}()
	if tcfg.OTLPEndpoint != "" {
		log.Info("tracing", slog.String("otlp_endpoint", tcfg.OTLPEndpoint), slog.Float64("sample_ratio", tcfg.SampleRatio))
	}
	reg := o.Registry
	if reg == nil {
		reg = metrics.NewRegistry()
	}

	url := o.NATSURL
	if url == "" {
		if o.DataDir == "" {
			o.DataDir = filepath.Join(os.TempDir(), "semrouter")
		}
		addr := o.NATSAddr
		if addr == "" {
			addr = "127.0.0.1:4222"
		}
		srv, err := natsembed.Start(natsembed.Options{DataDir: filepath.Join(o.DataDir, "nats"), Addr: addr, Logger: log})
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		defer srv.Shutdown()
		url = srv.ClientURL()
		log.Info("embedded NATS with JetStream", slog.String("url", url), slog.String("data_dir", o.DataDir))
	}

	env.registry, env.tracerProvider = reg, tel.TracerProvider
	env.listeners = len(cfg.Listeners)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	info := Info{NATSURL: url}
	// Bind ext_proc before config-hub starts: the hub builds Envoy's
	// ext_proc cluster from the bound port, not the flag's literal one.
	if addr := off(o.ExtProcAddr, xds.DefaultExtProcAddress); addr != "" {
		ln, advertised, err := listenExtProc(addr)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		// The gateway's gRPC server closes it when it stops; this covers a
		// start that fails before the gateway serves.
		defer func() { _ = ln.Close() }()
		env.extProc, env.extProcAdvertised = ln, advertised
		info.ExtProcAddr = ln.Addr().String()
	}
	if addr := off(o.MetricsAddr, "127.0.0.1:9190"); addr != "" {
		msrv, err := metrics.Serve(addr, reg, log)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		defer func() {
			sctx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer stop()
			_ = msrv.Shutdown(sctx)
		}()
		go func() {
			if err, ok := <-msrv.Err(); ok && err != nil {
				cancel(err)
			}
		}()
		info.MetricsAddr = msrv.Addr().String()
	}
	var wg sync.WaitGroup
	start := func(c component) error {
		opts := append([]nats.Option{nats.Name("semrouter-" + c.name), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond)}, o.NATSOptions...)
		nc, err := nats.Connect(url, opts...)
		if err != nil {
			return fmt.Errorf("serve: connect %s to NATS: %w", c.name, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer nc.Close()
			err := c.run(ctx, nc)
			if err != nil && ctx.Err() == nil {
				log.Error("service stopped", slog.String("service", c.name), slog.String("error", err.Error()))
				cancel(fmt.Errorf("%s: %w", c.name, err))
				return
			}
			if drainErr := nc.Drain(); drainErr != nil && !errors.Is(drainErr, nats.ErrConnectionClosed) {
				log.Warn("drain NATS connection", slog.String("service", c.name), slog.String("error", drainErr.Error()))
			}
		}()
		return nil
	}
	// The embedder first: the classifier embeds its candidate phrases when
	// it compiles a revision.
	for _, group := range env.components() {
		for _, c := range group.components {
			if err := start(c); err != nil {
				cancel(err)
				wg.Wait()
				return err
			}
		}
		if group.wait != nil {
			if err := group.wait(ctx); err != nil {
				cancel(err)
				wg.Wait()
				return fmt.Errorf("serve: %w", context.Cause(ctx))
			}
		}
	}
	info.APIAddrs = env.apiAddrs()
	info.ManagementAddr, info.XDSAddr = env.hubAddrs.Management, env.hubAddrs.XDS
	if o.Ready != nil {
		o.Ready(info)
	}
	log.Info("semrouter serving", slog.String("config", o.ConfigPath), slog.String("management", info.ManagementAddr),
		slog.String("xds", info.XDSAddr), slog.String("extproc", info.ExtProcAddr), slog.String("extproc_for_envoy", env.extProcAdvertised),
		slog.String("metrics", info.MetricsAddr))
	<-ctx.Done()
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return fmt.Errorf("serve: %w", cause)
	}
	return nil
}
