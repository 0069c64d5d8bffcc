// Package loadtest measures the whole router on loopback: it starts a
// development backend (pkg/devllm, NOT a language model) and the
// all-in-one router (serve.Run with the real embedder, classifier and
// gateway) in this process, then times chat completions through the router
// against direct calls to the same backend, and the embedder's own time
// for the same prompts through the embedding client the gateway uses.
package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/semrouter/semrouter/cmd/semrouter/internal/serve"
	"github.com/semrouter/semrouter/pkg/devllm"
	"github.com/semrouter/semrouter/services/gateway-extproc/natsstages"
)

// Options configures a run.
type Options struct {
	// ConfigPath is a v0.3 config (default: config/quickstart.yaml of the
	// checkout). Its backends and listeners are rewritten for loopback.
	ConfigPath string
	// Requests bounds each closed-loop side (default 2000).
	Requests int
	// Concurrency is the closed-loop worker count (default 16).
	Concurrency int
	// Duration bounds each closed-loop side (default 60s).
	Duration time.Duration
	// Samples is the number of sequential (concurrency 1) triples of
	// direct call, routed call and embed call (default min(Requests, 200)).
	Samples int
	// KeepCache keeps the config's response_cache plugins (default: they
	// are dropped so that every routed request reaches the backend).
	KeepCache bool
	// WorkDir holds the rewritten config and JetStream data (default: a
	// temporary folder, removed afterwards).
	WorkDir string
	// ModelsDir, GuardDir and DomainHeadDir are passed to serve (defaults:
	// the environment / the checkout's .cache).
	ModelsDir, GuardDir, DomainHeadDir string
	// Prompts replaces the built-in prompt set.
	Prompts []string
	// Logger receives the router's logs (default: discarded).
	Logger *slog.Logger
	// Progress, when set, receives one line per phase.
	Progress io.Writer
	// ReadyTimeout bounds the router start-up (default 3m).
	ReadyTimeout time.Duration
}

// defaultPrompts are everyday requests that the quickstart routes to
// different decisions, none of them blocked, so each reaches the backend.
var defaultPrompts = []string{
	"Please debug this function, it returns nil for empty input",
	"How do I install this package on Debian?",
	"Tell me a short story about a lighthouse keeper",
	"Prove that the square root of two is irrational, step by step",
	"What is the capital of Australia?",
	"Refactor this loop to avoid allocating on every iteration",
	"Summarise the causes of the French Revolution in three sentences",
	"Explain the difference between a mutex and a semaphore",
	"Give me a recipe for a vegetarian lasagne",
	"Derive the closed form of the sum of the first n squares",
	"Where can I find the setup instructions for the command line tool?",
	"Write a haiku about autumn rain",
}

// Run starts the backend and the router, measures, stops both and
// returns the figures.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	rep := &Report{Config: o.ConfigPath, Requests: o.Requests, Concurrency: o.Concurrency, Duration: o.Duration,
		Samples: o.Samples, KeepCache: o.KeepCache, Machine: readMachine(), At: time.Now()}

	// The backend, on a socket we keep.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for devllm: %w", err)
	}
	backend := &http.Server{Handler: devllm.New(devllm.Options{Name: "bench"}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = backend.Serve(ln) }()
	defer backend.Close()

	workDir := o.WorkDir
	if workDir == "" {
		if workDir, err = os.MkdirTemp("", "semrouter-bench-"); err != nil {
			return nil, fmt.Errorf("create work dir: %w", err)
		}
		defer os.RemoveAll(workDir)
	}
	src, err := os.ReadFile(o.ConfigPath)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	apiPort, err := freePort()
	if err != nil {
		return nil, err
	}
	natsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg, err := rewriteConfig(src, ln.Addr().String(), apiPort, o.KeepCache)
	if err != nil {
		return nil, err
	}
	rep.DroppedCachePlugins = cfg.CachePlugins
	cfgPath := filepath.Join(workDir, "bench-config.yaml")
	if err := os.WriteFile(cfgPath, cfg.YAML, 0o600); err != nil {
		return nil, fmt.Errorf("write config: %w", err)
	}

	// The router, in this process.
	runCtx, stop := context.WithCancel(ctx)
	ready := make(chan serve.Info, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve.Run(runCtx, serve.Options{
			ConfigPath: cfgPath, DataDir: filepath.Join(workDir, "data"),
			NATSAddr:       "127.0.0.1:" + strconv.Itoa(natsPort),
			ManagementAddr: "off", XDSAddr: "off", ExtProcAddr: "off", MetricsAddr: "off",
			ModelsDir: o.ModelsDir, GuardDir: o.GuardDir, DomainHeadDir: o.DomainHeadDir,
			Logger: o.Logger, Ready: func(i serve.Info) { ready <- i },
		})
	}()
	shutdown := func() error {
		stop()
		return <-done
	}
	var info serve.Info
	select {
	case info = <-ready:
	case err := <-done:
		stop()
		return nil, fmt.Errorf("start router: %w", err)
	case <-time.After(o.ReadyTimeout):
		_ = shutdown()
		return nil, fmt.Errorf("start router: not ready after %v", o.ReadyTimeout)
	case <-ctx.Done():
		_ = shutdown()
		return nil, ctx.Err()
	}

	err = o.measure(ctx, info, "http://127.0.0.1:"+strconv.Itoa(apiPort), "http://"+ln.Addr().String(), cfg.DefaultModel, rep)
	if serr := shutdown(); serr != nil && err == nil {
		err = fmt.Errorf("stop router: %w", serr)
	}
	if err != nil {
		return nil, err
	}
	rep.Machine.LoadAfter = loadAverage()
	return rep, nil
}

