package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/semrouter/semrouter/cmd/semrouter/internal/serve"
	"github.com/semrouter/semrouter/pkg/telemetry"
	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
)

const serveDescription = "Runs config-hub, the embedder, the classifier, the cache and the gateway in\none process. They talk over NATS exactly as separate services would. The\nOpenAI-compatible API listens on the config's listeners; SIGINT/SIGTERM\ndrains in-flight requests and stops."

func serveCommand() *Command {
	c := &Command{
		Name:    "serve",
		Summary: "run the whole router in one process around an embedded NATS server",
		Usage:   "--config FILE [--data-dir DIR] [--nats-url URL] [flags]",
	}
	c.Run = func(ctx context.Context, env *Env, args []string) error {
		o, logCfg, err := parseServe(env, c, args)
		if err != nil {
			return err
		}
		logger, err := telemetry.NewLogger(env.Stderr, logCfg)
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

// parseServe turns serve's command line into serve.Options (without the
// logger and the Ready callback) and the log settings. Flags the
// standalone binaries also have keep their names there (gateway-extproc
// --stage-timeout and --drain-timeout, config-hub --management-insecure).
func parseServe(env *Env, c *Command, args []string) (serve.Options, telemetry.LogConfig, error) {
	fs := newFlagSet(c)
	var o serve.Options
	var logCfg telemetry.LogConfig
	fs.StringVar(&o.ConfigPath, "config", "", "the v0.3 configuration (republished when the file changes)")
	fs.StringVar(&o.DataDir, "data-dir", "", "JetStream storage of the embedded NATS server (default: a folder under the temp dir)")
	fs.StringVar(&o.NATSURL, "nats-url", "", "join this NATS server instead of embedding one (credentials and TLS: the --nats-user/--nats-creds/--nats-tls-* flags)")
	// Credentials, TLS and the reply-inbox prefix, as every service binary
	// has them; no service name, so the inbox stays nats.go's _INBOX unless
	// --nats-inbox-prefix (or its variable) sets one.
	natsFlags := telemetry.AddNATSFlags(fs, "", os.Getenv)
	fs.StringVar(&o.NATSAddr, "nats-addr", "127.0.0.1:4222", "client address of the embedded NATS server (separate service processes can join it)")
	fs.BoolVar(&o.NATSInsecure, "nats-insecure", false, "allow the embedded NATS server (no authentication) on a non-loopback --nats-addr (refused otherwise)")
	fs.StringVar(&o.ManagementAddr, "management-addr", "", "management API address (default from global.services.management_api; off disables)")
	fs.BoolVar(&o.ManagementInsecure, "management-insecure", false, "allow the management API on a non-loopback address while the config leaves its authentication off (refused otherwise)")
	fs.StringVar(&o.XDSAddr, "xds-addr", "", "xDS gRPC address for Envoy (default 127.0.0.1:18000; off disables)")
	fs.StringVar(&o.ExtProcAddr, "extproc-addr", "", "ext_proc gRPC address for Envoy (default 127.0.0.1:50051; off disables); port 0 binds a free port, which config-hub's xDS names (loopback for an empty or wildcard host)")
	fs.StringVar(&o.MetricsAddr, "metrics-addr", "", "Prometheus /metrics address (default 127.0.0.1:9190; off disables)")
	fs.StringVar(&o.ModelsDir, "models-dir", "", "built embedding models (default: SEMROUTER_MODELS_DIR or .cache/models)")
	fs.DurationVar(&o.StageTimeout, "stage-timeout", 0, "deadline of each router stage: embed, classify, cache lookup (0: 150ms)")
	fs.DurationVar(&o.DrainTimeout, "drain-timeout", 0, "how long shutdown, and an API listener a config revision removes or moves, waits for in-flight requests (0: 30s)")
	o.TrustedProxies = apimode.LoopbackProxies()
	fs.Var(o.TrustedProxies, "trusted-proxies", "comma-separated IPs/CIDRs of the peers whose identity headers and x-vsr-debug the API honours, removed from any other peer's request ('' trusts nobody; 0.0.0.0/0,::/0 trusts every client: unsafe)")
	fs.BoolVar(&o.TrustDownstreamIdentity, "trust-downstream-identity", false, "keep the identity headers and x-vsr-debug that reach the Envoy listeners config-hub generates; only when every client comes through an authenticating proxy that sets them and strips its clients' copies (default: removed before any HTTP filter)")
	fs.StringVar(&logCfg.Level, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&logCfg.Format, "log-format", "text", "text or json")
	pos, err := parseFlags(env, c, fs, args, serveDescription)
	if err != nil {
		return serve.Options{}, logCfg, err
	}
	if len(pos) > 0 {
		return serve.Options{}, logCfg, usageErrorf("serve takes no positional arguments")
	}
	if o.ConfigPath == "" {
		return serve.Options{}, logCfg, usageErrorf("serve needs --config FILE")
	}
	if o.StageTimeout < 0 || o.DrainTimeout < 0 {
		return serve.Options{}, logCfg, usageErrorf("serve: --stage-timeout and --drain-timeout must not be negative")
	}
	if o.NATSURL == "" && natsFlags.Authenticates() {
		return serve.Options{}, logCfg, usageErrorf("serve: --nats-user, --nats-password-file, --nats-creds and --nats-tls-* (or $%s) authenticate to an external NATS: add --nats-url, or drop them for the embedded server (which has no authentication)", telemetry.EnvNATSUser)
	}
	natsOpts, err := natsFlags.Options(o.NATSURL)
	if err != nil {
		return serve.Options{}, logCfg, usageErrorf("serve: %v", err)
	}
	o.NATSOptions = natsOpts
	return o, logCfg, nil
}
