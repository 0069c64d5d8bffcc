package selection_test

import (
	"testing"

	"github.com/semrouter/semrouter/services/classifier/engine/selection"
	"github.com/semrouter/semrouter/services/classifier/engine/selection/pretrained/pretrainedtest"
)

// useLiteCandidates are the quickstart's two models as hybrid candidates
// with the quickstart's pricing and quality scores. The descriptions are
// stand-ins: two stored questions' embeddings (row 17 for the small
// model, row 4242 for the big one), so router_dc has real use-lite
// vectors to compare without running the embedder here.
func useLiteCandidates(tb testing.TB) ([]selection.HybridCandidate, *selection.KNNBank) {
	bank := pretrainedtest.Require(tb, "use-lite")
	return []selection.HybridCandidate{
		{Model: "small-chat", Desc: bank.Row(17), Quality: 0.70, HasQuality: true, Cost: 0.4, HasCost: true},
		{Model: "big-reasoner", Desc: bank.Row(4242), Quality: 0.95, HasQuality: true, Cost: 12.5, HasCost: true},
	}, bank
}

// TestHybridOnUseLite routes real MMLU-Pro train questions (their stored
// use-lite embeddings) with the shipped outcomes: experience alone is the
// knn rule, cost-heavy weights keep everything on the cheap model, and
// experience-heavy weights follow knn where its estimates differ a lot.
func TestHybridOnUseLite(t *testing.T) {
	cands, bank := useLiteCandidates(t)
	knnCands := []selection.KNNCandidate{{Model: "small-chat", Cost: 0.4, HasCost: true}, {Model: "big-reasoner", Cost: 12.5, HasCost: true}}
	const gap = 0.2
	knn := selection.NewKNNSelector(selection.KNNConfig{Bank: bank, Gap: gap, HasGap: true}, knnCands)
	build := func(w selection.HybridWeights, g float64) *selection.HybridSelector {
		s, err := selection.NewHybridSelector(selection.HybridConfig{Weights: w, Gap: g, KNN: &selection.KNNConfig{Bank: bank}}, cands)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name string
		sel  *selection.HybridSelector
		// check judges one question's choice against knn's
		check func(h, k selection.Choice) bool
		// minBig is the least number of questions that must go big
		minBig int
	}{
		{"experience alone is the knn rule", build(selection.HybridWeights{Experience: 1}, gap),
			func(h, k selection.Choice) bool { return h.Index == k.Index && h.Score == k.Score }, 10},
		{"weights favouring cost pick the cheap model", build(selection.HybridWeights{Experience: 0.2, Cost: 0.8}, 0),
			func(h, _ selection.Choice) bool { return h.Index == 0 }, 0},
		// with 0.1 on cost the big model needs an estimate 0.1/0.9 higher,
		// so every question knn sends big at gap 0.2 goes big here too
		{"experience-heavy weights follow knn", build(selection.HybridWeights{Experience: 0.9, Cost: 0.1}, 0),
			func(h, k selection.Choice) bool { return k.Index == 0 || h.Index == 1 }, 10},
	}
	const n = 300
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			big := 0
			for j := range n {
				q := bank.Row(j * 28)
				k, err := knn.Select(selection.Input{Query: q})
				if err != nil {
					t.Fatal(err)
				}
				h, err := tc.sel.Select(selection.Input{Query: q})
				if err != nil || h.Algorithm != selection.Hybrid || h.Fallback != "" {
					t.Fatalf("question %d: choice %+v err %v", j*28, h, err)
				}
				if !tc.check(h, k) {
					t.Fatalf("question %d: hybrid %+v, knn %+v", j*28, h, k)
				}
				big += h.Index
			}
			if big < tc.minBig {
				t.Fatalf("%d of %d questions went big, want at least %d", big, n, tc.minBig)
			}
		})
	}
}

// BenchmarkHybridSelect is one hybrid selection with all four components
// over the shipped use-lite data: the knn estimate (every MMLU-Pro train
// question compared with the query) plus two 512-dimension cosines.
func BenchmarkHybridSelect(b *testing.B) {
	cands, bank := useLiteCandidates(b)
	s, err := selection.NewHybridSelector(selection.HybridConfig{
		Weights: selection.HybridWeights{Experience: 0.4, RouterDC: 0.25, AutoMix: 0.25, Cost: 0.1}, Gap: 0.08, Normalize: true,
		KNN: &selection.KNNConfig{Bank: bank}}, cands)
	if err != nil {
		b.Fatal(err)
	}
	q := bank.Row(17)
	for i, x := range bank.Row(4242) {
		q[i] += x
	}
	// the engine's per-request score buffer, reused as it is there
	scores := make([]float64, len(cands))
	b.ReportAllocs()
	for b.Loop() {
		if c, err := s.Select(selection.Input{Query: q, Scores: scores}); err != nil || c.Algorithm != selection.Hybrid || len(c.Scores) != len(cands) {
			b.Fatalf("choice %+v err %v", c, err)
		}
	}
}

// BenchmarkHybridSelectNoQuery is the degraded path: no query embedding,
// automix and cost only.
func BenchmarkHybridSelectNoQuery(b *testing.B) {
	cands, bank := useLiteCandidates(b)
	s, err := selection.NewHybridSelector(selection.HybridConfig{
		Weights: selection.HybridWeights{Experience: 0.4, RouterDC: 0.25, AutoMix: 0.25, Cost: 0.1}, KNN: &selection.KNNConfig{Bank: bank}}, cands)
	if err != nil {
		b.Fatal(err)
	}
	scores := make([]float64, len(cands))
	b.ReportAllocs()
	for b.Loop() {
		if c, err := s.Select(selection.Input{Scores: scores}); err != nil || c.Algorithm != selection.Hybrid || c.Fallback == "" {
			b.Fatalf("choice %+v err %v", c, err)
		}
	}
}

// BenchmarkHybridSelectWithoutExperience is the cost hybrid adds to a knn
// estimate: two 512-dimension cosines, the blend and the gap rule.
func BenchmarkHybridSelectWithoutExperience(b *testing.B) {
	cands, bank := useLiteCandidates(b)
	s, err := selection.NewHybridSelector(selection.HybridConfig{
		Weights: selection.HybridWeights{RouterDC: 0.25, AutoMix: 0.25, Cost: 0.1}, Normalize: true}, cands)
	if err != nil {
		b.Fatal(err)
	}
	q := bank.Row(99)
	scores := make([]float64, len(cands))
	b.ReportAllocs()
	for b.Loop() {
		if c, err := s.Select(selection.Input{Query: q, Scores: scores}); err != nil || c.Algorithm != selection.Hybrid || c.Fallback != "" {
			b.Fatalf("choice %+v err %v", c, err)
		}
	}
}
