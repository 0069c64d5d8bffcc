package apimode

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// TestStickyPinUntouchedByRateLimitedTurn: a turn the rate limits refuse
// never reached a model, so it leaves the conversation's pin as it was:
// the client's retry (the OpenAI SDKs retry a 429 by themselves) must not
// count as a turn towards min_turns_before_switch.
func TestStickyPinUntouchedByRateLimitedTurn(t *testing.T) {
	fakes := map[string]*fakeLLM{"a": newFakeLLM(t, "a", "ok"), "b": newFakeLLM(t, "b", "ok")} // FAKE LLM backends
	// FAKE classifier: a, b, a, b, … with b scoring far above a.
	cls := &alternating{models: []string{"a", "b"}, decision: "chat", scores: map[string]float64{"a": 0.1, "b": 0.9}}
	limits := `      state_store: {backend: memory, ttl_seconds: 3600}
  services:
    ratelimit:
      providers:
        - type: local-limiter
          rules:
            - {name: two-a-minute, match: {user: "*"}, requests_per_unit: 2, unit: minute}`
	doc := strings.NewReplacer("\"A\"", `"`+fakes["a"].endpoint()+`"`, "\"B\"", `"`+fakes["b"].endpoint()+`"`, "STORE", limits,
		"min_turns_before_switch: 2", "min_turns_before_switch: 3").Replace(stickyYAML)
	spec := SpecFromYAML(t, doc, "sticky.yaml", func(p config.Problem) bool { return p.Severity == config.SeverityError }, nil)
	env := &stickyEnv{cls: cls, now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), fakes: fakes}
	clock := func() time.Time {
		env.mu.Lock()
		defer env.mu.Unlock()
		return env.now
	}
	env.e2e = StartE2E(t, spec, gateway.Stages{Classifier: cls}, E2EOptions{GatewayOptions: []gateway.Option{gateway.WithClock(clock)}})

	c := newChat("be brief", "hello there", map[string]string{"x-conversation-id": "c1"})
	m, s, _ := c.turn(t, env.e2e, "") // classifier: a
	expectTurn(t, "turn 1", m, s, wantTurn{"a", "new"})
	m, s, _ = c.turn(t, env.e2e, "") // classifier: b, 1 turn < 3
	expectTurn(t, "turn 2", m, s, wantTurn{"a", "pinned"})

	// turn 3 is refused (classifier: a)
	_, err := env.e2e.Client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "auto", Messages: c.msgs},
		option.WithHeader("x-conversation-id", "c1"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("turn 3: want 429, got %v", err)
	}
	env.advance(30 * time.Second) // one request refills

	// its retry (classifier: b): still 2 turns on a, below min_turns 3
	m, s, _ = c.turn(t, env.e2e, "")
	expectTurn(t, "turn 3 retried", m, s, wantTurn{"a", "pinned"})
}
