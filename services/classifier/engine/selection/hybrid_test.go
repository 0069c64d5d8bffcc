package selection

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestHybridSelect(t *testing.T) {
	e2 := math.Exp(-2)
	// knn estimates of the square bank (k 3, τ 0.5), see TestKNNEstimate
	smallR0, bigR0 := 1/(1+2*e2), 1.0
	smallR1, bigR1 := e2/(1+2*e2), (1+e2)/(1+2*e2)
	cheapSmall := 1 - 0.4/12.5 // cheapness: 1 − cost/most expensive
	small := HybridCandidate{Model: "small", Desc: []float32{1, 0}, Quality: 0.7, HasQuality: true, Cost: 0.4, HasCost: true}
	big := HybridCandidate{Model: "big", Desc: []float32{0, 1}, Quality: 0.95, HasQuality: true, Cost: 12.5, HasCost: true}
	two := []HybridCandidate{small, big}
	noPrice := func(c HybridCandidate) HybridCandidate { c.HasCost = false; return c }
	noDesc := func(c HybridCandidate) HybridCandidate { c.Desc = nil; return c }
	tests := []struct {
		name      string
		cfg       HybridConfig
		noBank    bool
		cands     []HybridCandidate
		q         []float32
		want      int
		algorithm string
		score     float64
		detail    string
		fallback  string // substring; "" means none
	}{
		{name: "weights favouring cost pick the cheap model", cfg: HybridConfig{Weights: HybridWeights{Experience: 0.1, Cost: 0.9}},
			cands: two, q: []float32{0, 1}, want: 0, algorithm: Hybrid, score: 0.1*smallR1 + 0.9*cheapSmall, detail: "experience+cost"},
		{name: "experience-heavy weights pick the model knn favours", cfg: HybridConfig{Weights: HybridWeights{Experience: 0.9, Cost: 0.1}},
			cands: two, q: []float32{0, 1}, want: 1, algorithm: Hybrid, score: 0.9 * bigR1, detail: "experience+cost"},
		{name: "weights are renormalised", cfg: HybridConfig{Weights: HybridWeights{Experience: 9, Cost: 1}},
			cands: two, q: []float32{0, 1}, want: 1, algorithm: Hybrid, score: 0.9 * bigR1, detail: "experience+cost"},
		{name: "the quality gap keeps the cheaper model", cfg: HybridConfig{Weights: HybridWeights{Experience: 0.9, Cost: 0.1}, Gap: 0.7},
			cands: two, q: []float32{0, 1}, want: 0, algorithm: Hybrid, score: 0.9*smallR1 + 0.1*cheapSmall, detail: "experience+cost"},
		{name: "the gap follows pricing, not modelRefs order", cfg: HybridConfig{Weights: HybridWeights{Experience: 0.9, Cost: 0.1}, Gap: 0.7},
			cands: []HybridCandidate{big, small}, q: []float32{0, 1}, want: 1, algorithm: Hybrid, score: 0.9*smallR1 + 0.1*cheapSmall, detail: "experience+cost"},
		{name: "raw scores keep a small experience edge small", cfg: HybridConfig{Weights: HybridWeights{Experience: 0.6, Cost: 0.4}},
			cands: two, q: []float32{1, 0}, want: 0, algorithm: Hybrid, score: 0.6*smallR0 + 0.4*cheapSmall, detail: "experience+cost"},
		{name: "normalize_scores makes it a full vote", cfg: HybridConfig{Weights: HybridWeights{Experience: 0.6, Cost: 0.4}, Normalize: true},
			cands: two, q: []float32{1, 0}, want: 1, algorithm: Hybrid, score: 0.6, detail: "experience+cost"},
		{name: "router_dc alone follows the description", cfg: HybridConfig{Weights: HybridWeights{RouterDC: 1}},
			cands: two, q: []float32{0, 3}, want: 1, algorithm: Hybrid, score: 1, detail: "router_dc"},
		{name: "router_dc against cost", cfg: HybridConfig{Weights: HybridWeights{RouterDC: 0.5, Cost: 0.5}},
			cands: two, q: []float32{1, 0}, want: 0, algorithm: Hybrid, score: 0.5 + 0.5*cheapSmall, detail: "router_dc+cost"},
		{name: "automix is the declared quality", cfg: HybridConfig{Weights: HybridWeights{AutoMix: 1}},
			cands: two, want: 1, algorithm: Hybrid, score: 0.95, detail: "automix"},
		{name: "all four components", cfg: HybridConfig{Weights: HybridWeights{Experience: 0.4, RouterDC: 0.3, AutoMix: 0.2, Cost: 0.1}},
			cands: two, q: []float32{0, 1}, want: 1, algorithm: Hybrid, score: 0.4*bigR0*bigR1 + 0.3 + 0.2*0.95, detail: "experience+router_dc+automix+cost"},
		{name: "a model without a column scores the mean estimate", cfg: HybridConfig{Weights: HybridWeights{Experience: 1}, Gap: 0.45},
			cands: []HybridCandidate{{Model: "other", Cost: 1, HasCost: true}, big}, q: []float32{0, 1}, want: 0, algorithm: Hybrid,
			score: (smallR1 + bigR1) / 2, detail: "experience"},
		// degraded paths
		{name: "no query: experience and router_dc drop out", cfg: HybridConfig{Weights: HybridWeights{Experience: 0.5, RouterDC: 0.3, Cost: 0.2}},
			cands: []HybridCandidate{big, small}, want: 1, algorithm: Hybrid, score: cheapSmall, detail: "cost",
			fallback: "hybrid: left out experience (no query embedding), router_dc (no query embedding); scored on cost"},
		{name: "zero query is no query", cfg: HybridConfig{Weights: HybridWeights{Experience: 0.5, AutoMix: 0.5}},
			cands: two, q: []float32{0, 0}, want: 1, algorithm: Hybrid, score: 0.95, detail: "automix", fallback: "experience (no query embedding)"},
		{name: "a query that is not finite is no query", cfg: HybridConfig{Weights: HybridWeights{RouterDC: 0.5, Cost: 0.5}},
			cands: two, q: []float32{float32(math.NaN()), 1}, want: 0, algorithm: Hybrid, score: cheapSmall, detail: "cost",
			fallback: "hybrid: left out router_dc (no query embedding); scored on cost"},
		{name: "nothing left uses the first modelRef", cfg: HybridConfig{Weights: HybridWeights{Experience: 0.5, RouterDC: 0.5}},
			cands: []HybridCandidate{big, small}, want: 0, algorithm: Static,
			fallback: "hybrid: left out experience (no query embedding), router_dc (no query embedding); no component left, used the first modelRef"},
		{name: "no pretrained data", cfg: HybridConfig{Weights: HybridWeights{Experience: 0.8, Cost: 0.2}}, noBank: true,
			cands: two, q: []float32{0, 1}, want: 0, algorithm: Hybrid, score: cheapSmall, detail: "cost",
			fallback: "hybrid: left out experience (no pretrained data); scored on cost"},
		{name: "no modelRef in the pretrained data", cfg: HybridConfig{Weights: HybridWeights{Experience: 0.8, AutoMix: 0.2}},
			cands: []HybridCandidate{{Model: "a", Quality: 0.2, HasQuality: true}, {Model: "b", Quality: 0.3, HasQuality: true}}, q: []float32{0, 1},
			want: 1, algorithm: Hybrid, score: 0.3, detail: "automix", fallback: "experience (no modelRef has a column in the pretrained data)"},
		{name: "wrong query dimensions", cfg: HybridConfig{Weights: HybridWeights{Experience: 0.4, RouterDC: 0.4, AutoMix: 0.2}},
			cands: two, q: []float32{0, 1, 0}, want: 1, algorithm: Hybrid, score: 0.95, detail: "automix",
			fallback: "experience (the query embedding's dimensions differ from the pretrained data's), router_dc (the query embedding's dimensions differ from the descriptions')"},
		{name: "a missing description drops router_dc", cfg: HybridConfig{Weights: HybridWeights{RouterDC: 0.9, Cost: 0.1}},
			cands: []HybridCandidate{small, noDesc(big)}, q: []float32{0, 1}, want: 0, algorithm: Hybrid, score: cheapSmall, detail: "cost",
			fallback: `hybrid: left out router_dc (no description embedding for "big"); scored on cost`},
		{name: "missing pricing drops cost and keeps modelRefs order", cfg: HybridConfig{Weights: HybridWeights{AutoMix: 0.5, Cost: 0.5}, Gap: 0.5},
			cands: []HybridCandidate{big, noPrice(small)}, want: 0, algorithm: Hybrid, score: 0.95, detail: "automix",
			fallback: `cost (no pricing for "small")`},
		{name: "a missing quality_score drops automix", cfg: HybridConfig{Weights: HybridWeights{AutoMix: 0.5, Cost: 0.5}},
			cands: []HybridCandidate{{Model: "x", Cost: 1, HasCost: true}, big}, want: 0, algorithm: Hybrid, score: 1 - 1/12.5, detail: "cost",
			fallback: `automix (no quality_score for "x")`},
		{name: "a zero weight is not a component", cfg: HybridConfig{Weights: HybridWeights{Cost: 1}},
			cands: []HybridCandidate{noDesc(big), small}, want: 1, algorithm: Hybrid, score: cheapSmall, detail: "cost"},
		{name: "one candidate needs nothing", cfg: HybridConfig{Weights: HybridWeights{Experience: 1}}, cands: []HybridCandidate{big},
			want: 0, algorithm: Hybrid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			if !tc.noBank {
				cfg.KNN = &KNNConfig{Bank: square(t, 3, 0.5, 0.5)}
			}
			s, err := NewHybridSelector(cfg, tc.cands)
			if err != nil {
				t.Fatal(err)
			}
			c, err := s.Select(Input{Query: tc.q})
			if err != nil {
				t.Fatal(err)
			}
			fbOK := c.Fallback == "" && tc.fallback == "" || tc.fallback != "" && strings.Contains(c.Fallback, tc.fallback)
			if c.Index != tc.want || c.Algorithm != tc.algorithm || math.Abs(c.Score-tc.score) > 1e-6 || c.Detail != tc.detail || !fbOK {
				t.Fatalf("choice %+v,\nwant index %d algorithm %q score %.4f detail %q fallback %q", c, tc.want, tc.algorithm, tc.score, tc.detail, tc.fallback)
			}
		})
	}
}

