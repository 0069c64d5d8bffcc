package selection

import (
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func TestStatic(t *testing.T) {
	c, err := StaticSelector{}.Select(Input{})
	if err != nil || c.Index != 0 || c.Algorithm != Static || c.Fallback != "" {
		t.Fatalf("choice = %+v, err %v", c, err)
	}
}

func TestWeighted(t *testing.T) {
	tests := []struct {
		name    string
		weights []float64
		want    []float64 // expected share per candidate
	}{
		{"proportional", []float64{0.2, 0.8}, []float64{0.2, 0.8}},
		{"zero weight never chosen", []float64{1, 0, 3}, []float64{0.25, 0, 0.75}},
		{"all zero is uniform", []float64{0, 0}, []float64{0.5, 0.5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewWeightedSelector(tc.weights)
			const n = 20000
			counts := make([]int, len(tc.weights))
			for h := uint64(0); h < n; h++ {
				c, err := s.Select(Input{Hash: h})
				if err != nil {
					t.Fatal(err)
				}
				counts[c.Index]++
				again, _ := s.Select(Input{Hash: h})
				if again.Index != c.Index {
					t.Fatalf("hash %d chose %d then %d", h, c.Index, again.Index)
				}
			}
			for i, w := range tc.want {
				got := float64(counts[i]) / n
				if got < w-0.02 || got > w+0.02 {
					t.Fatalf("candidate %d share %.3f, want %.2f (counts %v)", i, got, w, counts)
				}
			}
		})
	}
}

func TestWindowPercentiles(t *testing.T) {
	w := NewWindow(time.Minute, 4)
	for i, ms := range []int{100, 200, 300, 400, 500} {
		w.Record(Observation{Model: "m", TTFT: time.Duration(ms) * time.Millisecond, At: t0.Add(time.Duration(i) * time.Second)})
	}
	now := t0.Add(10 * time.Second)
	// capacity 4: the 100ms sample was evicted.
	if d, ok := w.Percentile("m", TTFT, 50, now); !ok || d != 300*time.Millisecond {
		t.Fatalf("p50 = %v %v, want 300ms", d, ok)
	}
	if d, _ := w.Percentile("m", TTFT, 100, now); d != 500*time.Millisecond {
		t.Fatalf("p100 = %v, want 500ms", d)
	}
	if _, ok := w.Percentile("m", TPOT, 50, now); ok {
		t.Fatal("TPOT was never measured but reported")
	}
	if _, ok := w.Percentile("m", TTFT, 50, t0.Add(2*time.Minute)); ok {
		t.Fatal("observations older than the window were used")
	}
}

func TestLatencyAware(t *testing.T) {
	obs := func(w *Window, model string, ttft, tpot int, age time.Duration) {
		w.Record(Observation{Model: model, TTFT: time.Duration(ttft) * time.Millisecond, TPOT: time.Duration(tpot) * time.Millisecond, At: t0.Add(-age)})
	}
	tests := []struct {
		name         string
		record       func(w *Window)
		want         int
		wantFallback bool
	}{
		{"fastest on both metrics", func(w *Window) {
			obs(w, "a", 900, 60, time.Second)
			obs(w, "b", 300, 20, time.Second)
			obs(w, "c", 500, 30, time.Second)
		}, 1, false},
		{"balances ttft against tpot", func(w *Window) {
			obs(w, "a", 100, 90, time.Second) // 1 + 3 = 4 → 2
			obs(w, "b", 400, 30, time.Second) // 4 + 1 = 5 → 2.5
			obs(w, "c", 150, 45, time.Second) // 1.5 + 1.5 = 3 → 1.5
		}, 2, false},
		{"models without observations are skipped", func(w *Window) {
			obs(w, "c", 5000, 500, time.Second)
		}, 2, false},
		{"stale observations fall back to the first", func(w *Window) {
			obs(w, "b", 10, 1, 10*time.Minute)
		}, 0, true},
		{"no observations falls back to the first", func(*Window) {}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWindow(5*time.Minute, 64)
			tc.record(w)
			s := NewLatencyAwareSelector(LatencyAwareConfig{TTFTPercentile: 95, TPOTPercentile: 90}, []string{"a", "b", "c"}, w)
			c, err := s.Select(Input{Now: t0})
			if err != nil {
				t.Fatal(err)
			}
			if c.Index != tc.want || (c.Fallback != "") != tc.wantFallback {
				t.Fatalf("choice = %+v, want index %d fallback %v", c, tc.want, tc.wantFallback)
			}
			if !tc.wantFallback && c.Algorithm != LatencyAware {
				t.Fatalf("algorithm = %q", c.Algorithm)
			}
		})
	}
}

