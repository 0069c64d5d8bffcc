package selection

import (
	"math"
	"testing"
	"time"
)

// TestChoiceScores checks the per-candidate scores every selector reports
// through Input.Scores: what each one compares, in modelRefs order, NaN
// for a candidate it could not score, and none when it computes none or
// did not choose by score.
func TestChoiceScores(t *testing.T) {
	nan := math.NaN()
	e2 := math.Exp(-2)
	// knn estimates of the square bank (k 3, τ 0.5), see TestKNNEstimate
	smallR0 := 1 / (1 + 2*e2)
	smallR1, bigR1 := e2/(1+2*e2), (1+e2)/(1+2*e2)
	cheapSmall := 1 - 0.4/12.5
	small := HybridCandidate{Model: "small", Desc: []float32{1, 0}, Quality: 0.7, HasQuality: true, Cost: 0.4, HasCost: true}
	big := HybridCandidate{Model: "big", Desc: []float32{0, 1}, Quality: 0.95, HasQuality: true, Cost: 12.5, HasCost: true}
	knn := func(t *testing.T, gap float64, cands ...KNNCandidate) Selector {
		return NewKNNSelector(KNNConfig{Bank: square(t, 3, 0.5, 0.5), Gap: gap, HasGap: true}, cands)
	}
	hybrid := func(t *testing.T, cfg HybridConfig, cands ...HybridCandidate) Selector {
		cfg.KNN = &KNNConfig{Bank: square(t, 3, 0.5, 0.5)}
		s, err := NewHybridSelector(cfg, cands)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	window := func(obs map[string][2]int) *Window {
		w := NewWindow(5*time.Minute, 16)
		for m, v := range obs {
			w.Record(Observation{Model: m, TTFT: time.Duration(v[0]) * time.Millisecond, TPOT: time.Duration(v[1]) * time.Millisecond, At: t0})
		}
		return w
	}
	mfCands := []Candidate{
		{Model: "small", Quality: 0.80, HasQuality: true, PromptPer1M: 0.2, CompletionPer1M: 0.4, HasPricing: true},
		{Model: "large", Quality: 0.96, HasQuality: true, PromptPer1M: 1.2, CompletionPer1M: 3.4, HasPricing: true},
		{Model: "premium", Quality: 0.99, HasQuality: true, PromptPer1M: 10, CompletionPer1M: 30, HasPricing: true},
	}
	multi := func(t *testing.T, cfg MultiFactorConfig) Selector {
		s, err := NewMultiFactorSelector(cfg, mfCands, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	norm := math.Sqrt(0.1*0.1 + 0.9*0.9 + 0.1*0.1)
	tests := []struct {
		name  string
		sel   func(t *testing.T) Selector
		in    Input
		want  []float64 // nil: no scores reported
		index int       // the choice, which must be the one scores favour where the algorithm picks the best
	}{
		{name: "knn: each estimate", sel: func(t *testing.T) Selector {
			return knn(t, 0.3, KNNCandidate{Model: "small"}, KNNCandidate{Model: "big"})
		}, in: Input{Query: []float32{1, 0}}, want: []float64{smallR0, 1}, index: 0},
		{name: "knn: a model without a column scores the mean", sel: func(t *testing.T) Selector {
			return knn(t, 0.1, KNNCandidate{Model: "other"}, KNNCandidate{Model: "big"})
		}, in: Input{Query: []float32{0, 1}}, want: []float64{(smallR1 + bigR1) / 2, bigR1}, index: 1},
		{name: "knn: no query falls back without scores", sel: func(t *testing.T) Selector {
			return knn(t, 0.3, KNNCandidate{Model: "small"}, KNNCandidate{Model: "big"})
		}, in: Input{}, want: nil, index: 0},
		{name: "hybrid: the blend", sel: func(t *testing.T) Selector {
			return hybrid(t, HybridConfig{Weights: HybridWeights{Experience: 0.9, Cost: 0.1}}, small, big)
		}, in: Input{Query: []float32{0, 1}}, want: []float64{0.9*smallR1 + 0.1*cheapSmall, 0.9 * bigR1}, index: 1},
		{name: "hybrid: normalised components", sel: func(t *testing.T) Selector {
			return hybrid(t, HybridConfig{Weights: HybridWeights{Experience: 0.6, Cost: 0.4}, Normalize: true}, small, big)
		}, in: Input{Query: []float32{1, 0}}, want: []float64{0.4, 0.6}, index: 1},
		{name: "hybrid: components left after a drop still score", sel: func(t *testing.T) Selector {
			return hybrid(t, HybridConfig{Weights: HybridWeights{Experience: 0.5, Cost: 0.5}}, big, small)
		}, in: Input{}, want: []float64{0, cheapSmall}, index: 1},
		{name: "hybrid: no component left, no scores", sel: func(t *testing.T) Selector {
			return hybrid(t, HybridConfig{Weights: HybridWeights{Experience: 1}}, small, big)
		}, in: Input{}, want: nil, index: 0},
		{name: "router_dc: cosine similarities", sel: func(*testing.T) Selector {
			return NewRouterDCSelector(RouterDCConfig{Temperature: 0.2}, [][]float32{{1, 0, 0}, {0, 1, 0}, nil})
		}, in: Input{Query: []float32{0.1, 0.9, 0.1}}, want: []float64{0.1 / norm, 0.9 / norm, nan}, index: 1},
		{name: "router_dc: below min similarity, no scores", sel: func(*testing.T) Selector {
			return NewRouterDCSelector(RouterDCConfig{MinSimilarity: 0.99}, [][]float32{{1, 0, 0}, {0, 1, 0}, nil})
		}, in: Input{Query: []float32{0.5, 0.5, 0.7}}, want: nil, index: 0},
		// mean ratios 2, 2.5 and 1.5 (see TestLatencyAware)
		{name: "latency_aware: inverse mean latency ratio", sel: func(*testing.T) Selector {
			return NewLatencyAwareSelector(LatencyAwareConfig{}, []string{"a", "b", "c"},
				window(map[string][2]int{"a": {100, 90}, "b": {400, 30}, "c": {150, 45}}))
		}, in: Input{Now: t0}, want: []float64{0.5, 0.4, 1 / 1.5}, index: 2},
		{name: "latency_aware: a model without observations has none", sel: func(*testing.T) Selector {
			return NewLatencyAwareSelector(LatencyAwareConfig{}, []string{"a", "b", "c"}, window(map[string][2]int{"c": {5000, 500}}))
		}, in: Input{Now: t0}, want: []float64{nan, nan, 1}, index: 2},
		{name: "latency_aware: no observations, no scores", sel: func(*testing.T) Selector {
			return NewLatencyAwareSelector(LatencyAwareConfig{}, []string{"a", "b"}, window(nil))
		}, in: Input{Now: t0}, want: nil, index: 0},
		{name: "multi_factor: the utility", sel: func(t *testing.T) Selector {
			return multi(t, MultiFactorConfig{Weights: FactorWeights{Quality: 1}})
		}, in: Input{Now: t0}, want: []float64{0, 0.16 / 0.19, 1}, index: 2},
		{name: "multi_factor: a model breaking an SLO has none", sel: func(t *testing.T) Selector {
			return multi(t, MultiFactorConfig{Weights: FactorWeights{Quality: 1}, SLO: SLO{MaxCostPer1M: 5}})
		}, in: Input{Now: t0}, want: []float64{0, 1, nan}, index: 1},
		{name: "multi_factor: every model breaks an SLO, no scores", sel: func(t *testing.T) Selector {
			return multi(t, MultiFactorConfig{Weights: FactorWeights{Quality: 1}, SLO: SLO{MaxCostPer1M: 0.1}})
		}, in: Input{Now: t0}, want: nil, index: 0},
		{name: "weighted computes none", sel: func(*testing.T) Selector { return NewWeightedSelector([]float64{1, 0}) },
			in: Input{Hash: 7}, want: nil, index: 0},
		{name: "static computes none", sel: func(*testing.T) Selector { return StaticSelector{} }, in: Input{}, want: nil, index: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.sel(t)
			in := tc.in
			buf := []float64{-7, -7, -7, -7}
			in.Scores = buf
			c, err := s.Select(in)
			if err != nil {
				t.Fatal(err)
			}
			if c.Index != tc.index {
				t.Fatalf("choice %+v, want index %d", c, tc.index)
			}
			if tc.want == nil {
				if c.Scores != nil {
					t.Fatalf("scores %v, want none", c.Scores)
				}
				return
			}
			if len(c.Scores) != len(tc.want) || &c.Scores[0] != &buf[0] {
				t.Fatalf("scores %v, want %v written into Input.Scores", c.Scores, tc.want)
			}
			for i, w := range tc.want {
				got := c.Scores[i]
				if math.IsNaN(w) != math.IsNaN(got) || !math.IsNaN(w) && math.Abs(got-w) > 1e-6 {
					t.Fatalf("scores %v, want %v", c.Scores, tc.want)
				}
			}
			// where the algorithm picks the best score, the choice is it
			if c.Algorithm != KNN && c.Algorithm != Hybrid {
				for i, x := range c.Scores {
					if x > c.Scores[c.Index] {
						t.Fatalf("candidate %d scores %v above the choice %d", i, x, c.Index)
					}
				}
			}
			// a buffer without room gets nothing and is left alone
			short := []float64{-7}
			in.Scores = short[:0]
			if c, _ := s.Select(in); c.Scores != nil || short[0] != -7 {
				t.Fatalf("short buffer: scores %v, buffer %v", c.Scores, short)
			}
		})
	}
}
