package service

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/semrouter/semrouter/pkg/telemetry"
)

// Main parses the command line and runs the gateway until ctx ends.
func Main(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("gateway-extproc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	natsURL := fs.String("nats-url", nats.DefaultURL, "NATS server URL")
	extprocAddr := fs.String("extproc-addr", ":50051", "ext_proc gRPC listen address (empty: no ext_proc server)")
	api := fs.Bool("api", false, "serve the OpenAI-compatible API on the config's listeners (no Envoy needed)")
	metricsAddr := fs.String("metrics-addr", "", "listen address for Prometheus /metrics (empty: none)")
	embedModel := fs.String("embed-model", os.Getenv("SEMROUTER_EMBED_MODEL"), "embedding model to ask the embedder pool for (empty: the pool's default model); use the classifier's value")
	embedDims := fs.Int("embed-dimensions", 0, "truncate query embeddings to this many dimensions (0: native)")
	stageTimeout := fs.Duration("stage-timeout", 0, "deadline of each router stage: embed, classify, cache lookup (0: 150ms)")
	drain := fs.Duration("drain-timeout", 30*time.Second, "how long shutdown waits for in-flight requests")
	instance := fs.String("instance", "", "instance name in config status reports (default: host name)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	log, err := telemetry.NewLogger(stderr, telemetry.LogConfig{Level: *logLevel, Format: *logFormat})
	if err != nil {
		return err
	}
	nc, err := nats.Connect(*natsURL, nats.Name("semrouter-gateway"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("connect to nats %s: %w", *natsURL, err)
	}
	defer nc.Close()
	log.Info("gateway starting", slog.String("nats", *natsURL), slog.String("extproc", *extprocAddr), slog.Bool("api", *api))
	return Run(ctx, Options{
		NATS: nc, ExtProcAddr: *extprocAddr, APIMode: *api, MetricsAddr: *metricsAddr, Logger: log,
		EmbedModel: *embedModel, EmbedDimensions: int32(*embedDims), StageTimeout: *stageTimeout,
		DrainTimeout: *drain, Instance: *instance,
	})
}
