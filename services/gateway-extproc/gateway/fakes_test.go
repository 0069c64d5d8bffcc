package gateway

// The stage implementations in these tests are small hand-written FAKES of
// the consumer interfaces (Embedder, Classifier, Cache, LatencyPublisher).
// The real NATS-backed services are wired in later by adapters.

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

type fakeEmbedder struct {
	err   error
	block bool
	calls int
	mu    sync.Mutex
}

func (f *fakeEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	if f.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if f.err != nil {
		return nil, f.err
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = []float32{float32(len(t)), 1}
	}
	return out, nil
}

// fakeClassifier returns dec (or err); block waits for the deadline and
// then answers anyway (a late answer).
type fakeClassifier struct {
	dec   *Decision
	err   error
	block bool
	mu    sync.Mutex
	seen  []*RouteRequest
}

func (f *fakeClassifier) Classify(ctx context.Context, req *RouteRequest) (*Decision, error) {
	f.mu.Lock()
	f.seen = append(f.seen, req)
	f.mu.Unlock()
	if f.block {
		<-ctx.Done()
		return f.dec, nil
	}
	return f.dec, f.err
}

func (f *fakeClassifier) last() *RouteRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.seen) == 0 {
		return nil
	}
	return f.seen[len(f.seen)-1]
}

// fakeCache answers hits/err; block waits for the deadline; stuck ignores
// the deadline entirely (until release is closed).
type fakeCache struct {
	hits    []CachedResponse
	err     error
	block   bool
	stuck   bool
	release chan struct{}
	mu      sync.Mutex
	stored  []*CacheEntry
	queries []*CacheQuery
}

func (f *fakeCache) Lookup(ctx context.Context, q *CacheQuery) ([]CachedResponse, error) {
	f.mu.Lock()
	f.queries = append(f.queries, q)
	f.mu.Unlock()
	if f.stuck {
		<-f.release
		return f.hits, nil
	}
	if f.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return f.hits, f.err
}

func (f *fakeCache) Store(ctx context.Context, e *CacheEntry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stored = append(f.stored, e)
	return nil
}

func (f *fakeCache) entries() []*CacheEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*CacheEntry(nil), f.stored...)
}

type fakeLatency struct {
	mu  sync.Mutex
	obs []*LatencyObservation
}

func (f *fakeLatency) PublishLatency(ctx context.Context, o *LatencyObservation) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.obs = append(f.obs, o)
	return nil
}

func (f *fakeLatency) all() []*LatencyObservation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*LatencyObservation(nil), f.obs...)
}

var (
	_ Embedder         = (*fakeEmbedder)(nil)
	_ Classifier       = (*fakeClassifier)(nil)
	_ Cache            = (*fakeCache)(nil)
	_ LatencyPublisher = (*fakeLatency)(nil)
)

var errStage = errors.New("stage unavailable")

// manualClock is an injected clock advanced explicitly by tests.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testSpec is a routes spec shaped like the reference config.
func testSpec() routes.Spec {
	return routes.Spec{
		Revision:               "r1",
		DefaultModel:           "qwen3-8b",
		DefaultReasoningEffort: "medium",
		NeedsEmbedding:         true,
		StageTimeout:           50 * time.Millisecond,
		ReasoningFamilies: map[string]routes.ReasoningFamily{
			"qwen3":   {Type: "chat_template_kwargs", Parameter: "enable_thinking"},
			"gpt":     {Type: "reasoning_effort", Parameter: "reasoning.effort"},
			"mistral": {Type: "top_level_reasoning_effort", Parameter: "reasoning_effort"},
		},
		Models: []routes.Model{
			{Name: "qwen3-8b", ProviderModelID: "qwen3-8b-instruct", ReasoningFamily: "qwen3",
				Backends: []routes.Backend{{Name: "a", Endpoint: "127.0.0.1:1", Weight: 1}}},
			{Name: "qwen3-32b", ProviderModelID: "qwen3-32b-instruct", ReasoningFamily: "gpt",
				Backends: []routes.Backend{{Name: "b", Endpoint: "127.0.0.1:2", Weight: 1}}},
			{Name: "plain", Backends: []routes.Backend{{Name: "c", Endpoint: "127.0.0.1:3", Weight: 1}}},
		},
		Entrypoints: []routes.Entrypoint{{ModelNames: []string{"vllm-sr/privacy"}, Recipe: "privacy-first"}},
		Decisions: []routes.Decision{
			{Name: "business", ModelRefs: []routes.ModelRef{{Model: "qwen3-8b"}},
				Plugins: routes.Plugins{
					SystemPrompt:  &routes.SystemPromptPlugin{Enabled: true, Mode: "insert", SystemPrompt: "You are a consultant."},
					ResponseCache: &routes.ResponseCachePlugin{Enabled: true, SimilarityThreshold: 0.82, TTL: time.Hour},
				}},
			{Name: "complex", ModelRefs: []routes.ModelRef{{Model: "qwen3-32b", UseReasoning: true}, {Model: "plain"}},
				Plugins: routes.Plugins{
					HeaderMutation: &routes.HeaderMutationPlugin{Add: []routes.Header{{Name: "X-Tenant-Tier", Value: "premium"}},
						Update: []routes.Header{{Name: "X-Route-Source", Value: "semantic-router"}}, Delete: []string{"X-Debug-Trace"}},
					RequestParams: &routes.RequestParamsPlugin{BlockedParams: []string{"logprobs"}, MaxTokensLimit: 100, MaxN: 1},
				}},
			{Name: "terse", ModelRefs: []routes.ModelRef{{Model: "qwen3-8b"}},
				Plugins: routes.Plugins{FastResponse: &routes.FastResponsePlugin{Message: "Busy: short answer."}}},
		},
	}
}
