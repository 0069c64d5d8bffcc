package apimode

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/redistest"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// stickyYAML routes decisions chat and code to models a and b (FAKE LLM
// backends A and B) with model switch protection on; STORE is replaced by
// the state_store block.
const stickyYAML = `version: v0.3
listeners: [{name: api, port: 8899}]
providers:
  defaults: {default_model: a}
  models:
    - name: a
      backend_refs: [{name: a, endpoint: "A"}]
    - name: b
      backend_refs: [{name: b, endpoint: "B"}]
routing:
  decisions:
    - name: chat
      rules: {operator: AND, conditions: []}
      modelRefs: [{model: a}, {model: b}]
    - name: code
      rules: {operator: AND, conditions: []}
      modelRefs: [{model: a}, {model: b}]
global:
  router:
    learning:
      enabled: true
      protection:
        enabled: true
        scope: conversation
        identity: {headers: {conversation: x-conversation-id, session: x-session-id}}
        tuning: {idle_timeout_seconds: 300, min_turns_before_switch: 2, switch_margin: 0.1, stability_weight: 1.0}
STORE
`

// alternating is a FAKE classifier (the real one runs in another
// module): its n-th answer selects models[n % len(models)], so that
// without protection every turn of a chat would switch models, under the
// decision and with the scores the test sets.
type alternating struct {
	mu       sync.Mutex
	n        int
	models   []string
	decision string
	scores   map[string]float64
}

func (c *alternating) Classify(context.Context, *gateway.RouteRequest) (*gateway.Decision, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.models[c.n%len(c.models)]
	c.n++
	return &gateway.Decision{Name: c.decision, Confidence: 0.9, Model: m, Scores: c.scores}, nil
}

func (c *alternating) set(decision string, scores map[string]float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.decision, c.scores = decision, scores
}

// stickyEnv is API mode over stickyYAML with a settable clock.
type stickyEnv struct {
	e2e   *E2E
	cls   *alternating
	mu    sync.Mutex
	now   time.Time
	fakes map[string]*fakeLLM
}

func (s *stickyEnv) advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
}

func newStickyEnv(t *testing.T, store string, fakes map[string]*fakeLLM, cls *alternating) *stickyEnv {
	t.Helper()
	if fakes == nil {
		fakes = map[string]*fakeLLM{"a": newFakeLLM(t, "a", "ok"), "b": newFakeLLM(t, "b", "ok")}
	}
	if cls == nil {
		cls = &alternating{models: []string{"a", "b"}, decision: "chat"}
	}
	doc := strings.NewReplacer("\"A\"", `"`+fakes["a"].endpoint()+`"`, "\"B\"", `"`+fakes["b"].endpoint()+`"`, "STORE", store).Replace(stickyYAML)
	spec := SpecFromYAML(t, doc, "sticky.yaml", func(p config.Problem) bool { return strings.HasPrefix(p.Path, "global.router.learning") }, nil)
	env := &stickyEnv{cls: cls, now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), fakes: fakes}
	clock := func() time.Time {
		env.mu.Lock()
		defer env.mu.Unlock()
		return env.now
	}
	env.e2e = StartE2E(t, spec, gateway.Stages{Classifier: cls}, E2EOptions{GatewayOptions: []gateway.Option{gateway.WithClock(clock)}})
	return env
}

// chat is one conversation as an OpenAI SDK client keeps it: each turn
// resends the history plus the new user message.
type chat struct {
	msgs    []openai.ChatCompletionMessageParamUnion
	headers map[string]string
}

func newChat(system, first string, headers map[string]string) *chat {
	return &chat{msgs: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage(system), openai.UserMessage(first)}, headers: headers}
}

