package apimode

import (
	"context"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// TestFailoverSendsEachBackendOnlyItsOwnCredentials: when the first
// provider fails, the next one (another provider) gets its own key, or the
// client's Authorization when it has none, never the first provider's key
// or extra headers. The backends are fakeLLM (fakes: no LLM runs here).
func TestFailoverSendsEachBackendOnlyItsOwnCredentials(t *testing.T) {
	cases := []struct {
		name     string
		second   routes.Backend // the answering backend's credentials
		wantAuth string
		wantKey  string // its x-api-key
	}{
		{name: "second has its own key", second: routes.Backend{APIKey: "sk-second"}, wantAuth: "Bearer sk-second"},
		{name: "second has a key from the environment", second: routes.Backend{APIKeyEnv: "TEST_BACKEND_KEY"}, wantAuth: "Bearer sk-from-env"},
		{name: "second has a custom auth header", second: routes.Backend{APIKey: "sk-second", AuthHeader: "x-api-key", AuthPrefix: "-"},
			wantAuth: "", wantKey: "- sk-second"},
		{name: "second has no key", second: routes.Backend{}, wantAuth: "Bearer client-key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			first, second := newFakeLLM(t, "first", "status:503"), newFakeLLM(t, "second", "ok")
			a := backend("first", first)
			a.APIKey, a.ExtraHeaders = "sk-first-secret", map[string]string{"x-first-tenant": "first-only", "x-api-key": "sk-first-extra"}
			b := tc.second
			b.Name, b.Endpoint, b.Weight = "second", second.endpoint(), 1
			spec := baseSpec()
			spec.Models = []routes.Model{
				{Name: "large", RetryCount: 2, Backends: []routes.Backend{a}},
				{Name: "medium", Backends: []routes.Backend{b}},
				{Name: "small", Backends: []routes.Backend{b}},
			}
			spec.Decisions = []routes.Decision{hardDecision()}
			fx := newFixture(t, spec, gateway.Stages{Classifier: &fakeClassifier{dec: &gateway.Decision{Name: "hard"}}})
			if _, err := fx.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "auto", Messages: userMsg("q")}); err != nil {
				t.Fatal(err)
			}
			fr, sr := first.requests(), second.requests()
			if len(fr) != 1 || len(sr) != 1 {
				t.Fatalf("requests: first %d, second %d", len(fr), len(sr))
			}
			if got := fr[0].Header.Get("Authorization"); got != "Bearer sk-first-secret" {
				t.Errorf("first backend Authorization = %q", got)
			}
			h := sr[0].Header
			if got := h.Get("Authorization"); got != tc.wantAuth {
				t.Errorf("second backend Authorization = %q, want %q", got, tc.wantAuth)
			}
			if got := h.Get("x-api-key"); got != tc.wantKey {
				t.Errorf("second backend x-api-key = %q, want %q", got, tc.wantKey)
			}
			if got := h.Get("x-first-tenant"); got != "" {
				t.Errorf("second backend got the first backend's extra header %q", got)
			}
		})
	}
}
