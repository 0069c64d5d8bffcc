package service

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/semrouter/semrouter/pkg/telemetry"
	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
)

// Main parses the command line and runs the gateway until ctx ends.
func Main(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("gateway-extproc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	natsURL := fs.String("nats-url", nats.DefaultURL, "NATS server URL")
	extprocAddr := fs.String("extproc-addr", ":50051", "ext_proc gRPC listen address (empty: no ext_proc server)")
	api := fs.Bool("api", false, "serve the OpenAI-compatible API on the config's listeners (no Envoy needed)")
	apiAddr := fs.String("api-addr", "", "serve the API of the config's first listener on this address instead of its configured one (implies --api; for containers)")
	metricsAddr := fs.String("metrics-addr", "", "listen address for Prometheus /metrics (empty: none)")
	embedModel := fs.String("embed-model", os.Getenv("SEMROUTER_EMBED_MODEL"), "embedding model to ask the embedder pool for (empty: the pool's default model); use the classifier's value")
	embedDims := fs.Int("embed-dimensions", 0, "truncate query embeddings to this many dimensions (0: native)")
	stageTimeout := fs.Duration("stage-timeout", 0, "deadline of each router stage: embed, classify, cache lookup (0: 150ms)")
	drain := fs.Duration("drain-timeout", 30*time.Second, "how long shutdown, and an API listener a config revision removes or moves, waits for in-flight requests")
	trusted := apimode.LoopbackProxies()
	fs.Var(trusted, "trusted-proxies", "API mode: comma-separated IPs/CIDRs of the peers whose identity headers and x-vsr-debug are honoured, removed from any other peer's request ('' trusts nobody; 0.0.0.0/0,::/0 trusts every client: unsafe)")
	instance := fs.String("instance", "", "instance name in config status reports (default: host name)")
	obs := telemetry.AddServiceFlags(fs, "semrouter-gateway", os.Getenv)
	if ok, err := obs.Parse(fs, args); !ok {
		return err
	}
	log, tel, stopTracing, err := obs.Start(ctx, stderr, *instance)
	if err != nil {
		return err
	}
	defer stopTracing()
	nc, err := obs.ConnectNATS(*natsURL, "semrouter-gateway", nats.MaxReconnects(-1))
	if err != nil {
		return err
	}
	defer nc.Close()
	log.Info("gateway starting", slog.String("nats", telemetry.RedactURL(*natsURL)), slog.String("nats_user", obs.NATSUser()), slog.String("nats_inbox", obs.NATSInboxPrefix()), slog.String("extproc", *extprocAddr), slog.Bool("api", *api || *apiAddr != ""))
	return Run(ctx, Options{
		NATS: nc, ExtProcAddr: *extprocAddr, APIMode: *api || *apiAddr != "", MetricsAddr: *metricsAddr, Logger: log,
		EmbedModel: *embedModel, EmbedDimensions: int32(*embedDims), StageTimeout: *stageTimeout,
		DrainTimeout: *drain, Instance: *instance, TracerProvider: tel.TracerProvider,
		APIAddress: overrideFirstListener(*apiAddr), TrustedProxies: trusted,
	})
}

// overrideFirstListener returns an APIAddress that maps the first API
// listener (the first one of the first revision, followed by name across
// revisions) to addr; nil when addr is empty: every listener binds its
// configured address.
func overrideFirstListener(addr string) func(listener, configured string) string {
	if addr == "" {
		return nil
	}
	var mu sync.Mutex
	first := ""
	return func(name, configured string) string {
		mu.Lock()
		defer mu.Unlock()
		if first == "" {
			first = name
		}
		if name == first {
			return addr
		}
		return configured
	}
}
