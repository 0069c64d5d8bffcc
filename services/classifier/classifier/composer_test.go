package classifier_test

import (
	"context"
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/classifier/classifier"
	"github.com/semrouter/semrouter/services/classifier/classifier/classifiertest"
	"github.com/semrouter/semrouter/services/classifier/signal"
)

const composerDoc = `version: v0.3
providers:
  defaults:
    default_model: small
  models:
    - name: small
      backend_refs: [{name: local, endpoint: "127.0.0.1:8000"}]
    - name: big
      backend_refs: [{name: local, endpoint: "127.0.0.1:8000"}]
routing:
  signals:
    keywords:
      - name: math_words
        operator: OR
        keywords: ["integral", "theorem"]
    complexity:
      - name: difficulty
        threshold: 0.1
        hard:
          candidates: ["prove the theorem rigorously", "evaluate the integral exactly"]
        easy:
          candidates: ["say hi", "what time is it"]
        composer:
          operator: OR
          conditions:
            - type: keyword
              name: math_words
  decisions:
    - name: hard_math
      priority: 10
      rules:
        operator: AND
        conditions:
          - type: complexity
            name: difficulty:hard
      modelRefs:
        - model: big
`

// TestComplexityComposer: the complexity rule only fires when its composer
// (a keyword match) holds.
func TestComplexityComposer(t *testing.T) {
	cfg, _, err := config.Parse([]byte(composerDoc), "composer.yaml")
	if err != nil {
		t.Fatal(err)
	}
	emb := &classifiertest.HashEmbedder{}
	c, err := classifier.Compile(context.Background(), cfg, emb)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, prompt, decision string
	}{
		{"composer holds", "prove the theorem rigorously", "hard_math"},
		{"composer fails", "prove the lemma rigorously", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := user(tc.prompt)
			req.Query = emb.Vector(tc.prompt)
			req.IncludeUnmatched = true
			res, err := c.Classify(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Decision != tc.decision {
				t.Errorf("decision %q, want %q (%+v)", res.Decision, tc.decision, res.Signals)
			}
			if tc.decision == "" {
				if _, ok := res.Matched(signal.Complexity, "difficulty:hard"); ok {
					t.Error("complexity matched although its composer failed")
				}
			}
		})
	}
}
