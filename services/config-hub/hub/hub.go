// Package hub runs config-hub: it publishes the config file (and API
// writes) as revisions of the JetStream KV config key, follows that key
// like every other service, serves the management API, and programs Envoy
// and gRPC clients over xDS from the same revision.
package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/configwatch"
	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/pkg/subjects"
	"github.com/semrouter/semrouter/pkg/telemetry"
	"github.com/semrouter/semrouter/services/config-hub/internal/api"
	"github.com/semrouter/semrouter/services/config-hub/internal/store"
	"github.com/semrouter/semrouter/services/config-hub/xds"
)

// ServiceName names config-hub in status reports.
const ServiceName = "config-hub"

// EnvManagementToken supplies Options.ManagementToken to config-hub and
// semrouter serve.
const EnvManagementToken = "SEMROUTER_MANAGEMENT_TOKEN"

// MinManagementTokenLen is the shortest management token accepted.
const MinManagementTokenLen = 16

// DefaultManagementAddr is used when neither Options nor the config set one.
const DefaultManagementAddr = "127.0.0.1:8080"

// Options configure Run. Either NATS or NATSURL is required.
type Options struct {
	// ConfigPath, when set, is published at start and republished when it
	// changes (polled every PollInterval, debounced by Debounce).
	ConfigPath string
	// NATS is an open connection (not closed by Run); else NATSURL is
	// dialled with NATSOptions (credentials, TLS).
	NATS        *nats.Conn
	NATSURL     string
	NATSOptions []nats.Option
	// ManagementAddr overrides global.services.management_api
	// (bind_address:port, default 127.0.0.1:8080). "off" disables the API.
	ManagementAddr string
	// XDSAddr is the xDS gRPC address (default xds.DefaultXDSAddress);
	// "off" disables xDS.
	XDSAddr string
	Logger  *slog.Logger
	// Bucket and Key default to subjects.ConfigBucket() and ConfigKey().
	Bucket, Key string
	// PollInterval (default 2s) and Debounce (default 1s) drive the file watcher.
	PollInterval, Debounce time.Duration
	// XDS tunes the generated resources (ext_proc address, timeouts). Run
	// refuses an ext_proc address Envoy cannot dial (port 0, see
	// xds.ExtProcEndpoint) before it starts anything.
	XDS xds.Options
	// Instance names this replica in status reports (default host name).
	Instance string
	// Getenv resolves management API token variables (default os.Getenv).
	Getenv func(string) string
	// ManagementToken, when set, is a bearer token with every permission
	// on the management API, and turns authentication on whatever the
	// configuration says (--management-token-file or
	// $SEMROUTER_MANAGEMENT_TOKEN). At least MinManagementTokenLen bytes.
	ManagementToken string
	// ManagementInsecure allows the management API on a non-loopback
	// address while the active revision leaves authentication off
	// (--management-insecure). Without it Run refuses to start.
	ManagementInsecure bool
	// Started, when set, is called once the servers are listening.
	Started func(Addrs)
	// TracerProvider records a server span per management API request,
	// child of the W3C trace context in its headers (nil: no tracing).
	TracerProvider trace.TracerProvider
	// MetricsAddr serves Prometheus GET /metrics: the hub's series and the
	// Go and process collectors (empty: none).
	MetricsAddr string
	// Registerer, when set, receives the hub's series (semrouter serve
	// passes one registry to every service and serves it once);
	// MetricsAddr must then be empty.
	Registerer prometheus.Registerer
}

// Addrs are the addresses the hub listens on ("" when disabled).
type Addrs struct {
	Management string
	XDS        string
	Metrics    string
}

// compiled is the runtime form of one revision inside the hub.
type compiled struct {
	cfg   *config.Config
	snaps xds.Snapshots
}