func (o *Options) defaults() error {
	if o.ConfigPath == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		root, err := repoRoot(wd)
		if err != nil {
			return fmt.Errorf("default config: %w (pass --config)", err)
		}
		o.ConfigPath = filepath.Join(root, "config", "quickstart.yaml")
	}
	if o.Requests == 0 {
		o.Requests = 2000
	}
	if o.Concurrency == 0 {
		o.Concurrency = 16
	}
	if o.Duration == 0 {
		o.Duration = time.Minute
	}
	if o.Samples == 0 {
		o.Samples = min(o.Requests, 200)
	}
	if o.Requests < 1 || o.Concurrency < 1 || o.Duration < 0 || o.Samples < 1 {
		return fmt.Errorf("loadtest: requests %d, concurrency %d, samples %d must be positive and duration %v not negative",
			o.Requests, o.Concurrency, o.Samples, o.Duration)
	}
	if len(o.Prompts) == 0 {
		o.Prompts = defaultPrompts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 3 * time.Minute
	}
	return nil
}

// measure runs the phases against a ready router.
func (o *Options) measure(ctx context.Context, info serve.Info, routerURL, backendURL, directModel string, rep *Report) error {
	rep.Machine.LoadBefore = loadAverage()
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
		MaxIdleConnsPerHost: 4 * o.Concurrency, IdleConnTimeout: time.Minute,
	}}
	routed := &side{client: client, url: routerURL + "/v1/chat/completions", model: "auto", routed: true}
	direct := &side{client: client, url: backendURL + "/v1/chat/completions", model: directModel}

	// The classifier may still compile its first revision when serve
	// reports ready: wait for a routed answer that is not degraded.
	fmt.Fprintf(o.Progress, "waiting for an undegraded routed answer\n")
	if err := waitRouted(ctx, routed, o.Prompts[0], o.ReadyTimeout); err != nil {
		return err
	}

	nc, err := nats.Connect(info.NATSURL, nats.Name("semrouter-bench"))
	if err != nil {
		return fmt.Errorf("connect to NATS: %w", err)
	}
	defer nc.Close()
	emb := natsstages.NewEmbedder(nc, "", 0)
	embed := func(ctx context.Context, prompt string) error {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		_, err := emb.Embed(ctx, []string{prompt})
		return err
	}

	// Warm-up: every prompt once per path.
	for _, p := range o.Prompts {
		if _, err := direct.do(ctx, p); err != nil {
			return fmt.Errorf("warm up direct: %w", err)
		}
		if _, err := routed.do(ctx, p); err != nil {
			return fmt.Errorf("warm up routed: %w", err)
		}
		if err := embed(ctx, p); err != nil {
			return fmt.Errorf("warm up embed: %w", err)
		}
	}
	routed.reset()

	fmt.Fprintf(o.Progress, "sequential: %d × (direct, routed, embed)\n", o.Samples)
	seq := sequentialResult{}
	for i := range o.Samples {
		p := o.Prompts[i%len(o.Prompts)]
		d, err := direct.do(ctx, p)
		if err != nil {
			return fmt.Errorf("sequential direct: %w", err)
		}
		r, err := routed.do(ctx, p)
		if err != nil {
			return fmt.Errorf("sequential routed: %w", err)
		}
		start := time.Now()
		if err := embed(ctx, p); err != nil {
			return fmt.Errorf("sequential embed: %w", err)
		}
		seq.direct = append(seq.direct, d)
		seq.routed = append(seq.routed, r)
		seq.embed = append(seq.embed, time.Since(start))
		seq.added = append(seq.added, r-d)
	}
	rep.Sequential = seq.summary(routed.counts())
	rep.EmbedModel = emb.ResolvedModel()
	routed.reset()

	fmt.Fprintf(o.Progress, "closed loop, direct: %d requests or %v, concurrency %d\n", o.Requests, o.Duration, o.Concurrency)
	dl, err := closedLoop(ctx, direct, o.Prompts, o.Requests, o.Concurrency, o.Duration)
	if err != nil {
		return fmt.Errorf("closed loop direct: %w", err)
	}
	fmt.Fprintf(o.Progress, "closed loop, routed: %d requests or %v, concurrency %d\n", o.Requests, o.Duration, o.Concurrency)
	rl, err := closedLoop(ctx, routed, o.Prompts, o.Requests, o.Concurrency, o.Duration)
	if err != nil {
		return fmt.Errorf("closed loop routed: %w", err)
	}
	rep.Load = loadSummary{Direct: dl, Routed: rl, RoutedCounts: routed.counts()}
	return nil
}

