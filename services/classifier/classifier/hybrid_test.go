package classifier_test

import (
	"context"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/classifier/classifier"
	"github.com/semrouter/semrouter/services/classifier/classifier/classifiertest"
	"github.com/semrouter/semrouter/services/classifier/classifier/classifiertest/usetest"
	"github.com/semrouter/semrouter/services/classifier/engine"
	"github.com/semrouter/semrouter/services/classifier/engine/selection"
	"github.com/semrouter/semrouter/services/classifier/engine/selection/pretrained/pretrainedtest"
)

// generalPrompts reach the quickstart's catch-all "general" decision
// (no code keyword, not math, not hard).
var generalPrompts = []string{
	"Which river flows through Paris?",
	"What is a good recipe for pancakes on a weekday morning?",
	"Under the doctrine of promissory estoppel, when is a gratuitous promise enforceable?",
	"Which economic indicator best predicts a recession: the yield curve or unemployment claims?",
	"In which year did the Treaty of Westphalia end the Thirty Years' War?",
	"What causes the tides on Earth?",
	"Name the bones of the human middle ear.",
	"Which philosopher wrote the Critique of Pure Reason?",
}

// quickstartGeneral is the quickstart with the "general" decision (small-chat
// or big-reasoner) selecting with alg.
func quickstartGeneral(t *testing.T, alg *config.Algorithm) *config.Config {
	t.Helper()
	cfg := loadConfig(t, quickstartPath(t))
	for i := range cfg.Routing.Decisions {
		if cfg.Routing.Decisions[i].Name == "general" {
			cfg.Routing.Decisions[i].Algorithm = alg
			return cfg
		}
	}
	t.Fatal("the quickstart has no general decision")
	return nil
}

