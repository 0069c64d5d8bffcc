package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"

	"github.com/nats-io/nats.go"

	"github.com/semrouter/semrouter/pkg/telemetry"
	"github.com/semrouter/semrouter/services/cache/server"
)

// run is the cache command: it parses args (without the program name),
// builds the logger on stderr and the tracer provider from the shared
// service flags, connects to NATS and serves until ctx ends.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("cache", flag.ContinueOnError)
	fs.SetOutput(stderr)
	natsURL := fs.String("nats-url", nats.DefaultURL, "NATS server URL")
	httpAddr := fs.String("http-addr", "127.0.0.1:8092", "HTTP listen address for the Connect API, which has no authentication (Store, Invalidate, Flush): keep it on loopback or a private network (empty: none)")
	metricsAddr := fs.String("metrics-addr", "", "listen address for Prometheus /metrics (empty: none)")
	instance := fs.String("instance", "", "instance name in logs, traces and config status reports (default: host name)")
	obs := telemetry.AddServiceFlags(fs, "semrouter-cache", os.Getenv)
	if ok, err := obs.Parse(fs, args); !ok {
		return err
	}
	log, tel, stopTracing, err := obs.Start(ctx, stderr, *instance)
	if err != nil {
		return err
	}
	defer stopTracing()
	nc, err := obs.ConnectNATS(*natsURL, "semrouter-cache", nats.MaxReconnects(-1))
	if err != nil {
		return err
	}
	defer nc.Close()
	log.Info("cache starting", slog.String("nats", telemetry.RedactURL(*natsURL)), slog.String("nats_user", obs.NATSUser()), slog.String("nats_inbox", obs.NATSInboxPrefix()), slog.String("http", *httpAddr))
	return server.Run(ctx, server.Options{NATS: nc, HTTPAddr: *httpAddr, MetricsAddr: *metricsAddr, Logger: log, Instance: *instance,
		TracerProvider: tel.TracerProvider})
}