// turn sends the conversation as model (auto by default), records the
// answer in the history, and returns the serving model and x-vsr-sticky.
func (c *chat) turn(t *testing.T, e *E2E, model string) (served, sticky string, resp *http.Response) {
	t.Helper()
	if model == "" {
		model = "auto"
	}
	opts := []option.RequestOption{option.WithResponseInto(&resp)}
	for k, v := range c.headers {
		opts = append(opts, option.WithHeader(k, v))
	}
	comp, err := e.Client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: model, Messages: c.msgs}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	served = resp.Header.Get(gateway.HeaderSelectedModel)
	if want := "answer from " + served; comp.Choices[0].Message.Content != want {
		t.Fatalf("answer %q, want %q (x-vsr-selected-model %q)", comp.Choices[0].Message.Content, want, served)
	}
	c.msgs = append(c.msgs, openai.AssistantMessage(comp.Choices[0].Message.Content), openai.UserMessage(fmt.Sprintf("follow-up %d", len(c.msgs))))
	return served, resp.Header.Get(gateway.HeaderSticky), resp
}

type wantTurn struct{ model, sticky string }

func expectTurn(t *testing.T, name string, gotModel, gotSticky string, w wantTurn) {
	t.Helper()
	if gotModel != w.model || gotSticky != w.sticky {
		t.Errorf("%s: served by %q (x-vsr-sticky %q), want %q (%q)", name, gotModel, gotSticky, w.model, w.sticky)
	}
}

// TestStickyConversations drives multi-turn chats through the OpenAI SDK
// against FAKE LLM backends while the FAKE classifier alternates its
// selected model on every call.
func TestStickyConversations(t *testing.T) {
	const memory = "      state_store: {backend: memory, ttl_seconds: 3600}"
	t.Run("hash keyed chat stays on turn 1's model", func(t *testing.T) {
		env := newStickyEnv(t, memory, nil, nil)
		c := newChat("be brief", "hello there", nil)
		for i, w := range []wantTurn{{"a", "new"}, {"a", "pinned"}, {"a", "pinned"}} {
			m, s, _ := c.turn(t, env.e2e, "")
			expectTurn(t, fmt.Sprintf("turn %d", i+1), m, s, w)
		}
		if n := len(env.fakes["b"].requests()); n != 0 {
			t.Errorf("b got %d requests", n)
		}
	})
	t.Run("header keyed chats keep their own models", func(t *testing.T) {
		env := newStickyEnv(t, memory, nil, nil)
		// the same opening: only the header tells the chats apart
		c1 := newChat("be brief", "hello", map[string]string{"x-conversation-id": "one"})
		c2 := newChat("be brief", "hello", map[string]string{"x-conversation-id": "two"})
		m, s, _ := c1.turn(t, env.e2e, "")
		expectTurn(t, "chat 1 turn 1", m, s, wantTurn{"a", "new"})
		m, s, _ = c2.turn(t, env.e2e, "")
		expectTurn(t, "chat 2 turn 1", m, s, wantTurn{"b", "new"})
		for i := range 2 {
			m, s, _ = c1.turn(t, env.e2e, "")
			expectTurn(t, fmt.Sprintf("chat 1 turn %d", i+2), m, s, wantTurn{"a", "pinned"})
			m, s, _ = c2.turn(t, env.e2e, "")
			expectTurn(t, fmt.Sprintf("chat 2 turn %d", i+2), m, s, wantTurn{"b", "pinned"})
		}
	})
	t.Run("decision change re-pins", func(t *testing.T) {
		env := newStickyEnv(t, memory, nil, nil)
		c := newChat("you help", "tell me a story", nil)
		m, s, _ := c.turn(t, env.e2e, "")
		expectTurn(t, "turn 1 (chat)", m, s, wantTurn{"a", "new"})
		env.cls.set("code", nil)
		m, s, _ = c.turn(t, env.e2e, "")
		expectTurn(t, "turn 2 (code)", m, s, wantTurn{"b", "new"})
		m, s, resp := c.turn(t, env.e2e, "")
		expectTurn(t, "turn 3 (code)", m, s, wantTurn{"b", "pinned"})
		if d := resp.Header.Get(gateway.HeaderSelectedDecision); d != "code" {
			t.Errorf("decision %q", d)
		}
	})
	t.Run("idle pin expires", func(t *testing.T) {
		env := newStickyEnv(t, memory, nil, nil)
		c := newChat("be brief", "hi", nil)
		m, s, _ := c.turn(t, env.e2e, "")
		expectTurn(t, "turn 1", m, s, wantTurn{"a", "new"})
		env.advance(299 * time.Second)
		m, s, _ = c.turn(t, env.e2e, "")
		expectTurn(t, "turn 2 within the idle timeout", m, s, wantTurn{"a", "pinned"})
		env.advance(301 * time.Second)
		m, s, _ = c.turn(t, env.e2e, "")
		expectTurn(t, "turn 3 after the idle timeout", m, s, wantTurn{"a", "new"})
		// the classifier's third answer was a again; the fourth (b) shows
		// the pin restarted from turn 3
		m, s, _ = c.turn(t, env.e2e, "")
		expectTurn(t, "turn 4", m, s, wantTurn{"a", "pinned"})
	})
	t.Run("explicit model is never overridden", func(t *testing.T) {
		env := newStickyEnv(t, memory, nil, nil)
		c := newChat("be brief", "hi", map[string]string{"x-conversation-id": "x"})
		m, s, _ := c.turn(t, env.e2e, "")
		expectTurn(t, "turn 1", m, s, wantTurn{"a", "new"})
		m, s, _ = c.turn(t, env.e2e, "b")
		expectTurn(t, "turn 2 naming b", m, s, wantTurn{"b", ""})
		m, s, _ = c.turn(t, env.e2e, "")
		expectTurn(t, "turn 3 back on auto", m, s, wantTurn{"a", "pinned"})
	})
	t.Run("a better score switches after the minimum turns", func(t *testing.T) {
		env := newStickyEnv(t, memory, nil, nil)
		env.cls.set("chat", map[string]float64{"a": 0.2, "b": 0.8})
		c := newChat("be brief", "hi", nil)
		for i, w := range []wantTurn{{"a", "new"}, {"a", "pinned"}, {"a", "pinned"}, {"b", "switched"}, {"b", "pinned"}} {
			// turn 2 is held by min_turns_before_switch: 2; turn 3's
			// choice is a; turn 4 picks b, better by 0.6 > margin 0.1
			m, s, _ := c.turn(t, env.e2e, "")
			expectTurn(t, fmt.Sprintf("turn %d", i+1), m, s, w)
		}
	})
}

