package classifier_test

import (
	"context"
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/classifier/classifier"
	"github.com/semrouter/semrouter/services/classifier/classifier/classifiertest"
	"github.com/semrouter/semrouter/services/classifier/heuristic"
	"github.com/semrouter/semrouter/services/classifier/signal"
)

const describedDoc = `version: v0.3
providers:
  defaults:
    default_model: small
  models:
    - name: small
      backend_refs: [{name: local, endpoint: "127.0.0.1:8000"}]
routing:
  signals:
    fact_check:
      - name: needs_fact_check
    user_feedbacks:
      - name: wrong_answer
      - name: asks_for_sources
        description: The user asks for sources backing the previous answer.
`

// TestDescribedFamiliesWiring checks how the classifier runs the fact_check
// and user_feedback families (the HashEmbedder gives them vectors; their
// accuracy is measured with the real model in package described): the
// revision needs a query embedding, a missing one degrades both families
// when they apply, and user feedback is not evaluated on a first turn.
func TestDescribedFamiliesWiring(t *testing.T) {
	cfg, _, err := config.Parse([]byte(describedDoc), "described.yaml")
	if err != nil {
		t.Fatal(err)
	}
	emb := &classifiertest.HashEmbedder{}
	c, err := classifier.Compile(context.Background(), cfg, emb)
	if err != nil {
		t.Fatal(err)
	}
	if !c.NeedsQuery() {
		t.Error("NeedsQuery is false with fact_check and user_feedbacks rules")
	}
	conversation := []heuristic.Message{
		{Role: heuristic.RoleUser, Text: "Who wrote Dracula?"},
		{Role: heuristic.RoleAssistant, Text: "Bram Stoker."},
		{Role: heuristic.RoleUser, Text: "Where did you find that?"},
	}
	tests := []struct {
		name         string
		msgs         []heuristic.Message
		query        bool
		degraded     map[signal.Family]bool
		evaluatedFam map[signal.Family]bool
	}{
		{"first turn, no query", conversation[:1], false, map[signal.Family]bool{signal.FactCheck: true, signal.UserFeedback: false}, nil},
		{"follow-up, no query", conversation, false, map[signal.Family]bool{signal.FactCheck: true, signal.UserFeedback: true}, nil},
		{"first turn with query", conversation[:1], true, map[signal.Family]bool{signal.FactCheck: false, signal.UserFeedback: false},
			map[signal.Family]bool{signal.FactCheck: true, signal.UserFeedback: false}},
		{"follow-up with query", conversation, true, map[signal.Family]bool{signal.FactCheck: false, signal.UserFeedback: false},
			map[signal.Family]bool{signal.FactCheck: true, signal.UserFeedback: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := &classifier.Request{Messages: tc.msgs, IncludeUnmatched: true}
			if tc.query {
				req.Query = emb.Vector(tc.msgs[len(tc.msgs)-1].Text)
			}
			res, err := c.Classify(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			for fam, want := range tc.degraded {
				if got := res.DegradedFamily(fam); got != want {
					t.Errorf("%s degraded = %v, want %v (%+v)", fam, got, want, res.Degraded)
				}
			}
			for fam, want := range tc.evaluatedFam {
				got := false
				for _, s := range res.Signals {
					got = got || s.Family == fam
				}
				if got != want {
					t.Errorf("%s reported = %v, want %v (%+v)", fam, got, want, res.Signals)
				}
			}
		})
	}
}