type loads map[string]int

func (l loads) InFlight(m string) (int, bool) { v, ok := l[m]; return v, ok }

func TestMultiFactor(t *testing.T) {
	cands := []Candidate{
		{Model: "small", Quality: 0.80, HasQuality: true, PromptPer1M: 0.2, CompletionPer1M: 0.4, HasPricing: true},
		{Model: "large", Quality: 0.96, HasQuality: true, PromptPer1M: 1.2, CompletionPer1M: 3.4, HasPricing: true},
		{Model: "premium", Quality: 0.99, HasQuality: true, PromptPer1M: 10, CompletionPer1M: 30, HasPricing: true},
	}
	window := func(tpot map[string]int) *Window {
		w := NewWindow(time.Minute, 16)
		for m, v := range tpot {
			w.Record(Observation{Model: m, TTFT: 100 * time.Millisecond, TPOT: time.Duration(v) * time.Millisecond, At: t0})
		}
		return w
	}
	tests := []struct {
		name    string
		cfg     MultiFactorConfig
		tpot    map[string]int
		load    loads
		want    int
		wantErr bool
		fb      bool
	}{
		{"quality only picks the best model", MultiFactorConfig{Weights: FactorWeights{Quality: 1}}, nil, nil, 2, false, false},
		{"cost ceiling excludes premium", MultiFactorConfig{Weights: FactorWeights{Quality: 1}, SLO: SLO{MaxCostPer1M: 5}}, nil, nil, 1, false, false},
		{"tpot ceiling excludes the slow large model", MultiFactorConfig{Weights: FactorWeights{Quality: 1}, SLO: SLO{MaxTPOTms: 200, MaxCostPer1M: 5}},
			map[string]int{"small": 40, "large": 250, "premium": 30}, nil, 0, false, false},
		{"cost only prefers small", MultiFactorConfig{Weights: FactorWeights{Cost: 1}}, nil, nil, 0, false, false},
		// min-max normalisation: premium's price makes large look almost as cheap as small.
		{"quality and cost balance picks large", MultiFactorConfig{Weights: FactorWeights{Quality: 0.2, Cost: 0.8}}, nil, nil, 1, false, false},
		{"inflight ceiling", MultiFactorConfig{Weights: FactorWeights{Quality: 1}, SLO: SLO{MaxInflight: 10}}, nil, loads{"premium": 11, "large": 2, "small": 0}, 1, false, false},
		{"all excluded: cheapest", MultiFactorConfig{Weights: FactorWeights{Quality: 1}, SLO: SLO{MaxCostPer1M: 0.1}}, nil, nil, 0, false, true},
		{"all excluded: first", MultiFactorConfig{Weights: FactorWeights{Quality: 1}, SLO: SLO{MaxTTFTms: 50}, OnNoCandidates: "first"},
			map[string]int{"small": 1, "large": 1, "premium": 1}, nil, 0, false, true},
		{"all excluded: fail", MultiFactorConfig{SLO: SLO{MaxCostPer1M: 0.1}, OnNoCandidates: "fail"}, nil, nil, 0, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stats LatencyStats
			if tc.tpot != nil {
				stats = window(tc.tpot)
			}
			var load LoadSource
			if tc.load != nil {
				load = tc.load
			}
			s, err := NewMultiFactorSelector(tc.cfg, cands, stats, load)
			if err != nil {
				t.Fatal(err)
			}
			c, err := s.Select(Input{Now: t0})
			if tc.wantErr {
				if !errors.Is(err, ErrNoCandidates) {
					t.Fatalf("err = %v, want ErrNoCandidates", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Index != tc.want || (c.Fallback != "") != tc.fb {
				t.Fatalf("choice = %+v, want %d (fallback %v)", c, tc.want, tc.fb)
			}
		})
	}
	t.Run("bad config is rejected", func(t *testing.T) {
		if _, err := NewMultiFactorSelector(MultiFactorConfig{OnNoCandidates: "random"}, cands, nil, nil); err == nil {
			t.Fatal("want error for on_no_candidates random")
		}
	})
}

func TestRouterDC(t *testing.T) {
	desc := [][]float32{{1, 0, 0}, {0, 1, 0}, nil}
	tests := []struct {
		name  string
		cfg   RouterDCConfig
		query []float32
		want  int
		fb    bool
	}{
		{"closest description wins", RouterDCConfig{Temperature: 0.2}, []float32{0.1, 0.9, 0.1}, 1, false},
		{"below min similarity falls back", RouterDCConfig{MinSimilarity: 0.99}, []float32{0.5, 0.5, 0.7}, 0, true},
		{"no query embedding falls back", RouterDCConfig{}, nil, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewRouterDCSelector(tc.cfg, desc).Select(Input{Query: tc.query})
			if err != nil {
				t.Fatal(err)
			}
			if c.Index != tc.want || (c.Fallback != "") != tc.fb {
				t.Fatalf("choice = %+v", c)
			}
			if !tc.fb && (c.Score <= 0.5 || c.Score > 1) {
				t.Fatalf("softmax probability %v out of range", c.Score)
			}
		})
	}
}

func TestWindowCache(t *testing.T) {
	tests := []struct {
		name    string
		opts    []WindowOption
		advance time.Duration
		want    time.Duration
	}{
		{"a new observation invalidates the cached value", nil, 0, 900 * time.Millisecond},
		{"refresh serves the cached value within its interval", []WindowOption{WithRefresh(time.Second)}, 500 * time.Millisecond, 100 * time.Millisecond},
		{"refresh recomputes after its interval", []WindowOption{WithRefresh(time.Second)}, 2 * time.Second, 900 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWindow(time.Minute, 8, tc.opts...)
			w.Record(Observation{Model: "m", TTFT: 100 * time.Millisecond, At: t0})
			if d, _ := w.Percentile("m", TTFT, 100, t0); d != 100*time.Millisecond {
				t.Fatalf("first p100 = %v", d)
			}
			w.Record(Observation{Model: "m", TTFT: 900 * time.Millisecond, At: t0})
			if d, _ := w.Percentile("m", TTFT, 100, t0.Add(tc.advance)); d != tc.want {
				t.Fatalf("p100 = %v, want %v", d, tc.want)
			}
		})
	}
	t.Run("a future sample enters when the clock reaches it", func(t *testing.T) {
		w := NewWindow(time.Minute, 8)
		w.Record(Observation{Model: "m", TTFT: 100 * time.Millisecond, At: t0})
		w.Record(Observation{Model: "m", TTFT: 700 * time.Millisecond, At: t0.Add(10 * time.Second)})
		if d, _ := w.Percentile("m", TTFT, 100, t0); d != 100*time.Millisecond {
			t.Fatalf("p100 at t0 = %v", d)
		}
		if d, _ := w.Percentile("m", TTFT, 100, t0.Add(10*time.Second)); d != 700*time.Millisecond {
			t.Fatalf("p100 at t0+10s = %v, want 700ms", d)
		}
	})
}
