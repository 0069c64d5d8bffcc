package server

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	pkgmetrics "github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/pkg/telemetry"
	"github.com/semrouter/semrouter/services/classifier/classifier"
	"github.com/semrouter/semrouter/services/classifier/heuristic"
	"github.com/semrouter/semrouter/services/classifier/jailbreak"
)

// Main is the classifier command: it parses args, connects to NATS and
// serves until ctx ends.
func Main(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("classifier", flag.ContinueOnError)
	fs.SetOutput(stderr)
	natsURL := fs.String("nats-url", nats.DefaultURL, "NATS server URL")
	httpAddr := fs.String("http-addr", "127.0.0.1:8090", "HTTP listen address for Connect and the JSON API (empty: none; unauthenticated, so loopback by default)")
	metricsAddr := fs.String("metrics-addr", "", "listen address for Prometheus /metrics (empty: none)")
	embedModel := fs.String("embed-model", os.Getenv("SEMROUTER_EMBED_MODEL"), "embedding model to ask the embedder service for (empty: embedding signals are degraded)")
	embedTimeout := fs.Duration("embed-timeout", 30*time.Second, "timeout of one embedder request")
	guardDir := fs.String("guard-dir", os.Getenv("SEMROUTER_GUARD_DIR"), "directory of the unpacked "+jailbreak.GuardPackage+" package (jailbreak model; empty: pattern-only jailbreak rules)")
	headDir := fs.String("domain-heads", os.Getenv("SEMROUTER_DOMAIN_HEADS"), "directory of extra trained domain heads, <model>.json (the heads of the built-in models ship in the binary)")
	kbDir := fs.String("kb-dir", os.Getenv("SEMROUTER_KB_DIR"), "folder relative knowledge-base paths (global.model_catalog.kbs[].source.path) are resolved against (empty: the working directory)")
	highAccuracy := fs.Bool("language-high-accuracy", false, "use lingua's high-accuracy language detection (more memory and time)")
	instance := fs.String("instance", "", "instance name in config status reports (default: host name)")
	obs := telemetry.AddServiceFlags(fs, "semrouter-classifier", os.Getenv)
	if ok, err := obs.Parse(fs, args); !ok {
		return err
	}
	log, tel, stopTracing, err := obs.Start(ctx, stderr, *instance)
	if err != nil {
		return err
	}
	defer stopTracing()
	var jb heuristic.JailbreakScorer
	if *guardDir != "" {
		s, err := jailbreak.Load(*guardDir)
		if err != nil {
			return fmt.Errorf("load jailbreak model: %w", err)
		}
		jb = s
	}
	nc, err := obs.ConnectNATS(*natsURL, "semrouter-classifier", nats.MaxReconnects(-1))
	if err != nil {
		return err
	}
	defer nc.Close()

	o := Options{NATS: nc, HTTPAddr: *httpAddr, MetricsAddr: *metricsAddr, Logger: log, Instance: *instance, Jailbreak: jb,
		TracerProvider: tel.TracerProvider}
	var rpcMetrics *pkgmetrics.RPC
	if *metricsAddr != "" {
		reg := pkgmetrics.NewRegistry()
		o.Registerer = reg
		if rpcMetrics, err = pkgmetrics.NewRPC(reg); err != nil {
			return err
		}
	}
	if *embedModel != "" {
		o.Embedder = NewNATSEmbedder(nc, *embedModel, 0, *embedTimeout, natsrpc.WithTracerProvider(tel.TracerProvider),
			natsrpc.WithPropagator(telemetry.Propagator()), natsrpc.WithMetrics(rpcMetrics))
	} else {
		log.Warn("no --embed-model: embedding, complexity, preference and domain signals will not match")
	}
	if *headDir != "" {
		o.CompileOptions = append(o.CompileOptions, classifier.WithDomainHeadDir(*headDir))
	}
	if *kbDir != "" {
		o.CompileOptions = append(o.CompileOptions, classifier.WithKBDir(*kbDir))
	}
	if *highAccuracy {
		o.CompileOptions = append(o.CompileOptions, classifier.WithHighAccuracyLanguageDetection())
	}
	log.Info("classifier starting", slog.String("nats", telemetry.RedactURL(*natsURL)), slog.String("nats_user", obs.NATSUser()), slog.String("nats_inbox", obs.NATSInboxPrefix()), slog.String("http", *httpAddr))
	return Run(ctx, o)
}