// Run serves until ctx ends; it returns nil on a clean shutdown.
func Run(ctx context.Context, opts Options) error {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With(slog.String("service", ServiceName))
	// An address xDS cannot use would reject every revision: refuse it
	// before anything starts.
	if err := opts.XDS.Validate(); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if n := len(opts.ManagementToken); n > 0 && n < MinManagementTokenLen {
		return fmt.Errorf("management token (--management-token-file or $%s): %d characters, want at least %d (generate one with: openssl rand -hex 32)",
			EnvManagementToken, n, MinManagementTokenLen)
	}
	nc := opts.NATS
	if nc == nil {
		if opts.NATSURL == "" {
			return errors.New("hub: a NATS connection or URL is required")
		}
		var err error
		nc, err = nats.Connect(opts.NATSURL, append([]nats.Option{nats.Name(ServiceName)}, opts.NATSOptions...)...)
		if err != nil {
			return fmt.Errorf("connect to nats %q: %w", telemetry.RedactURL(opts.NATSURL), err)
		}
		defer nc.Close()
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("open jetstream: %w", err)
	}
	bucket, key := opts.Bucket, opts.Key
	if bucket == "" {
		bucket = subjects.ConfigBucket()
	}
	if key == "" {
		key = subjects.ConfigKey()
	}
	met, metReg, err := hubMetrics(opts)
	if err != nil {
		return err
	}
	var storeOpts []store.Option
	var xdsOpts []xds.ServerOption
	if met != nil {
		storeOpts = append(storeOpts, store.WithObserver(met))
		xdsOpts = append(xdsOpts, xds.WithObserver(met))
	}
	st, err := store.Open(ctx, js, bucket, key, log, storeOpts...)
	if err != nil {
		return err
	}

	var files *store.FileWatcher
	if opts.ConfigPath != "" {
		files = store.NewFileWatcher(st, opts.ConfigPath, durationOr(opts.Debounce, time.Second), nil, log)
		res, err := files.PublishNow(ctx)
		if err != nil {
			var verr *store.ValidationError
			if errors.As(err, &verr) {
				return fmt.Errorf("config file %q is invalid:\n%s", opts.ConfigPath, verr.Problems.Errors().String())
			}
			return err
		}
		log.Info("config file loaded", slog.String("path", opts.ConfigPath),
			slog.Uint64("revision", res.Revision), slog.Bool("changed", res.Changed))
	}

	xsrv := xds.NewServer(ctx, opts.XDS, log, xdsOpts...)
	var watcher *configwatch.Watcher[compiled]
	apiSrv := api.New(api.Options{Store: st, Logger: log, Getenv: opts.Getenv, AdminToken: opts.ManagementToken, Ready: func(context.Context) error {
		if watcher.Current() == nil {
			return errors.New("no configuration revision applied yet")
		}
		return nil
	}})

	instance := opts.Instance
	if instance == "" {
		instance, _ = os.Hostname()
	}
	compile := func(_ context.Context, doc []byte, rev uint64) (compiled, error) {
		cfg, _, err := config.Parse(doc, "revision "+strconv.FormatUint(rev, 10))
		if err != nil {
			return compiled{}, err
		}
		snaps, err := xds.Build(cfg, strconv.FormatUint(rev, 10), xsrv.Options())
		if err != nil {
			return compiled{}, err
		}
		return compiled{cfg: cfg, snaps: snaps}, nil
	}
	watcher = configwatch.New(st.KV(), key, compile,
		configwatch.WithLogger(log),
		configwatch.WithIdentity(ServiceName, instance),
		configwatch.WithReporter(reportTo(configwatch.NATSReporter(nc, subjects.ConfigStatus(ServiceName, instance), log), met)),
		configwatch.WithOnSwap(func(rev uint64) {
			cur := watcher.Current()
			if cur == nil || cur.Revision != rev {
				return
			}
			apiSrv.SetConfig(cur.Value.cfg)
			if err := xsrv.Set(ctx, cur.Value.snaps, rev); err != nil {
				log.Error("serve xds snapshot", slog.Uint64("revision", rev), slog.String("error", err.Error()))
			}
		}))

	mgmtAddr, err := managementAddr(ctx, st, opts.ManagementAddr, log)
	if err != nil {
		return err
	}
	if mgmtAddr != "off" {
		// The API enforces the active revision's auth from its first
		// request, not only once the watcher has swapped it in.
		cfg, err := activeConfig(ctx, st)
		if err != nil {
			return err
		}
		if cfg != nil {
			apiSrv.SetConfig(cfg)
		}
		if err := checkManagementExposure(mgmtAddr, cfg, opts.Getenv, opts.ManagementInsecure || opts.ManagementToken != ""); err != nil {
			return err
		}
	}
	xdsAddr := opts.XDSAddr
	if xdsAddr == "" {
		xdsAddr = xds.DefaultXDSAddress
	}

	// Bind every listener before serving any, so a busy port leaves
	// nothing running behind the error.
	var addrs Addrs
	var mgmtLis, xdsLis, metLis net.Listener
	closeAll := func() {
		for _, l := range []net.Listener{mgmtLis, xdsLis, metLis} {
			if l != nil {
				_ = l.Close()
			}
		}
	}
	if mgmtAddr != "off" {
		if mgmtLis, err = net.Listen("tcp", mgmtAddr); err != nil {
			return fmt.Errorf("listen management api on %s: %w", mgmtAddr, err)
		}
		addrs.Management = mgmtLis.Addr().String()
	}
	if xdsAddr != "off" {
		if xdsLis, err = net.Listen("tcp", xdsAddr); err != nil {
			closeAll()
			return fmt.Errorf("listen xds on %s: %w", xdsAddr, err)
		}
		addrs.XDS = xdsLis.Addr().String()
	}
	if metReg != nil {
		if metLis, err = net.Listen("tcp", opts.MetricsAddr); err != nil {
			closeAll()
			return fmt.Errorf("listen for metrics on %s: %w", opts.MetricsAddr, err)
		}
		addrs.Metrics = metLis.Addr().String()
	}

	g, gctx := errgroup.WithContext(ctx)
	if mgmtLis != nil {
		handler := countRequests(apiSrv.Handler(), met)
		if opts.TracerProvider != nil {
			handler = traceHTTP(handler, opts.TracerProvider, telemetry.Propagator())
		}
		hs := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
		// Plain HTTP/1.1 and h2c, so gRPC clients reach ConfigService too.
		hs.Protocols = new(http.Protocols)
		hs.Protocols.SetHTTP1(true)
		hs.Protocols.SetUnencryptedHTTP2(true)
		g.Go(func() error { return serveHTTP(gctx, hs, mgmtLis) })
	}
	if xdsLis != nil {
		g.Go(func() error { return xsrv.Serve(gctx, xdsLis) })
	}
	if metLis != nil {
		msrv := metrics.ServeListener(metLis, metReg, log)
		g.Go(func() error { return serveMetrics(gctx, msrv) })
	}
	g.Go(func() error {
		err := watcher.Run(gctx)
		if gctx.Err() != nil {
			return nil
		}
		return err
	})
	if files != nil {
		g.Go(func() error {
			t := time.NewTicker(durationOr(opts.PollInterval, 2*time.Second))
			defer t.Stop()
			if err := files.Run(gctx, t.C); gctx.Err() == nil {
				return err
			}
			return nil
		})
	}
	log.Info("config-hub serving", slog.String("management", addrs.Management), slog.String("xds", addrs.XDS),
		slog.String("metrics", addrs.Metrics))
	if opts.Started != nil {
		opts.Started(addrs)
	}
	return g.Wait()
}

