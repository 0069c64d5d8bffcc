package apimode

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/imagegen/imagegentest"
)

// noChatDecisions are decisions over the same models a and b whose
// requests no chat model answers: canned (fast_response) and art
// (image_gen on the FAKE image backend IMAGES).
const noChatDecisions = `  decisions:
    - name: canned
      rules: {operator: AND, conditions: []}
      modelRefs: [{model: a}, {model: b}]
      plugins:
        - type: fast_response
          configuration: {message: "no thanks"}
    - name: art
      rules: {operator: AND, conditions: []}
      modelRefs: [{model: a}, {model: b}]
      plugins:
        - type: image_gen
          configuration:
            enabled: true
            backend: openai
            backend_config: {base_url: "IMAGES/v1", api_key: image-key, model: gpt-image-1}
            modality_detection: {method: keyword, keywords: [draw]}
`

// TestStickyPinOnlyWhenAChatModelAnswers: a turn answered by
// fast_response or image_gen (no chat model called) neither creates a
// conversation's pin nor moves it; the FAKE classifier alternates a and
// b, and the FAKE LLMs a and b answer the chat turns.
func TestStickyPinOnlyWhenAChatModelAnswers(t *testing.T) {
	fakes := map[string]*fakeLLM{"a": newFakeLLM(t, "a", "ok"), "b": newFakeLLM(t, "b", "ok")}
	images := imagegentest.New(t)
	cls := &alternating{models: []string{"a", "b"}, decision: "chat"}
	doc := strings.NewReplacer("\"A\"", `"`+fakes["a"].endpoint()+`"`, "\"B\"", `"`+fakes["b"].endpoint()+`"`,
		"STORE", "      state_store: {backend: memory, ttl_seconds: 3600}", "  decisions:\n", strings.ReplaceAll(noChatDecisions, "IMAGES", images.URL)).Replace(stickyYAML)
	spec := SpecFromYAML(t, doc, "sticky.yaml", func(p config.Problem) bool { return strings.HasPrefix(p.Path, "global.router.learning") }, nil)
	reg := prometheus.NewRegistry()
	m, err := metrics.NewGateway(reg)
	if err != nil {
		t.Fatal(err)
	}
	e := StartE2E(t, spec, gateway.Stages{Classifier: cls}, E2EOptions{GatewayOptions: []gateway.Option{gateway.WithMetrics(m)}})
	pins := func(decision string) float64 {
		t.Helper()
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var n float64
		for _, f := range fams {
			if f.GetName() != metrics.GatewaySticky {
				continue
			}
			for _, mt := range f.GetMetric() {
				for _, lp := range mt.GetLabel() {
					if lp.GetName() == "decision_name" && lp.GetValue() == decision {
						n += mt.GetCounter().GetValue()
					}
				}
			}
		}
		return n
	}
	// other sends one turn of c under decision, answered without a chat
	// model (path), and keeps it out of c's history
	other := func(name string, c *chat, decision, text, path string) {
		t.Helper()
		cls.set(decision, nil)
		defer cls.set("chat", nil)
		var resp *http.Response
		msgs := append(append([]openai.ChatCompletionMessageParamUnion(nil), c.msgs[:len(c.msgs)-1]...), openai.UserMessage(text))
		if _, err := e.Client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "auto", Messages: msgs},
			option.WithResponseInto(&resp)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := resp.Header.Get(gateway.HeaderResponsePath); got != path {
			t.Fatalf("%s: response path %q, want %q", name, got, path)
		}
	}

	// a conversation that opens with turns no chat model answered has no
	// pin: its first chat turn is new (under the classifier's choice)
	c := newChat("be brief", "hello there", nil)
	other("canned opening", c, "canned", "hello there", "fast_response") // classifier: a
	other("image opening", c, "art", "draw a cat", "image_gen")          // classifier: b
	if n := pins("canned") + pins("art"); n != 0 {
		t.Errorf("%g pins counted for turns no chat model answered", n)
	}
	m1, s, _ := c.turn(t, e, "")
	expectTurn(t, "first chat turn", m1, s, wantTurn{"a", "new"}) // classifier: a
	// the pin stays on a through turns no chat model answers (each a
	// decision change that would re-pin it on b)
	other("canned turn", c, "canned", "hello there", "fast_response") // classifier: b
	other("image turn", c, "art", "draw a dog", "image_gen")          // classifier: a
	m2, s, _ := c.turn(t, e, "")                                      // classifier: b
	expectTurn(t, "chat turn after them", m2, s, wantTurn{"a", "pinned"})
	if n := pins("canned") + pins("art"); n != 0 {
		t.Errorf("%g pins counted for turns no chat model answered", n)
	}
	if n := pins("chat"); n != 2 {
		t.Errorf("%g pins counted for the chat turns, want 2", n)
	}
}
