package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/semrouter/semrouter/pkg/devllm"
)

// devllmMaxBody is devllm's default request body bound: 32 MiB.
const devllmMaxBody = 32 << 20

func devllmCommand() *Command {
	c := &Command{
		Name:    "devllm",
		Summary: "run a small OpenAI-compatible DEVELOPMENT backend (not a language model)",
		Usage:   "[--addr HOST:PORT] [--models a,b,...] [--latency D] [--failure-rate F] [--max-body N]",
	}
	c.Run = func(ctx context.Context, env *Env, args []string) error {
		fs := newFlagSet(c)
		addr := fs.String("addr", "127.0.0.1:8809", "listen address")
		models := fs.String("models", "", "comma-separated models to serve (empty: any)")
		latency := fs.Duration("latency", 0, "delay before the first byte of every answer")
		tokenDelay := fs.Duration("token-delay", 0, "delay between streamed chunks")
		failRate := fs.Float64("failure-rate", 0, "fraction of requests answered with --fail-status")
		failStatus := fs.Int("fail-status", http.StatusInternalServerError, "status of injected failures")
		name := fs.String("name", "devllm", "name shown in answers and the x-devllm-backend header")
		// Above the router's own limit (global.router.streamed_body.max_bytes,
		// 10 MiB by default), so that what the router accepts reaches the backend.
		maxBody := fs.Int64("max-body", devllmMaxBody, "largest request body in bytes; larger ones get 413")
		pos, err := parseFlags(env, c, fs, args, "A development tool, not a language model: it answers every chat completion\nwith a deterministic echo of the last user message, as JSON or SSE, with\nusage, and can inject latency and failures. Use it for the quickstart and\nfor tests in place of a real model server.")
		if err != nil {
			return err
		}
		if len(pos) > 0 {
			return usageErrorf("devllm takes no positional arguments")
		}
		if *failRate < 0 || *failRate > 1 {
			return usageErrorf("--failure-rate must be within [0,1]")
		}
		if *maxBody <= 0 {
			return usageErrorf("--max-body must be positive")
		}
		var list []string
		for _, m := range strings.Split(*models, ",") {
			if m = strings.TrimSpace(m); m != "" {
				list = append(list, m)
			}
		}
		srv := devllm.New(devllm.Options{Models: list, Latency: *latency, TokenDelay: *tokenDelay, FailureRate: *failRate, FailStatus: *failStatus, Name: *name, MaxBody: *maxBody})
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", *addr, err)
		}
		hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
		fmt.Fprintf(env.Stderr, "devllm (development backend) listening on http://%s models=%v\n", ln.Addr(), list)
		errc := make(chan error, 1)
		go func() { errc <- hs.Serve(ln) }()
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		}
	}
	return c
}
