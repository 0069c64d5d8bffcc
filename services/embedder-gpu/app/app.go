// Package app is the embedder-gpu process: flags, model loading, NATS
// connection, then server.Run until the context ends.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/pkg/telemetry"
	"github.com/semrouter/semrouter/services/embedder-gpu/batching"
	"github.com/semrouter/semrouter/services/embedder-gpu/catalog"
	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
	"github.com/semrouter/semrouter/services/embedder-gpu/ortrt"
	"github.com/semrouter/semrouter/services/embedder-gpu/server"
)

// remoteConcurrency is the number of batches in flight to a remote backend
// (a local model runs one batch at a time on all cores).
const remoteConcurrency = 8

// Run runs the embedder with the command-line args (without the program
// name) until ctx ends.
func Run(ctx context.Context, args []string, stderr io.Writer) error {
	return run(ctx, args, stderr, nil)
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type flags struct {
	natsURL        string
	httpAddr       string
	modelsDir      string
	models         stringList
	defaultModel   string
	device         string
	intraOpThreads int
	batchWindow    time.Duration
	maxBatch       int
	maxConcurrency int
	configPath     string
	metricsAddr    string
	obs            *telemetry.ServiceFlags
}

func parseFlags(args []string, stderr io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("embedder-gpu", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.natsURL, "nats-url", nats.DefaultURL, `NATS server URL ("" serves HTTP only)`)
	fs.StringVar(&f.httpAddr, "http-addr", "", `address for Connect/gRPC over HTTP, e.g. ":8090" ("" = off)`)
	fs.StringVar(&f.modelsDir, "models-dir", "", "folder of the built models (default $SEMROUTER_MODELS_DIR or .cache/models of the checkout)")
	fs.Var(&f.models, "model", "model to serve, repeatable: a built model name (use-lite, glove-sif-100d), a model name or alias from --config, a folder, or NAME=FOLDER; when given, only these are served")
	fs.StringVar(&f.defaultModel, "default", "", "model answering requests without a model name (default: the config's, else the first --model)")
	fs.StringVar(&f.device, "device", "", "execution provider: auto, cpu or cuda (default: cpu when the config says use_cpu, else auto)")
	fs.IntVar(&f.intraOpThreads, "intra-op-threads", 0, "ONNX Runtime threads per model run (0 = one per core)")
	fs.DurationVar(&f.batchWindow, "batch-window", batching.DefaultWindow, "how long a request waits for others to share its model run")
	fs.IntVar(&f.maxBatch, "max-batch", batching.DefaultMaxBatch, "texts per model run")
	fs.IntVar(&f.maxConcurrency, "max-concurrency", 0, "requests handled at once per model over NATS (0 = natsrpc default)")
	fs.StringVar(&f.configPath, "config", "", "semrouter v0.3 config file: models from global.model_catalog.embeddings.semantic")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", `address for Prometheus /metrics, e.g. ":9191" ("" = off)`)
	f.obs = telemetry.AddServiceFlags(fs, "semrouter-embedder", os.Getenv)
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var errs []error
	switch ortrt.Device(f.device) {
	case "", ortrt.DeviceAuto, ortrt.DeviceCPU, ortrt.DeviceCUDA:
	default:
		errs = append(errs, fmt.Errorf("--device %q: want auto, cpu or cuda", f.device))
	}
	if f.maxBatch < 1 {
		errs = append(errs, fmt.Errorf("--max-batch %d: want at least 1", f.maxBatch))
	}
	if f.intraOpThreads < 0 {
		errs = append(errs, fmt.Errorf("--intra-op-threads %d: must not be negative", f.intraOpThreads))
	}
	if f.batchWindow < 0 {
		errs = append(errs, fmt.Errorf("--batch-window %v: must not be negative", f.batchWindow))
	}
	if f.natsURL == "" && f.httpAddr == "" {
		errs = append(errs, errors.New("--nats-url and --http-addr are both empty: nothing to serve on"))
	}
	return f, errors.Join(errs...)
}

func run(ctx context.Context, args []string, stderr io.Writer, ready func(httpAddr string)) error {
	f, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("embedder-gpu: %w", err)
	}
	logger, tel, stopTracing, err := f.obs.Start(ctx, stderr, "")
	if err != nil {
		return fmt.Errorf("embedder-gpu: %w", err)
	}
	defer stopTracing()
	wd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("embedder-gpu: %w", err)
	}
	if f.modelsDir == "" {
		if f.modelsDir, err = embedding.ResolveModelsDir(os.Getenv, wd); err != nil {
			return fmt.Errorf("embedder-gpu: %w", err)
		}
	}
	plan, err := buildPlan(f, logger)
	if err != nil {
		return fmt.Errorf("embedder-gpu: %w", err)
	}
	var rt *ortrt.Runtime
	if slices.ContainsFunc(plan.Specs, func(s catalog.Spec) bool { return s.Kind != catalog.KindRemote }) {
		lib, err := ortrt.ResolveLibraryPath(os.Getenv, wd)
		if err != nil {
			return fmt.Errorf("embedder-gpu: %w", err)
		}
		if rt, err = ortrt.Open(logger, lib); err != nil {
			return fmt.Errorf("embedder-gpu: %w", err)
		}
		defer rt.Close()
	}
	loaded, err := catalog.Load(ctx, logger, rt, plan, catalog.LoadOptions{IntraOpThreads: f.intraOpThreads, MaxBatch: f.maxBatch})
	if err != nil {
		return fmt.Errorf("embedder-gpu: %w", err)
	}
	defer catalog.CloseAll(loaded)
	models := make([]server.Model, len(loaded))
	for i, l := range loaded {
		models[i] = server.Model{Embedder: l.Embedder, Aliases: l.Spec.Aliases, Default: l.Spec.Default, Backend: l.Backend}
		if l.Spec.Kind == catalog.KindRemote {
			models[i].Concurrency = remoteConcurrency
		}
	}
	opts := server.Options{
		HTTPAddr:       f.httpAddr,
		Models:         models,
		Logger:         logger,
		Batching:       batching.Config{Window: f.batchWindow, MaxBatch: f.maxBatch},
		MaxConcurrency: f.maxConcurrency,
		Ready:          ready,
	}
	if f.batchWindow == 0 {
		opts.Batching.Window = -1 // --batch-window 0: no waiting
	}
	opts.TracerProvider = tel.TracerProvider
	if f.metricsAddr != "" {
		reg := metrics.NewRegistry()
		opts.Registerer = reg
		msrv, err := metrics.Serve(f.metricsAddr, reg, logger)
		if err != nil {
			return fmt.Errorf("embedder-gpu: %w", err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = msrv.Shutdown(sctx)
		}()
	}
	if f.natsURL != "" {
		nc, err := f.obs.ConnectNATS(f.natsURL, "embedder-gpu", nats.MaxReconnects(-1))
		if err != nil {
			return fmt.Errorf("embedder-gpu: %w", err)
		}
		logger.Info("connected to NATS", slog.String("nats", telemetry.RedactURL(f.natsURL)), slog.String("nats_user", f.obs.NATSUser()), slog.String("nats_inbox", f.obs.NATSInboxPrefix()))
		defer nc.Close()
		opts.NATS = nc
	}
	return server.Run(ctx, opts)
}

