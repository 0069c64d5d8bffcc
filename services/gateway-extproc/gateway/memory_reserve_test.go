package gateway

import (
	"testing"

	"github.com/semrouter/semrouter/services/gateway-extproc/memory"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// TestContextWindowReservesMemoryRoom: memories are injected after the
// context-window filter ran, so for a known user the filter reserves the
// plugin's max_inject_tokens: with 1,000 tokens of memories a short
// question no longer fits qwen3-8b's 600-token window and the next
// modelRef serves; an anonymous caller gets no memories and stays on the
// small model, as does a user under a 100-token budget.
func TestContextWindowReservesMemoryRoom(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tokens int
		user   string
		want   string
	}{
		{"large budget, known user", 1000, "alice", "plain"},
		{"large budget, anonymous", 1000, "", "qwen3-8b"},
		{"small budget, known user", 100, "alice", "qwen3-8b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := memory.NewPlugin(memory.NewLocal(), memory.Settings{MaxInjectTokens: tc.tokens})
			if err != nil {
				t.Fatal(err)
			}
			spec := testSpec()
			for i := range spec.Models {
				if spec.Models[i].Name == "qwen3-8b" {
					spec.Models[i].ContextWindow = 600
				}
			}
			spec.Decisions = append(spec.Decisions, routes.Decision{Name: "mem",
				ModelRefs: []routes.ModelRef{{Model: "qwen3-8b"}, {Model: "plain"}}, Plugins: routes.Plugins{Memory: p}})
			g := newGateway(t, spec, Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{dec: &Decision{Name: "mem", Confidence: 0.9}}})
			hdr := func(n string) string { return map[string]string{"x-authz-user-id": tc.user}[n] }
			_, imm, fwd := chat(g, hdr, `{"model":"auto","messages":[{"role":"user","content":"What is the capital of France?"}]}`)
			if imm != nil {
				t.Fatalf("immediate %d %s", imm.Status, imm.Body)
			}
			if got := headerMap(fwd.SetHeaders)["x-selected-model"]; got != tc.want {
				t.Errorf("model %s, want %s", got, tc.want)
			}
		})
	}
}
