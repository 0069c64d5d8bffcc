package cli

import (
	"context"
	"fmt"

	"github.com/semrouter/semrouter/cmd/semrouter/internal/serve"
	"github.com/semrouter/semrouter/pkg/telemetry"
)

func serveCommand() *Command {
	c := &Command{
		Name:    "serve",
		Summary: "run the whole router in one process around an embedded NATS server",
		Usage:   "--config FILE [--data-dir DIR] [--nats-url URL] [flags]",
	}
	c.Run = func(ctx context.Context, env *Env, args []string) error {
		fs := newFlagSet(c)
		var o serve.Options
		fs.StringVar(&o.ConfigPath, "config", "", "the v0.3 configuration (republished when the file changes)")
		fs.StringVar(&o.DataDir, "data-dir", "", "JetStream storage of the embedded NATS server (default: a folder under the temp dir)")
		fs.StringVar(&o.NATSURL, "nats-url", "", "join this NATS server instead of embedding one")
		fs.StringVar(&o.NATSAddr, "nats-addr", "127.0.0.1:4222", "client address of the embedded NATS server (separate service processes can join it)")
		fs.StringVar(&o.ManagementAddr, "management-addr", "", "management API address (default from global.services.management_api; off disables)")
		fs.StringVar(&o.XDSAddr, "xds-addr", "", "xDS gRPC address for Envoy (default 127.0.0.1:18000; off disables)")
		fs.StringVar(&o.ExtProcAddr, "extproc-addr", "", "ext_proc gRPC address for Envoy (default 127.0.0.1:50051; off disables)")
		fs.StringVar(&o.MetricsAddr, "metrics-addr", "", "Prometheus /metrics address (default 127.0.0.1:9190; off disables)")
		fs.StringVar(&o.ModelsDir, "models-dir", "", "built embedding models (default: SEMROUTER_MODELS_DIR or .cache/models)")
		level := fs.String("log-level", "info", "debug, info, warn or error")
		format := fs.String("log-format", "text", "text or json")
		pos, err := parseFlags(env, c, fs, args, "Runs config-hub, the embedder, the classifier, the cache and the gateway in\none process. They talk over NATS exactly as separate services would. The\nOpenAI-compatible API listens on the config's listeners; SIGINT/SIGTERM\ndrains in-flight requests and stops.")
		if err != nil {
			return err
		}
		if len(pos) > 0 {
			return usageErrorf("serve takes no positional arguments")
		}
		if o.ConfigPath == "" {
			return usageErrorf("serve needs --config FILE")
		}
		logger, err := telemetry.NewLogger(env.Stderr, telemetry.LogConfig{Level: *level, Format: *format})
		if err != nil {
			return usageErrorf("serve: %v", err)
		}
		o.Logger = logger
		o.Ready = func(info serve.Info) {
			fmt.Fprintf(env.Stderr, "semrouter is ready (NATS %s)\n", info.NATSURL)
		}
		return serve.Run(ctx, o)
	}
	return c
}