// TestStickyRedisSharedByTwoGateways: two API-mode gateways share pins
// through a real redis-server, and a redis outage degrades to the
// classifier's choice without failing the request.
func TestStickyRedisSharedByTwoGateways(t *testing.T) {
	rs := redistest.Start(t)
	store := fmt.Sprintf("      state_store: {backend: redis, ttl_seconds: 3600, timeout_ms: 500, redis: {address: %q, key_prefix: \"e2e:sticky:\"}}", rs.Addr)
	fakes := map[string]*fakeLLM{"a": newFakeLLM(t, "a", "ok"), "b": newFakeLLM(t, "b", "ok")}
	cls := &alternating{models: []string{"a", "b"}, decision: "chat"}
	one := newStickyEnv(t, store, fakes, cls)
	two := newStickyEnv(t, store, fakes, cls)
	c := newChat("be brief", "shared chat", nil)
	m, s, _ := c.turn(t, one.e2e, "")
	expectTurn(t, "turn 1 on gateway one", m, s, wantTurn{"a", "new"})
	m, s, _ = c.turn(t, two.e2e, "")
	expectTurn(t, "turn 2 on gateway two", m, s, wantTurn{"a", "pinned"})
	m, s, _ = c.turn(t, one.e2e, "")
	expectTurn(t, "turn 3 on gateway one", m, s, wantTurn{"a", "pinned"})

	rs.Stop()
	// the classifier's fourth answer is b: with the store down it serves
	m, s, resp := c.turn(t, two.e2e, "")
	expectTurn(t, "turn 4 with redis down", m, s, wantTurn{"b", ""})
	if d := resp.Header.Get(gateway.HeaderDegraded); !strings.Contains(d, gateway.StageSticky) {
		t.Errorf("x-vsr-degraded %q, want %s", d, gateway.StageSticky)
	}
}