// buildPlan combines --config and --model into the specs to load.
func buildPlan(f flags, logger *slog.Logger) (catalog.Plan, error) {
	device := ortrt.Device(f.device)
	plan := catalog.Builtins(f.modelsDir, device)
	if plan.Specs[0].Device == "" {
		for i := range plan.Specs {
			plan.Specs[i].Device = ortrt.DeviceAuto
		}
	}
	if f.configPath != "" {
		cfg, probs, err := config.Load(f.configPath)
		if err != nil {
			return plan, err
		}
		for _, p := range probs.Warnings() {
			logger.Warn("config", slog.String("problem", p.Error()))
		}
		var catProbs config.Problems
		plan, catProbs = catalog.FromConfig(cfg, catalog.Options{ModelsDir: f.modelsDir, BaseDir: filepath.Dir(f.configPath), Device: device})
		for _, p := range catProbs.Warnings() {
			logger.Warn("embedding model catalog", slog.String("problem", p.Error()))
		}
		if catProbs.HasErrors() {
			return plan, fmt.Errorf("%s: %w", f.configPath, catProbs.Err())
		}
	}
	if len(f.models) > 0 {
		var kept catalog.Plan
		for _, arg := range f.models {
			idx := slices.IndexFunc(plan.Specs, func(s catalog.Spec) bool { return s.Name == arg || slices.Contains(s.Aliases, arg) })
			if idx >= 0 {
				kept.Specs = append(kept.Specs, plan.Specs[idx])
				continue
			}
			d := device
			if d == "" {
				d = ortrt.DeviceAuto
			}
			s, err := catalog.ParseModelArg(arg, f.modelsDir, d)
			if err != nil {
				return plan, err
			}
			kept.Specs = append(kept.Specs, s)
		}
		if !slices.ContainsFunc(kept.Specs, func(s catalog.Spec) bool { return s.Default }) {
			kept.Specs[0].Default = true
		}
		plan = kept
	}
	if f.defaultModel != "" {
		idx := slices.IndexFunc(plan.Specs, func(s catalog.Spec) bool {
			return s.Name == f.defaultModel || slices.Contains(s.Aliases, f.defaultModel)
		})
		if idx < 0 {
			return plan, fmt.Errorf("--default %q is not among the served models", f.defaultModel)
		}
		for i := range plan.Specs {
			plan.Specs[i].Default = i == idx
		}
	}
	return plan, nil
}
