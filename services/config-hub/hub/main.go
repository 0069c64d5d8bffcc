package hub

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/semrouter/semrouter/pkg/telemetry"
	"github.com/semrouter/semrouter/services/config-hub/xds"
)

// Main is the config-hub command: it parses args (without the program
// name), builds the logger on stderr and the tracer provider, and calls
// Run.
func Main(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("config-hub", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		opts      Options
		extProc   string
		natsURL   = "nats://127.0.0.1:4222"
		jsonLogs  bool
		tokenFile string
	)
	fs.StringVar(&opts.ConfigPath, "config", "", "config file to publish and watch (optional: without it the hub serves what KV holds)")
	fs.StringVar(&natsURL, "nats-url", natsURL, "NATS server URL")
	fs.StringVar(&opts.ManagementAddr, "management-addr", "", `management API address (default: global.services.management_api, else 127.0.0.1:8080; "off" disables)`)
	fs.StringVar(&tokenFile, "management-token-file", "", "file holding a bearer token with every permission on the management API; turns authentication on whatever the config says (default: $"+EnvManagementToken+")")
	fs.BoolVar(&opts.ManagementInsecure, "management-insecure", false, "allow the management API on a non-loopback address while the config leaves its authentication off (refused otherwise)")
	fs.StringVar(&opts.XDSAddr, "xds-addr", xds.DefaultXDSAddress, `xDS gRPC address ("off" disables)`)
	fs.StringVar(&extProc, "extproc-addr", xds.DefaultExtProcAddress, "gateway-extproc host:port that Envoy's ext_proc filter calls (a real port; an empty or wildcard host means loopback on Envoy's host)")
	fs.BoolVar(&opts.XDS.TrustDownstreamIdentity, "trust-downstream-identity", false, "keep the identity headers (global.services.authz.identity) and x-vsr-debug that reach Envoy's generated listeners; only when every client comes through an authenticating proxy that sets them and strips its clients' copies (default: removed before any HTTP filter)")
	fs.StringVar(&opts.Instance, "instance", "", "instance name in status reports (default: host name)")
	fs.StringVar(&opts.MetricsAddr, "metrics-addr", "", "listen address for Prometheus /metrics (empty: none)")
	fs.BoolVar(&jsonLogs, "log-json", false, "log JSON instead of text (same as --log-format json)")
	obs := telemetry.AddServiceFlags(fs, "semrouter-config-hub", os.Getenv)
	if ok, err := obs.Parse(fs, args); !ok {
		return err
	}
	if jsonLogs {
		if f := fs.Lookup("log-format"); f.Value.String() != "json" && isSet(fs, "log-format") {
			return fmt.Errorf("--log-json conflicts with --log-format %s", f.Value.String())
		}
		if err := fs.Set("log-format", "json"); err != nil {
			return err
		}
	}
	// --extproc-addr is the address Envoy dials, not one the hub binds:
	// port 0 cannot be resolved here, so refuse it now rather than
	// rejecting every revision later.
	if _, _, err := xds.ExtProcEndpoint(extProc); err != nil {
		return fmt.Errorf("--extproc-addr %q: %w", extProc, err)
	}
	opts.ManagementToken = os.Getenv(EnvManagementToken)
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return fmt.Errorf("read --management-token-file: %w", err)
		}
		opts.ManagementToken = strings.TrimSpace(string(b))
		if opts.ManagementToken == "" {
			return fmt.Errorf("--management-token-file %s is empty", tokenFile)
		}
	}
	log, tel, stopTracing, err := obs.Start(ctx, stderr, opts.Instance)
	if err != nil {
		return err
	}
	defer stopTracing()
	opts.Logger = log
	opts.TracerProvider = tel.TracerProvider
	opts.NATSURL = natsURL
	// The shared credential and TLS flags (--nats-user, --nats-creds,
	// --nats-tls-*); Run dials with them after its own checks.
	if opts.NATSOptions, err = obs.NATSOptions(natsURL); err != nil {
		return err
	}
	opts.NATSOptions = append(opts.NATSOptions, nats.MaxReconnects(-1))
	log.Info("config-hub starting", slog.String("nats", telemetry.RedactURL(natsURL)), slog.String("nats_user", obs.NATSUser()), slog.String("nats_inbox", obs.NATSInboxPrefix()))
	opts.XDS.ExtProcAddress = extProc
	if opts.XDS.TrustDownstreamIdentity {
		log.Warn("Envoy listeners keep client identity and x-vsr-debug headers (--trust-downstream-identity): every client must come through a proxy that sets them")
	}
	return Run(ctx, opts)
}

// isSet reports whether the command line set the flag name.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
