package cli

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/semrouter/semrouter/cmd/semrouter/internal/loadtest"
)

const benchE2EDescribe = `Starts a development backend (devllm, NOT a language model) and the whole
router in this process (serve, with the real embedder and classifier, a
temporary data folder and free loopback ports), then measures on loopback:
one request at a time, a direct call to the backend, a routed call
("model": "auto") and an embed call of the same prompt (the added latency
per request and its ratio to the embedder's own time); then a closed-loop
load of each path (throughput, p50/p99). The config's backends and
listeners are rewritten to point at the devllm; its response_cache plugins
are dropped unless --keep-cache. With --out the Markdown table replaces the
generated block of the "End to end" section of that file.`

func benchE2ECommand() *Command {
	c := &Command{
		Name:    "bench e2e",
		Summary: "measure the whole router's added latency and throughput against a direct call",
		Usage:   "[--config FILE] [--requests N] [--concurrency C] [--duration D] [--out FILE]",
	}
	c.Run = func(ctx context.Context, env *Env, args []string) error {
		fs := newFlagSet(c)
		var o loadtest.Options
		fs.StringVar(&o.ConfigPath, "config", "", "v0.3 config to route with (default: config/quickstart.yaml of the checkout)")
		fs.IntVar(&o.Requests, "requests", 2000, "requests per closed-loop side")
		fs.IntVar(&o.Concurrency, "concurrency", 16, "closed-loop workers")
		fs.DurationVar(&o.Duration, "duration", time.Minute, "time bound per closed-loop side")
		fs.IntVar(&o.Samples, "samples", 0, "sequential samples (default min(requests, 200))")
		fs.BoolVar(&o.KeepCache, "keep-cache", false, "keep the config's response_cache plugins")
		fs.StringVar(&o.ModelsDir, "models-dir", "", "built embedding models (default: SEMROUTER_MODELS_DIR or .cache/models)")
		out := fs.String("out", "", "Markdown file whose \"End to end\" section receives the table")
		pos, err := parseFlags(env, c, fs, args, benchE2EDescribe)
		if err != nil {
			return err
		}
		if len(pos) > 0 {
			return usageErrorf("bench e2e takes no positional arguments")
		}
		if o.Requests < 1 || o.Concurrency < 1 || o.Duration <= 0 || o.Samples < 0 {
			return usageErrorf("bench e2e: --requests and --concurrency must be at least 1, --duration positive, --samples not negative")
		}
		o.Logger = env.Logger.With(slog.String("component", "bench"))
		o.Progress = env.Stderr
		rep, err := loadtest.Run(ctx, o)
		if err != nil {
			return fmt.Errorf("bench e2e: %w", err)
		}
		block := rep.Markdown()
		fmt.Fprint(env.Stdout, block)
		if *out != "" {
			if err := loadtest.WriteSection(*out, block); err != nil {
				return fmt.Errorf("bench e2e: %w", err)
			}
			fmt.Fprintf(env.Stderr, "wrote the \"End to end\" section of %s\n", *out)
		}
		return nil
	}
	return c
}
