package apimode_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/looper"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// arenaLLM is a FAKE LLM backend (no model server runs here): it answers
// non-streaming chat completions with "answer from <name>" and a usage
// of its own (prompt 10×k, completion k for the k-th backend), with a
// tool call when the request offers tools and the backend calls them, or
// with an error status. With a gate it holds every request until the
// test releases it, so the test sees how many are in flight at once.
type arenaLLM struct {
	name   string
	k      int
	srv    *httptest.Server
	gate   *inflightGate
	mu     sync.Mutex
	status int  // 0: answer
	tools  bool // call the first offered tool
	reqs   []map[string]any
	hdrs   []http.Header
}

// inflightGate records the peak number of requests in flight over all
// the backends that share it; entered reports each request arriving and
// release lets one go.
type inflightGate struct {
	mu       sync.Mutex
	inflight int
	peak     int
	entered  chan string
	release  chan struct{}
}

func newInflightGate() *inflightGate {
	return &inflightGate{entered: make(chan string), release: make(chan struct{})}
}

func (g *inflightGate) hold(ctx context.Context, name string) {
	g.mu.Lock()
	g.inflight++
	g.peak = max(g.peak, g.inflight)
	g.mu.Unlock()
	select {
	case g.entered <- name:
		select {
		case <-g.release:
		case <-ctx.Done():
		}
	case <-ctx.Done():
	}
	// Leave before answering: the router frees the slot only after the
	// answer, so the next call cannot enter before this one left.
	g.mu.Lock()
	g.inflight--
	g.mu.Unlock()
}

func (g *inflightGate) peakSeen() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.peak
}

func newArenaLLM(t *testing.T, name string, k int, gate *inflightGate) *arenaLLM {
	f := &arenaLLM{name: name, k: k, gate: gate}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *arenaLLM) set(status int, tools bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.tools = status, tools
}

func (f *arenaLLM) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	f.mu.Lock()
	f.reqs = append(f.reqs, body)
	f.hdrs = append(f.hdrs, r.Header.Clone())
	status, tools := f.status, f.tools
	f.mu.Unlock()
	if f.gate != nil {
		f.gate.hold(r.Context(), f.name)
	}
	w.Header().Set("Content-Type", "application/json")
	if status != 0 {
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"message":"%s is down","type":"server_error"}}`, f.name)
		return
	}
	msg := fmt.Sprintf(`{"role":"assistant","content":"answer from %s"}`, f.name)
	finish := "stop"
	if offered, _ := body["tools"].([]any); tools && len(offered) > 0 {
		fn, _ := offered[0].(map[string]any)["function"].(map[string]any)
		msg = fmt.Sprintf(`{"role":"assistant","content":null,"tool_calls":[{"id":"call_%s","type":"function","function":{"name":%q,"arguments":"{}"}}]}`, f.name, fn["name"])
		finish = "tool_calls"
	}
	fmt.Fprintf(w, `{"id":"c-%[1]s","object":"chat.completion","created":1,"model":"%[1]s-v1","choices":[{"index":0,"message":%[2]s,"finish_reason":%[3]q}],"usage":{"prompt_tokens":%[4]d,"completion_tokens":%[5]d,"total_tokens":%[6]d}}`,
		f.name, msg, finish, 10*f.k, f.k, 11*f.k)
}

func (f *arenaLLM) requests() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

const ratingsConfig = `version: v0.3
listeners: [{name: http, port: 8899}]
providers:
  defaults: {default_model: a}
  models:
    - {name: a, backend_refs: [{name: a, endpoint: "A"}]}
    - {name: b, backend_refs: [{name: b, endpoint: "B", api_key: b-key}]}
    - {name: c, backend_refs: [{name: c, endpoint: "C"}]}
routing:
  signals:
    keywords: [{name: kw, keywords: [x]}]
  decisions:
    - name: arena
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: a}, {model: b}, {model: c}]
      algorithm: {type: ratings}
      plugins:
        - {type: router_replay, configuration: {enabled: true}}
    - name: strict
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: a}, {model: b}, {model: c}]
      algorithm: {type: ratings, ratings: {on_error: fail}}
    - name: paced
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: a}, {model: b}, {model: c}]
      algorithm: {type: ratings, ratings: {max_concurrent: 2, on_error: skip}}
    - name: cached
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: a}, {model: b}, {model: c}]
      algorithm: {type: ratings}
