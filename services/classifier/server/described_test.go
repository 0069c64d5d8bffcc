package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"

	classifierv1 "github.com/semrouter/semrouter/gen/semrouter/classifier/v1"
	"github.com/semrouter/semrouter/gen/semrouter/classifier/v1/classifierv1connect"
	commonv1 "github.com/semrouter/semrouter/gen/semrouter/common/v1"
	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/services/classifier/classifier"
	"github.com/semrouter/semrouter/services/classifier/classifier/classifiertest/usetest"
	"github.com/semrouter/semrouter/services/classifier/server"
)

// describedDoc routes verifiable factual prompts to a careful model and
// turns that say the previous answer was wrong to a big one; the rules are
// the reference config's.
const describedDoc = `version: v0.3
providers:
  defaults:
    default_model: small
  models:
    - name: small
      backend_refs: [{name: local, endpoint: "127.0.0.1:8000"}]
    - name: careful
      backend_refs: [{name: local, endpoint: "127.0.0.1:8000"}]
    - name: big
      backend_refs: [{name: local, endpoint: "127.0.0.1:8000"}]
routing:
  signals:
    fact_check:
      - name: needs_fact_check
        description: Prompts with factual claims that should be verified.
      - name: no_fact_check_needed
        description: Creative prompts that do not need factual verification.
    user_feedbacks:
      - name: wrong_answer
        description: The user indicates the previous answer was incorrect.
      - name: need_clarification
        description: The user asks for a clearer or more detailed answer.
  decisions:
    - name: retry_wrong
      priority: 20
      rules:
        operator: AND
        conditions:
          - type: user_feedback
            name: wrong_answer
      modelRefs:
        - model: big
    - name: verified_facts
      priority: 10
      rules:
        operator: AND
        conditions:
          - type: fact_check
            name: needs_fact_check
      modelRefs:
        - model: careful
`

// TestFactCheckAndFeedbackRouting runs the service with the real USE-Lite
// embedder: the caller sends the query embedding (as the gateway does) and
// the fact_check and user_feedback families decide the route, over NATS
// and over the JSON eval endpoint.
func TestFactCheckAndFeedbackRouting(t *testing.T) {
	emb := usetest.UseLite(t)
	e := startWith(t, []byte(describedDoc), emb, nil)
	client := classifierv1connect.NewClassifierServiceClient(natsrpc.NewClient(e.nc), natsrpc.BaseURL)
	tests := []struct {
		name           string
		turns          []string // alternating user/assistant, ending with the user
		decision       string
		model          string
		family, signal string // a signal that must have matched
	}{
		{name: "factual question", turns: []string{"Who was the first president of Kenya and when did he take office?"},
			decision: "verified_facts", model: "careful", family: "fact_check", signal: "needs_fact_check"},
		{name: "creative prompt", turns: []string{"Write a limerick about a sleepy otter."},
			decision: "", model: "small", family: "fact_check", signal: "no_fact_check_needed"},
		{name: "feedback after an answer", turns: []string{"What is the capital of Canada?", "It is Toronto.", "That's wrong, it's Ottawa."},
			decision: "retry_wrong", model: "big", family: "user_feedback", signal: "wrong_answer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			current := tc.turns[len(tc.turns)-1]
			vs, err := emb.Embed(context.Background(), []string{current})
			if err != nil {
				t.Fatal(err)
			}
			facts := &classifierv1.RequestFacts{RequestedModel: "auto"}
			for i, turn := range tc.turns {
				role := "user"
				if i%2 == 1 {
					role = "assistant"
				}
				facts.Messages = append(facts.Messages, &commonv1.ChatMessage{Role: role, Content: []*commonv1.ContentPart{{Type: commonv1.ContentPartType_CONTENT_PART_TYPE_TEXT, Text: turn}}})
			}
			res, err := client.Eval(context.Background(), connect.NewRequest(&classifierv1.EvalRequest{
				Facts: facts, QueryEmbeddings: map[string]*commonv1.Vector{usetest.Model: {Values: vs[0]}}, IncludeUnmatched: true,
			}))
			if err != nil {
				t.Fatal(err)
			}
			ev := res.Msg.GetEvaluation()
			if ev.GetDecision().GetName() != tc.decision || ev.GetModel().GetName() != tc.model {
				t.Fatalf("decision %q model %q, want %q %q (signals %v)", ev.GetDecision().GetName(), ev.GetModel().GetName(), tc.decision, tc.model, ev.GetSignals())
			}
			if !hasSignal(ev, tc.family, tc.signal) {
				t.Errorf("%s:%s not matched: %v", tc.family, tc.signal, ev.GetSignals())
			}
			if len(ev.GetDegraded()) > 0 {
				t.Errorf("degraded: %v", ev.GetDegraded())
			}

			// The JSON eval endpoint embeds the current user turn itself.
			var out server.EvalResponse
			var msgs []map[string]string
			for _, m := range facts.Messages {
				msgs = append(msgs, map[string]string{"role": m.GetRole(), "content": m.GetContent()[0].GetText()})
			}
			if code := postJSON(t, e.httpURL+"/api/v1/eval", map[string]any{"messages": msgs}, &out); code != http.StatusOK {
				t.Fatalf("status %d", code)
			}
			if out.Decision.Name != tc.decision || out.Decision.Model != tc.model {
				t.Errorf("JSON eval: decision %q model %q, want %q %q", out.Decision.Name, out.Decision.Model, tc.decision, tc.model)
			}
			found := false
			for _, s := range out.Signals[tc.family] {
				found = found || (s.Name == tc.signal && s.Matched)
			}
			if !found {
				t.Errorf("JSON eval signals %v lack %s:%s", out.Signals, tc.family, tc.signal)
			}
		})
	}
}

// TestDescribedSignalMetrics: matches of the two families are counted in
// llm_signal_match_total under their condition types.
func TestDescribedSignalMetrics(t *testing.T) {
	emb := usetest.UseLite(t)
	cfg, _, err := config.Parse([]byte(describedDoc), "described.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := classifier.Compile(context.Background(), cfg, emb)
	if err != nil {
		t.Fatal(err)
	}
	svc := classifier.NewService()
	svc.Set(c)
	m := server.NewMetrics()
	h := server.NewHandler(svc, server.HandlerOptions{Metrics: m})
	for _, turns := range [][]string{
		{"How many moons does Mars have?"},
		{"How many moons does Mars have?", "Mars has three moons.", "No, that's incorrect."},
	} {
		vs, err := emb.Embed(context.Background(), turns[len(turns)-1:])
		if err != nil {
			t.Fatal(err)
		}
		f := &classifierv1.RequestFacts{RequestedModel: "auto"}
		for i, turn := range turns {
			role := "user"
			if i%2 == 1 {
				role = "assistant"
			}
			f.Messages = append(f.Messages, &commonv1.ChatMessage{Role: role, Content: []*commonv1.ContentPart{{Type: commonv1.ContentPartType_CONTENT_PART_TYPE_TEXT, Text: turn}}})
		}
		if _, err := h.Classify(context.Background(), connect.NewRequest(&classifierv1.ClassifyRequest{
			Facts: f, QueryEmbeddings: map[string]*commonv1.Vector{usetest.Model: {Values: vs[0]}},
		})); err != nil {
			t.Fatal(err)
		}
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`llm_signal_match_total{signal_name="needs_fact_check",signal_type="fact_check"} 1`,
		`llm_signal_match_total{signal_name="wrong_answer",signal_type="user_feedback"} 1`,
		`llm_decision_match_total{decision_name="retry_wrong"} 1`,
		`llm_decision_match_total{decision_name="verified_facts"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