func compileT(t *testing.T, cfg *config.Config, emb classifier.Embedder) *classifier.Classifier {
	t.Helper()
	c, err := classifier.Compile(context.Background(), cfg, emb)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func classifyT(t *testing.T, c *classifier.Classifier, text string, query []float32) *classifier.Result {
	t.Helper()
	req := user(text)
	req.Query = query
	res, err := c.Classify(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Decision != "general" {
		t.Fatalf("%q: decision %q, want general", text, res.Decision)
	}
	return res
}

func selectionDegraded(res *classifier.Result) bool {
	for _, d := range res.Degraded {
		if d.Stage == "selection" {
			return true
		}
	}
	return false
}

// TestHybridDecision routes with real use-lite embeddings, the shipped knn
// data (MMLU-Pro outcomes) and the quickstart's model cards and pricing.
func TestHybridDecision(t *testing.T) {
	emb := usetest.UseLite(t)
	ctx := context.Background()
	vecs, err := emb.Embed(ctx, generalPrompts)
	if err != nil {
		t.Fatal(err)
	}
	// the gap: halfway between the middle two of the prompts' estimated
	// gains of big-reasoner over small-chat, so that knn sends some big
	bank := pretrainedtest.Require(t, usetest.Model)
	var gains []float64
	for _, v := range vecs {
		est, err := bank.Estimate(v, 0)
		if err != nil {
			t.Fatal(err)
		}
		gains = append(gains, est[bank.Column("big-reasoner")]-est[bank.Column("small-chat")])
	}
	sort.Float64s(gains)
	gap := (gains[len(gains)/2-1] + gains[len(gains)/2]) / 2
	hybrid := func(h config.HybridConfig) *config.Algorithm {
		return &config.Algorithm{Type: "hybrid", Hybrid: &h}
	}
	knnCfg := quickstartGeneral(t, &config.Algorithm{Type: "knn"})
	knnCfg.Global.Router.ModelSelection = &config.ModelSelection{Hybrid: &config.HybridConfig{QualityGapThreshold: gap}}
	knn := compileT(t, knnCfg, emb)

	t.Run("experience alone chooses as knn does", func(t *testing.T) {
		c := compileT(t, quickstartGeneral(t, hybrid(config.HybridConfig{ExperienceWeight: 1, QualityGapThreshold: gap})), emb)
		if !c.NeedsQuery() {
			t.Fatal("a hybrid decision weighing experience needs the query embedding")
		}
		big := 0
		for i, p := range generalPrompts {
			h, k := classifyT(t, c, p, vecs[i]), classifyT(t, knn, p, vecs[i])
			if h.Model != k.Model || h.Algorithm != selection.Hybrid || k.Algorithm != selection.KNN || h.SelectionDetail != "experience" || len(h.Degraded) > 0 {
				t.Fatalf("%q: hybrid %q (%s, detail %q, degraded %v), knn %q", p, h.Model, h.Algorithm, h.SelectionDetail, h.Degraded, k.Model)
			}
			if h.Model == "big-reasoner" {
				big++
			}
			// both report each modelRef's knn estimate as its score
			est, err := bank.Estimate(vecs[i], 0)
			if err != nil {
				t.Fatal(err)
			}
			for alg, ms := range map[string][]engine.ModelScore{"hybrid": h.ModelScores, "knn": k.ModelScores} {
				if len(ms) < 2 {
					t.Fatalf("%q: %s scores %v", p, alg, ms)
				}
				for _, m := range ms {
					if col := bank.Column(m.Model); col < 0 || math.Abs(m.Score-est[col]) > 1e-6 {
						t.Fatalf("%q: %s scores %v, estimates %v", p, alg, ms, est)
					}
				}
			}
		}
		if big == 0 || big == len(generalPrompts) {
			t.Fatalf("%d of %d prompts went big: the prompts do not tell the models apart", big, len(generalPrompts))
		}
	})
	t.Run("weights favouring cost keep the small model", func(t *testing.T) {
		c := compileT(t, quickstartGeneral(t, hybrid(config.HybridConfig{ExperienceWeight: 0.1, RouterDCWeight: 0.1, CostWeight: 0.8})), emb)
		for i, p := range generalPrompts {
			if res := classifyT(t, c, p, vecs[i]); res.Model != "small-chat" || res.SelectionDetail != "experience+router_dc+cost" {
				t.Fatalf("%q: model %q detail %q", p, res.Model, res.SelectionDetail)
			}
		}
	})
	t.Run("default weights use every component", func(t *testing.T) {
		c := compileT(t, quickstartGeneral(t, &config.Algorithm{Type: "hybrid"}), emb)
		res := classifyT(t, c, generalPrompts[0], vecs[0])
		if res.Algorithm != selection.Hybrid || res.SelectionDetail != "experience+router_dc+automix+cost" || selectionDegraded(res) {
			t.Fatalf("algorithm %q detail %q degraded %v", res.Algorithm, res.SelectionDetail, res.Degraded)
		}
	})
	t.Run("no query embedding leaves experience and router_dc out", func(t *testing.T) {
		c := compileT(t, quickstartGeneral(t, &config.Algorithm{Type: "hybrid"}), emb)
		res := classifyT(t, c, generalPrompts[0], nil)
		// automix 0.25 and cost 0.1: small-chat 0.25·0.70 + 0.1·0.976 beats
		// big-reasoner 0.25·0.95 + 0
		if res.Model != "small-chat" || res.Algorithm != selection.Hybrid || res.SelectionDetail != "automix+cost" || !selectionDegraded(res) ||
			!strings.Contains(res.SelectionFallback, "experience (no query embedding), router_dc (no query embedding)") {
			t.Fatalf("model %q algorithm %q detail %q fallback %q degraded %v", res.Model, res.Algorithm, res.SelectionDetail, res.SelectionFallback, res.Degraded)
		}
	})
}

func TestHybridDegradedData(t *testing.T) {
	emb := &classifiertest.HashEmbedder{}
	text := "which river flows through the eiffel tower city"
	tests := []struct {
		name     string
		pretrain string // ml.knn.pretrained_path
		fallback string
	}{
		// nothing ships for the hashing embedder
		{"no shipped data", "", `experience (no pretrained data for embedding model "test-hash-bow"`},
		// a knn decision would reject the revision; hybrid scores without
		{"a missing pretrained file", filepath.Join(t.TempDir(), "absent.knn"), "experience (pretrained data unusable: " + config.PathKNNPretrained},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := quickstartGeneral(t, &config.Algorithm{Type: "hybrid"})
			if tc.pretrain != "" {
				cfg.Global.Router.ModelSelection = &config.ModelSelection{ML: &config.MLSelection{KNN: &config.MLKNN{PretrainedPath: tc.pretrain}}}
			}
			c := compileT(t, cfg, emb)
			res := classifyT(t, c, text, emb.Vector(text))
			if res.Algorithm != selection.Hybrid || res.SelectionDetail != "router_dc+automix+cost" || !selectionDegraded(res) ||
				!strings.Contains(res.SelectionFallback, tc.fallback) {
				t.Fatalf("algorithm %q detail %q fallback %q", res.Algorithm, res.SelectionDetail, res.SelectionFallback)
			}
		})
	}
	t.Run("global weights are the decision's defaults", func(t *testing.T) {
		cfg := quickstartGeneral(t, &config.Algorithm{Type: "hybrid"})
		cfg.Global.Router.ModelSelection = &config.ModelSelection{Hybrid: &config.HybridConfig{AutoMixWeight: 1}}
		res := classifyT(t, compileT(t, cfg, emb), text, emb.Vector(text))
		if res.Model != "big-reasoner" || res.SelectionDetail != "automix" || selectionDegraded(res) {
			t.Fatalf("model %q detail %q degraded %v", res.Model, res.SelectionDetail, res.Degraded)
		}
	})
}

func TestHybridDefaultsAgree(t *testing.T) {
	c, e := config.DefaultHybridWeights(), engine.DefaultHybridWeights()
	if c.ExperienceWeight != e.Experience || c.RouterDCWeight != e.RouterDC || c.AutoMixWeight != e.AutoMix || c.CostWeight != e.Cost {
		t.Fatalf("config defaults %+v, engine defaults %+v", c, e)
	}
}