// side is one path under test.
type side struct {
	client *http.Client
	url    string
	model  string
	routed bool
	// degraded and cached count routed answers with x-vsr-degraded and
	// answers that did not come from the backend.
	degraded, notUpstream atomic.Int64
}

func (s *side) reset() { s.degraded.Store(0); s.notUpstream.Store(0) }

func (s *side) counts() routedCounts {
	return routedCounts{Degraded: int(s.degraded.Load()), NotUpstream: int(s.notUpstream.Load())}
}

// do sends one chat completion and returns its duration (send to last
// byte); any answer but a 200 completion is an error.
func (s *side) do(ctx context.Context, prompt string) (time.Duration, error) {
	body, err := json.Marshal(map[string]any{"model": s.model, "messages": []map[string]string{{"role": "user", "content": prompt}}})
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d: %.200s", resp.StatusCode, out)
	}
	if s.routed {
		if resp.Header.Get("x-vsr-degraded") != "" {
			s.degraded.Add(1)
		}
		if resp.Header.Get("x-devllm-backend") == "" {
			s.notUpstream.Add(1)
		}
	}
	return d, nil
}

// waitRouted polls until a routed answer arrives without x-vsr-degraded.
func waitRouted(ctx context.Context, s *side, prompt string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		s.reset()
		_, err := s.do(ctx, prompt)
		if err == nil && s.degraded.Load() == 0 {
			s.reset()
			return nil
		}
		if err == nil {
			err = errors.New("answer was degraded")
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the router to route: %w (last: %v)", ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// closedLoop runs workers that each send the next request as soon as the
// previous one answered, until n requests were sent or d elapsed.
func closedLoop(ctx context.Context, s *side, prompts []string, n, workers int, d time.Duration) (phase, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	deadline := time.Now().Add(d)
	var (
		next atomic.Int64
		mu   sync.Mutex
		all  []time.Duration
		wg   sync.WaitGroup
	)
	start := time.Now()
	for range workers {
		wg.Go(func() {
			var mine []time.Duration
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || time.Now().After(deadline) || ctx.Err() != nil {
					break
				}
				dur, err := s.do(ctx, prompts[int(i)%len(prompts)])
				if err != nil {
					cancel(err)
					break
				}
				mine = append(mine, dur)
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := context.Cause(ctx); err != nil {
		return phase{}, err
	}
	return phase{Count: len(all), Elapsed: elapsed, P50: quantile(all, 0.5), P99: quantile(all, 0.99)}, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