`

// exactCache is a cache FAKE (the cache service is another module): an
// exact-match map by partition and query.
type exactCache struct {
	mu      sync.Mutex
	entries map[string][]byte
}

var _ gateway.Cache = (*exactCache)(nil)

func exactKey(p gateway.CachePartition, query string) string {
	return strings.Join([]string{p.Recipe, p.Decision, p.Model, p.Scope, p.ScopeID, p.Revision, query}, "\x00")
}

func (c *exactCache) Lookup(_ context.Context, q *gateway.CacheQuery) ([]gateway.CachedResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.entries[exactKey(q.Partition, q.Query)]; ok {
		return []gateway.CachedResponse{{Decision: q.Decision, Exact: true, Similarity: 1, Body: b}}, nil
	}
	return nil, nil
}

func (c *exactCache) Store(_ context.Context, e *gateway.CacheEntry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[exactKey(e.Partition, e.Query)] = e.Body
	return nil
}

type ratingsEnv struct {
	e       *apimode.E2E
	a, b, c *arenaLLM
	reg     *prometheus.Registry
	gate    *inflightGate
}

// newRatingsEnv serves ratingsConfig over three arena backends (sharing
// gate when not nil); the decision "cached" stores its answers in a cache
// FAKE (exactCache; the cache service is another module).
func newRatingsEnv(t *testing.T, gate *inflightGate) *ratingsEnv {
	t.Helper()
	env := &ratingsEnv{reg: prometheus.NewRegistry(), gate: gate}
	env.a, env.b, env.c = newArenaLLM(t, "a", 1, gate), newArenaLLM(t, "b", 2, gate), newArenaLLM(t, "c", 3, gate)
	yaml := strings.NewReplacer("\"A\"", `"`+env.a.srv.Listener.Addr().String()+`"`, "\"B\"", `"`+env.b.srv.Listener.Addr().String()+`"`,
		"\"C\"", `"`+env.c.srv.Listener.Addr().String()+`"`).Replace(ratingsConfig)
	spec := apimode.SpecFromYAML(t, yaml, "ratings e2e", func(p config.Problem) bool {
		return p.Severity == config.SeverityError || strings.Contains(p.Message, "not supported")
	}, nil)
	for i := range spec.Decisions {
		if spec.Decisions[i].Name == "cached" {
			spec.Decisions[i].Plugins.ResponseCache = &routes.ResponseCachePlugin{Enabled: true, SimilarityThreshold: 0.9, TTL: time.Minute}
		}
	}
	m, err := metrics.NewGateway(env.reg)
	if err != nil {
		t.Fatal(err)
	}
	env.e = apimode.StartE2E(t, spec, gateway.Stages{Classifier: decisionClassifier{}, Cache: &exactCache{entries: map[string][]byte{}}},
		apimode.E2EOptions{Options: []apimode.Option{apimode.WithUpstreamObserver(m)}})
	return env
}

func (env *ratingsEnv) calls(t *testing.T, model, outcome string) float64 {
	t.Helper()
	le := &looperEnv{reg: env.reg}
	return le.counter(t, metrics.GatewayLooperCalls, map[string]string{"algorithm": looper.Ratings, "model": model, "outcome": outcome})
}

// choiceModel is the "model" field the router adds to a choice.
func choiceModel(c openai.ChatCompletionChoice) string {
	var s string
	_ = json.Unmarshal([]byte(c.JSON.ExtraFields["model"].Raw()), &s)
	return s
}

// TestRatingsSideBySide: the OpenAI SDK gets one choice per model of a
// ratings decision, in modelRefs order, each naming its model, with the
// usage summed; a failed model is left out (skip) or fails the request
// (fail); every sub-call is counted and named in the headers.
func TestRatingsSideBySide(t *testing.T) {
	for _, tc := range []struct {
		name        string
		decision    string
		status      [3]int // of a, b, c (0: answers)
		wantModels  []string
		wantStatus  int
		wantUsage   [3]int64
		wantOutcome [3]string
	}{
		{name: "three models, three choices", decision: "arena", wantModels: []string{"a", "b", "c"},
			wantUsage: [3]int64{60, 6, 66}, wantOutcome: [3]string{"ok", "ok", "ok"}},
		{name: "skip leaves the failing model out", decision: "arena", status: [3]int{0, 503, 0}, wantModels: []string{"a", "c"},
			wantUsage: [3]int64{40, 4, 44}, wantOutcome: [3]string{"ok", "failed", "ok"}},
		{name: "skip serves the first model that answered", decision: "arena", status: [3]int{500, 0, 0}, wantModels: []string{"b", "c"},
			wantUsage: [3]int64{50, 5, 55}, wantOutcome: [3]string{"failed", "ok", "ok"}},
		{name: "fail fails the request", decision: "strict", status: [3]int{0, 503, 0}, wantStatus: http.StatusServiceUnavailable,
			wantOutcome: [3]string{"ok", "failed", "ok"}},
		{name: "all failing is an error", decision: "arena", status: [3]int{500, 502, 503}, wantStatus: http.StatusServiceUnavailable,
			wantOutcome: [3]string{"failed", "failed", "failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newRatingsEnv(t, nil)
			for i, f := range []*arenaLLM{env.a, env.b, env.c} {
				f.set(tc.status[i], false)
			}
			var resp *http.Response
			c, err := env.e.Client.Chat.Completions.New(context.Background(), ask(tc.decision), option.WithResponseInto(&resp))
			if got := resp.Header.Get(apimode.HeaderLooperModels); got != "a,b,c" {
				t.Errorf("%s = %q, want every modelRef", apimode.HeaderLooperModels, got)
			}
			if got := resp.Header.Get(apimode.HeaderLooperAlgorithm); got != looper.Ratings {
				t.Errorf("%s = %q", apimode.HeaderLooperAlgorithm, got)
			}
			for i, m := range []string{"a", "b", "c"} {
				if n := len([]*arenaLLM{env.a, env.b, env.c}[i].requests()); n != 1 {
					t.Errorf("%s got %d requests, want 1", m, n)
				}
				if got := env.calls(t, m, tc.wantOutcome[i]); got != 1 {
					t.Errorf("%s{model=%s,outcome=%s} = %v, want 1", metrics.GatewayLooperCalls, m, tc.wantOutcome[i], got)
				}
			}
			if tc.wantStatus != 0 {
				var apiErr *openai.Error
				if !errors.As(err, &apiErr) || apiErr.StatusCode != tc.wantStatus {
					t.Fatalf("error %v, want status %d", err, tc.wantStatus)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Model != strings.Join(tc.wantModels, ",") {
				t.Errorf("model %q, want %q", c.Model, strings.Join(tc.wantModels, ","))
			}
			if len(c.Choices) != len(tc.wantModels) {
				t.Fatalf("%d choices, want %d: %s", len(c.Choices), len(tc.wantModels), c.RawJSON())
			}
			for i, ch := range c.Choices {
				m := tc.wantModels[i]
				if ch.Index != int64(i) || choiceModel(ch) != m || ch.Message.Content != "answer from "+m || ch.FinishReason != "stop" {
					t.Errorf("choice %d: index %d model %q content %q finish %q, want %s's", i, ch.Index, choiceModel(ch), ch.Message.Content, ch.FinishReason, m)
				}
			}
			if u := c.Usage; [3]int64{u.PromptTokens, u.CompletionTokens, u.TotalTokens} != tc.wantUsage {
				t.Errorf("usage %d/%d/%d, want %v", u.PromptTokens, u.CompletionTokens, u.TotalTokens, tc.wantUsage)
			}
			if got := resp.Header.Get("x-vsr-selected-model"); got != tc.wantModels[0] {
				t.Errorf("x-vsr-selected-model = %q, want %q", got, tc.wantModels[0])
			}
			// every sub-call is the client's request, non-streaming, with
			// the backend's credentials
			for _, r := range env.b.requests() {
				if r["stream"] != nil || r["logprobs"] != nil {
					t.Errorf("sub-call body %v", r)
				}
			}
			env.b.mu.Lock()
			auth := env.b.hdrs[0].Get("Authorization")
			env.b.mu.Unlock()
			if auth != "Bearer b-key" {
				t.Errorf("b's sub-call carries Authorization %q", auth)
			}
		})
	}
}

// TestRatingsMaxConcurrent: max_concurrent bounds the sub-calls in
// flight. The fake backends hold each request until the test releases
// it; the test releases one only after the bound is full, so the peak
// reaches the bound, and a sub-call past the bound shows as a higher peak.
func TestRatingsMaxConcurrent(t *testing.T) {
	for _, tc := range []struct {
		name     string
		decision string
		wantPeak int
	}{
		{"max_concurrent 2", "paced", 2},
		{"unset: every model at once", "arena", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newRatingsEnv(t, newInflightGate())
			type answer struct {
				c   *openai.ChatCompletion
				err error
			}
			done := make(chan answer, 1)
			go func() {
				c, err := env.e.Client.Chat.Completions.New(context.Background(), ask(tc.decision))
				done <- answer{c, err}
			}()
			for range tc.wantPeak {
				<-env.gate.entered
			}
			for i := range 3 {
				env.gate.release <- struct{}{}
				if i+tc.wantPeak < 3 {
					<-env.gate.entered // the freed slot goes to the next model
				}
			}
			got := <-done
			if got.err != nil {
				t.Fatal(got.err)
			}
			if peak := env.gate.peakSeen(); peak != tc.wantPeak {
				t.Errorf("peak sub-calls in flight %d, want %d", peak, tc.wantPeak)
			}
			if len(got.c.Choices) != 3 || got.c.Model != "a,b,c" {
				t.Errorf("answer %s", got.c.RawJSON())
			}
		})
	}
}

// TestRatingsStreaming: a streaming client gets every choice through the
// SDK's stream accumulator, each chunk's choices naming their model, and
// the summed usage when it asked for it.
func TestRatingsStreaming(t *testing.T) {
	for _, tc := range []struct {
		name      string
		withUsage bool
	}{{"without usage", false}, {"with include_usage", true}} {
		t.Run(tc.name, func(t *testing.T) {
			env := newRatingsEnv(t, nil)
			env.b.set(503, false)
			p := ask("arena")
			if tc.withUsage {
				p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			}
			var resp *http.Response
			s := env.e.Client.Chat.Completions.NewStreaming(context.Background(), p, option.WithResponseInto(&resp))
			var acc openai.ChatCompletionAccumulator
			seen := map[int64]string{} // choice index → model named in its chunks
			usageChunks := 0
			for s.Next() {
				ch := s.Current()
				if !acc.AddChunk(ch) {
					t.Fatalf("accumulator refused chunk %s", ch.RawJSON())
				}
				for _, c := range ch.Choices {
					var m string
					_ = json.Unmarshal([]byte(c.JSON.ExtraFields["model"].Raw()), &m)
					if prev, ok := seen[c.Index]; ok && prev != m {
						t.Errorf("choice %d named %q and %q", c.Index, prev, m)
					}
					seen[c.Index] = m
				}
				if ch.Usage.TotalTokens > 0 {
					usageChunks++
				}
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
				t.Errorf("content-type %q", ct)
			}
			if got := resp.Header.Get(apimode.HeaderLooperModels); got != "a,b,c" {
				t.Errorf("%s = %q", apimode.HeaderLooperModels, got)
			}
			want := []string{"a", "c"}
			if len(acc.Choices) != len(want) || acc.Model != "a,c" {
				t.Fatalf("accumulated %d choices, model %q", len(acc.Choices), acc.Model)
			}
			for i, m := range want {
				ch := acc.Choices[i]
				if ch.Message.Content != "answer from "+m || ch.FinishReason != "stop" || seen[int64(i)] != m {
					t.Errorf("choice %d: content %q finish %q model %q, want %s's", i, ch.Message.Content, ch.FinishReason, seen[int64(i)], m)
				}
			}
			wantUsage := 0
			if tc.withUsage {
				wantUsage = 1
				if u := acc.Usage; u.PromptTokens != 40 || u.CompletionTokens != 4 || u.TotalTokens != 44 {
					t.Errorf("usage %+v, want 40/4/44", u)
				}
			}
			if usageChunks != wantUsage {
				t.Errorf("%d usage chunks, want %d", usageChunks, wantUsage)
			}
			for _, r := range env.a.requests() {
				if r["stream"] != nil || r["stream_options"] != nil {
					t.Errorf("sub-call streams: %v", r)
				}
			}
		})
	}
}

// TestRatingsToolCalls: the request's tools reach every model, and a
// model's tool calls come back in its own choice.
func TestRatingsToolCalls(t *testing.T) {
	env := newRatingsEnv(t, nil)
	env.b.set(0, true)
	p := ask("arena")
	p.Tools = []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
		Name: "get_weather", Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{}}})}
	c, err := env.e.Client.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Choices) != 3 {
		t.Fatalf("%d choices: %s", len(c.Choices), c.RawJSON())
	}
	b := c.Choices[1]
	if choiceModel(b) != "b" || b.FinishReason != "tool_calls" || len(b.Message.ToolCalls) != 1 ||
		b.Message.ToolCalls[0].Function.Name != "get_weather" || b.Message.ToolCalls[0].ID != "call_b" {
		t.Errorf("b's choice %s", b.RawJSON())
	}
	if a := c.Choices[0]; len(a.Message.ToolCalls) != 0 || a.Message.Content != "answer from a" {
		t.Errorf("a's choice %s", a.RawJSON())
	}
	for _, f := range []*arenaLLM{env.a, env.b, env.c} {
		if r := f.requests(); len(r) != 1 || r[0]["tools"] == nil {
			t.Errorf("%s's sub-call lacks the tools: %v", f.name, r)
		}
	}
}

// TestRatingsReplayAndCache: the replay record names the algorithm and
// the models called; a decision with the response cache stores the
// multi-choice answer and serves it again, JSON or streamed, without
// calling the models.
func TestRatingsReplayAndCache(t *testing.T) {
	env := newRatingsEnv(t, nil)
	if _, err := env.e.Client.Chat.Completions.New(context.Background(), ask("arena")); err != nil {
		t.Fatal(err)
	}
	code, body := getReplay(t, env.e.URL+apimode.PathRouterReplay+"?decision=arena", "")
	var list replayList
	if err := json.Unmarshal(body, &list); code != http.StatusOK || err != nil || len(list.Data) != 1 {
		t.Fatalf("replay: %d %v %s", code, err, body)
	}
	if r := list.Data[0]; r.Algorithm != looper.Ratings || !slices.Equal(r.LooperModels, []string{"a", "b", "c"}) {
		t.Errorf("replay record: algorithm %q looper models %v", r.Algorithm, r.LooperModels)
	}

	first, err := env.e.Client.Chat.Completions.New(context.Background(), ask("cached"))
	if err != nil {
		t.Fatal(err)
	}
	env.e.Gateway.Wait() // the cache store runs in the background
	var resp *http.Response
	again, err := env.e.Client.Chat.Completions.New(context.Background(), ask("cached"), option.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Header.Get("x-vsr-cache-hit"); got != "true" {
		t.Errorf("x-vsr-cache-hit = %q, want a cache hit", got)
	}
	if len(again.Choices) != 3 || again.Model != first.Model || choiceModel(again.Choices[2]) != "c" {
		t.Errorf("cached answer %s", again.RawJSON())
	}
	s := env.e.Client.Chat.Completions.NewStreaming(context.Background(), ask("cached"))
	var acc openai.ChatCompletionAccumulator
	for s.Next() {
		acc.AddChunk(s.Current())
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if len(acc.Choices) != 3 || acc.Choices[1].Message.Content != "answer from b" {
		t.Errorf("streamed cache hit: %d choices", len(acc.Choices))
	}
	for _, f := range []*arenaLLM{env.a, env.b, env.c} {
		if n := len(f.requests()); n != 2 { // arena once, cached once
			t.Errorf("%s got %d requests, want 2", f.name, n)
		}
	}
}
