package selection

import (
	"fmt"
	"testing"
	"time"
)

func filledWindow(models []string, perModel int) *Window {
	w := NewWindow(5*time.Minute, perModel)
	for i := 0; i < perModel; i++ {
		for j, m := range models {
			w.Record(Observation{Model: m,
				TTFT: time.Duration(100+(i*7+j*13)%400) * time.Millisecond,
				TPOT: time.Duration(20+(i*3+j*5)%60) * time.Millisecond,
				At:   t0.Add(-time.Duration(perModel-i) * 100 * time.Millisecond)})
		}
	}
	return w
}

var benchModels = []string{"qwen3-8b", "qwen3-32b", "llava-omni"}

func BenchmarkWeighted(b *testing.B) {
	s := NewWeightedSelector([]float64{0.5, 0.2, 0.3})
	b.ReportAllocs()
	h := uint64(0)
	for b.Loop() {
		h++
		if _, err := s.Select(Input{Hash: h}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLatencyAware(b *testing.B) {
	for _, n := range []int{64, 1024} {
		b.Run(fmt.Sprintf("samples=%d", n), func(b *testing.B) {
			s := NewLatencyAwareSelector(LatencyAwareConfig{TTFTPercentile: 95, TPOTPercentile: 90}, benchModels, filledWindow(benchModels, n))
			scores := make([]float64, len(benchModels))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Select(Input{Now: t0, Scores: scores}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMultiFactor(b *testing.B) {
	cands := []Candidate{
		{Model: "qwen3-8b", Quality: 0.83, HasQuality: true, PromptPer1M: 0.18, CompletionPer1M: 0.42, HasPricing: true},
		{Model: "qwen3-32b", Quality: 0.96, HasQuality: true, PromptPer1M: 1.2, CompletionPer1M: 3.4, HasPricing: true},
		{Model: "llava-omni", Quality: 0.88, HasQuality: true, PromptPer1M: 2.5, CompletionPer1M: 4, HasPricing: true},
	}
	s, err := NewMultiFactorSelector(MultiFactorConfig{Weights: FactorWeights{Quality: 0.4, Latency: 0.2, Cost: 0.2, Load: 0.2},
		SLO: SLO{MaxTPOTms: 200, MaxTTFTms: 800, MaxCostPer1M: 5}}, cands, filledWindow(benchModels, 1024), nil)
	if err != nil {
		b.Fatal(err)
	}
	scores := make([]float64, len(cands))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Select(Input{Now: t0, InputTokens: 500, OutputTokens: 200, Scores: scores}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRouterDC(b *testing.B) {
	desc := make([][]float32, 3)
	q := make([]float32, 384)
	for i := range desc {
		desc[i] = make([]float32, 384)
		for j := range desc[i] {
			desc[i][j] = float32((i+1)*(j%7)) / 10
			q[j] = float32(j%5) / 10
		}
	}
	s := NewRouterDCSelector(RouterDCConfig{Temperature: 0.2}, desc)
	scores := make([]float64, len(desc))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Select(Input{Query: q, Scores: scores}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLatencyAwareUnderTraffic records an observation before every
// selection, so the exact window recomputes each time unless refresh is set.
func BenchmarkLatencyAwareUnderTraffic(b *testing.B) {
	for _, refresh := range []time.Duration{0, time.Second} {
		b.Run(fmt.Sprintf("refresh=%v", refresh), func(b *testing.B) {
			w := filledWindow(benchModels, 1024)
			w.refresh = refresh
			s := NewLatencyAwareSelector(LatencyAwareConfig{TTFTPercentile: 95, TPOTPercentile: 90}, benchModels, w)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				w.Record(Observation{Model: benchModels[i%3], TTFT: 200 * time.Millisecond, TPOT: 30 * time.Millisecond, At: t0})
				if _, err := s.Select(Input{Now: t0}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
