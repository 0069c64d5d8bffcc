package apimode_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"

	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/pkg/redistest"
	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
	"github.com/semrouter/semrouter/services/gateway-extproc/embedtest"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

const memoryConfig = apimode.KeywordDocHead + `    - name: mem
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: memory
          configuration:
            enabled: true
            retrieval_limit: 3
            similarity_threshold: 0.3
            auto_store: true
            reflection:
              enabled: true
              algorithm: recency_semantic
              max_inject_tokens: 256
              recency_decay_days: 14
              dedup_threshold: 0.9
              block_patterns: [password, "api key"]
    - name: off
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: memory
          configuration: {enabled: true, auto_store: true}
global:
  stores:
    memory:
      enabled: true
      backend: valkey
      disabled_routes: ["off"]
      valkey: {host: 127.0.0.1, port: REDISPORT, timeout: 2, collection_prefix: "mem:"}
`

// TestMemoryThroughAPIMode stores and retrieves a user's memories through
// API mode with the OpenAI SDK, a real redis-server and the real USE-Lite
// embedder; the LLM backend is a FAKE (newRecordingLLM) and so is the
// classifier (sentenceClassifier).
func TestMemoryThroughAPIMode(t *testing.T) {
	rs := redistest.Start(t)
	_, port, _ := net.SplitHostPort(rs.Addr)
	llm := newRecordingLLM(t)
	doc := strings.NewReplacer("BACKEND", llm.srv.Listener.Addr().String(), "REDISPORT", port).Replace(memoryConfig)
	spec := apimode.SpecFromYAML(t, doc, "memory e2e", apimode.PluginProblem, nil)
	spec.StageTimeout = 30 * time.Second // a slow CI machine must not degrade the loopback store
	reg := prometheus.NewRegistry()
	gm, err := metrics.NewGateway(reg)
	if err != nil {
		t.Fatal(err)
	}
	e := apimode.StartE2E(t, spec, gateway.Stages{Classifier: sentenceClassifier{}, Embedder: embedtest.UseLite(t)},
		apimode.E2EOptions{GatewayOptions: []gateway.Option{gateway.WithMetrics(gm)}})
	rdb := goredis.NewClient(&goredis.Options{Addr: rs.Addr})
	defer rdb.Close()
	ctx := context.Background()
	ask := func(t *testing.T, user, text string) *http.Response {
		t.Helper()
		var resp *http.Response
		opts := []option.RequestOption{option.WithResponseInto(&resp)}
		if user != "" {
			opts = append(opts, option.WithHeader("x-authz-user-id", user))
		}
		_, err := e.Client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "auto",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		e.Gateway.Wait() // the background store of auto_store
		return resp
	}
	system := func(t *testing.T) string {
		t.Helper()
		m := llm.last(t)["messages"].([]any)[0].(map[string]any)
		if m["role"] != "system" {
			return ""
		}
		return m["content"].(string)
	}
	stored := func(t *testing.T, user string) []string {
		t.Helper()
		m, err := rdb.HGetAll(ctx, "mem:"+user).Result()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range m {
			out = append(out, v)
		}
		return out
	}

	t.Run("first request stores the user's facts", func(t *testing.T) {
		resp := ask(t, "alice", "mem. My name is Ada and I work on compilers written in Rust.")
		if got := resp.Header.Get("x-vsr-memory"); got != "0" {
			t.Errorf("x-vsr-memory %q, want 0 (nothing stored yet)", got)
		}
		if s := stored(t, "alice"); len(s) != 1 || !strings.Contains(s[0], "My name is Ada and I work on compilers written in Rust.") {
			t.Fatalf("stored %q", s)
		}
	})
	t.Run("a later request of the same user gets them", func(t *testing.T) {
		resp := ask(t, "alice", "mem. Which programming language do my compilers use?")
		if got := resp.Header.Get("x-vsr-memory"); got != "1" {
			t.Errorf("x-vsr-memory %q, want 1", got)
		}
		if sys := system(t); !strings.Contains(sys, "<user_memory>") || !strings.Contains(sys, "- My name is Ada and I work on compilers written in Rust.") {
			t.Errorf("system message %q", sys)
		}
	})
	t.Run("another user does not see them", func(t *testing.T) {
		resp := ask(t, "bob", "mem. Which programming language do my compilers use?")
		if got := resp.Header.Get("x-vsr-memory"); got != "0" {
			t.Errorf("x-vsr-memory %q, want 0", got)
		}
		if sys := system(t); sys != "" {
			t.Errorf("bob got a system message %q", sys)
		}
	})
	t.Run("anonymous requests neither read nor store", func(t *testing.T) {
		resp := ask(t, "", "mem. My name is Eve. Which programming language do my compilers use?")
		if got := resp.Header.Get("x-vsr-memory"); got != "" {
			t.Errorf("x-vsr-memory %q, want none", got)
		}
		if sys := system(t); sys != "" {
			t.Errorf("anonymous request got a system message %q", sys)
		}
		if n, _ := rdb.Keys(ctx, "mem:*").Result(); len(n) != 1 {
			t.Errorf("keys %q, want only mem:alice", n)
		}
	})
	t.Run("block_patterns are never stored", func(t *testing.T) {
		ask(t, "alice", "mem. My password is hunter2.")
		if s := stored(t, "alice"); len(s) != 1 {
			t.Errorf("stored %q", s)
		}
	})
	t.Run("near-duplicates are not stored twice", func(t *testing.T) {
		ask(t, "alice", "mem. My name is Ada and I work on compilers written in Rust!")
		if s := stored(t, "alice"); len(s) != 1 {
			t.Errorf("stored %q", s)
		}
		ask(t, "alice", "mem. I live in Lyon with two cats.")
		if s := stored(t, "alice"); len(s) != 2 {
			t.Errorf("a new fact was not stored: %q", s)
		}
	})
	t.Run("similarity picks the relevant memory", func(t *testing.T) {
		// USE-Lite cosines: the compilers question is 0.62 from the Ada
		// memory and 0.10 from the Lyon one; "Where do I live?" 0.35 and 0.16.
		ask(t, "alice", "mem. Which programming language do my compilers use?")
		if sys := system(t); !strings.Contains(sys, "Ada") || strings.Contains(sys, "Lyon") {
			t.Errorf("compilers question got %q", sys)
		}
		ask(t, "alice", "mem. Where do I live?")
		if sys := system(t); !strings.Contains(sys, "Lyon") || strings.Contains(sys, "Ada") {
			t.Errorf("where-do-I-live question got %q", sys)
		}
	})
	t.Run("disabled_routes", func(t *testing.T) {
		resp := ask(t, "alice", "off. I prefer tea over coffee.")
		if got := resp.Header.Get("x-vsr-memory"); got != "" {
			t.Errorf("x-vsr-memory %q on a disabled route", got)
		}
		if s := stored(t, "alice"); len(s) != 2 {
			t.Errorf("a disabled route stored: %q", s)
		}
	})
	t.Run("DELETE /v1/memories forgets the caller", func(t *testing.T) {
		del := func(user string) (int, string) {
			req, _ := http.NewRequest(http.MethodDelete, e.URL+apimode.PathMemories, nil)
			if user != "" {
				req.Header.Set("x-authz-user-id", user)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if code, body := del(""); code != http.StatusForbidden {
			t.Errorf("anonymous delete: %d %s", code, body)
		}
		if code, body := del("alice"); code != http.StatusOK || body != `{"object":"memories.deleted","user":"alice","deleted":2}` {
			t.Errorf("delete: %d %s", code, body)
		}
		if s := stored(t, "alice"); len(s) != 0 {
			t.Errorf("still stored: %q", s)
		}
	})
	t.Run("redis down degrades", func(t *testing.T) {
		rs.Stop()
		resp := ask(t, "alice", "mem. Which programming language do my compilers use?")
		if got := resp.Header.Get("x-vsr-degraded"); got != "memory" {
			t.Errorf("x-vsr-degraded %q, want memory", got)
		}
		if got := resp.Header.Get("x-vsr-memory"); got != "0" {
			t.Errorf("x-vsr-memory %q, want 0", got)
		}
		if sys := system(t); sys != "" {
			t.Errorf("degraded request got a system message %q", sys)
		}
		if v := counter(t, reg, "semrouter_gateway_stage_degraded_total", "stage", "memory"); v != 1 {
			t.Errorf("stage_degraded_total{stage=memory} = %v, want 1", v)
		}
	})
}

// sentenceClassifier is a FAKE classifier (the classifier service lives
// in another module): the user turn's first sentence ("mem.") names the
// decision.
type sentenceClassifier struct{}

func (sentenceClassifier) Classify(_ context.Context, r *gateway.RouteRequest) (*gateway.Decision, error) {
	name, _, _ := strings.Cut(r.Request.LastUserText(), ".")
	return &gateway.Decision{Name: name, Confidence: 1}, nil
}

// counter reads the counter name{label=value} from reg (0 when absent).
func counter(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
