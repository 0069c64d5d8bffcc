package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/nats-io/nats.go"

	"github.com/semrouter/semrouter/pkg/telemetry"
)

// Main is the cache command: it parses args, connects to NATS and serves
// until ctx ends.
func Main(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("cache", flag.ContinueOnError)
	fs.SetOutput(stderr)
	natsURL := fs.String("nats-url", nats.DefaultURL, "NATS server URL")
	httpAddr := fs.String("http-addr", ":8092", "HTTP listen address for the Connect API (empty: none)")
	metricsAddr := fs.String("metrics-addr", "", "listen address for Prometheus /metrics (empty: none)")
	instance := fs.String("instance", "", "instance name in logs and config status reports (default: host name)")
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
	nc, err := nats.Connect(*natsURL, nats.Name("semrouter-cache"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("connect to nats %s: %w", *natsURL, err)
	}
	defer nc.Close()
	log.Info("cache starting", slog.String("nats", *natsURL), slog.String("http", *httpAddr))
	return Run(ctx, Options{NATS: nc, HTTPAddr: *httpAddr, MetricsAddr: *metricsAddr, Logger: log, Instance: *instance})
}