// serveMetrics runs until ctx ends (then shuts msrv down) or msrv fails.
func serveMetrics(ctx context.Context, msrv *metrics.Server) error {
	select {
	case err := <-msrv.Err():
		if err != nil {
			return err
		}
		return errors.New("metrics server stopped")
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return msrv.Shutdown(sctx)
	}
}

// reportTo sends every revision status to next and records it in met.
func reportTo(next configwatch.Reporter, met *metrics.ConfigHub) configwatch.Reporter {
	if met == nil {
		return next
	}
	return func(ctx context.Context, st configwatch.Status) {
		met.Applied(st.Accepted, st.Serving)
		next(ctx, st)
	}
}

func serveHTTP(ctx context.Context, hs *http.Server, lis net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(lis) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve management api: %w", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
		<-errc
		return nil
	}
}

// managementAddr picks the API address: the override, else the active
// revision's management_api (loopback unless remote_exposure is set).
func managementAddr(ctx context.Context, st *store.Store, override string, log *slog.Logger) (string, error) {
	if override != "" {
		return override, nil
	}
	cur, err := st.Current(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return DefaultManagementAddr, nil
	}
	if err != nil {
		return "", err
	}
	cfg, _, err := config.Parse(cur.Document, "active revision")
	if err != nil {
		return "", fmt.Errorf("read management_api from the active revision: %w", err)
	}
	return ManagementAddrFor(cfg, log), nil
}

// ErrInsecureManagement is returned by Run when the management API would
// listen beyond loopback without authentication.
var ErrInsecureManagement = errors.New("management API would accept unauthenticated requests from other hosts")

// checkManagementExposure refuses a non-loopback management address unless
// cfg (the active revision, nil when there is none) turns token
// authentication on, or allowed is set (--management-insecure, or a
// deployment token that keeps authentication on).
func checkManagementExposure(addr string, cfg *config.Config, getenv func(string) string, allowed bool) error {
	if allowed || IsLoopbackAddr(addr) {
		return nil
	}
	if cfg != nil {
		if getenv == nil {
			getenv = os.Getenv
		}
		if api.CompileAuth(cfg.Global.Services.ManagementAPI, getenv, slog.New(slog.DiscardHandler)).Enabled() {
			return nil
		}
	}
	return fmt.Errorf("listen management api on %s: %w: set %s (or --management-token-file), or global.services.management_api.auth (mode: token, tokens: [{env: VAR, role: admin}]) in the config, or bind a loopback address, or pass --management-insecure to accept it",
		addr, ErrInsecureManagement, EnvManagementToken)
}

// IsLoopbackAddr reports whether host:port binds only the loopback
// interface (an empty host binds every interface).
func IsLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	return isLoopback(host)
}

// activeConfig parses the active revision; nil when none is published.
func activeConfig(ctx context.Context, st *store.Store) (*config.Config, error) {
	cur, err := st.Current(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cfg, _, err := config.Parse(cur.Document, "active revision")
	if err != nil {
		return nil, fmt.Errorf("read management_api from the active revision: %w", err)
	}
	return cfg, nil
}

// ManagementAddrFor returns bind_address:port of management_api (defaults
// 127.0.0.1 and 8080). A non-loopback bind address without remote_exposure
// is replaced by 127.0.0.1.
func ManagementAddrFor(cfg *config.Config, log *slog.Logger) string {
	host, port := "127.0.0.1", 8080
	if m := cfg.Global.Services.ManagementAPI; m != nil {
		if m.Port > 0 {
			port = m.Port
		}
		if m.BindAddress != "" {
			host = m.BindAddress
		}
		if !m.RemoteExposure && !isLoopback(host) {
			if log != nil {
				log.Warn("management_api.bind_address is not loopback and remote_exposure is false; binding 127.0.0.1",
					slog.String("bind_address", host))
			}
			host = "127.0.0.1"
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func durationOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