func TestHybridUnavailableReason(t *testing.T) {
	s, err := NewHybridSelector(HybridConfig{Weights: HybridWeights{Experience: 1, Cost: 1},
		KNN: &KNNConfig{Unavailable: `knn: no pretrained data for embedding model "glove"; used the first modelRef`}},
		[]HybridCandidate{{Model: "a", Cost: 1, HasCost: true}, {Model: "b", Cost: 2, HasCost: true}})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := s.Select(Input{Query: []float32{1, 0}})
	want := `hybrid: left out experience (no pretrained data for embedding model "glove"); scored on cost`
	if c.Index != 0 || c.Fallback != want {
		t.Fatalf("choice %+v, want fallback %q", c, want)
	}
}

func TestHybridManyCandidates(t *testing.T) {
	// more candidates than Select keeps on the stack
	var cands []HybridCandidate
	for i := range 3 * maxHybridStack {
		cands = append(cands, HybridCandidate{Model: string(rune('a' + i%26)), Cost: float64(100 - i), HasCost: true, Quality: float64(i) / 100, HasQuality: true})
	}
	s, err := NewHybridSelector(HybridConfig{Weights: HybridWeights{Cost: 1, AutoMix: 0.1}, Normalize: true}, cands)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Select(Input{})
	if err != nil || c.Index != len(cands)-1 || c.Algorithm != Hybrid {
		t.Fatalf("choice %+v err %v, want the last (cheapest, best) candidate", c, err)
	}
}

func TestHybridConfigErrors(t *testing.T) {
	two := []HybridCandidate{{Model: "a"}, {Model: "b"}}
	tests := []struct {
		name string
		cfg  HybridConfig
		want []string
	}{
		{"all weights zero", HybridConfig{}, []string{"at least one weight must be positive"}},
		{"negative weights", HybridConfig{Weights: HybridWeights{Experience: -1, Cost: -0.5, AutoMix: 2}},
			[]string{"experience_weight must be a non-negative number, got -1", "cost_weight must be a non-negative number, got -0.5"}},
		{"not a number", HybridConfig{Weights: HybridWeights{RouterDC: math.NaN()}}, []string{"router_dc_weight must be a non-negative number"}},
		{"negative gap", HybridConfig{Weights: HybridWeights{Cost: 1}, Gap: -0.1}, []string{"quality_gap_threshold must not be negative"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewHybridSelector(tc.cfg, two)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("err %v, want it to mention %q", err, w)
				}
			}
		})
	}
	s, err := NewHybridSelector(HybridConfig{Weights: HybridWeights{Cost: 1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Select(Input{}); !errors.Is(err, ErrNoCandidates) {
		t.Fatalf("err %v", err)
	}
}
