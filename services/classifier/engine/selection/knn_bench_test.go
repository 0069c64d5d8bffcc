package selection_test

import (
	"testing"

	"github.com/semrouter/semrouter/services/classifier/engine/selection"
	"github.com/semrouter/semrouter/services/classifier/engine/selection/pretrained"
	"github.com/semrouter/semrouter/services/classifier/engine/selection/pretrained/pretrainedtest"
)

// BenchmarkKNNSelect is one knn selection over the shipped use-lite data:
// every MMLU-Pro train question (8,423 × 512 int8) is compared with the
// query and the 512 nearest are weighed.
func BenchmarkKNNSelect(b *testing.B) {
	bank := pretrainedtest.Require(b, "use-lite")
	s := selection.NewKNNSelector(selection.KNNConfig{Bank: bank}, []selection.KNNCandidate{{Model: "small-chat"}, {Model: "big-reasoner"}})
	// a query between two stored questions, not equal to either
	q := bank.Row(17)
	for i, x := range bank.Row(4242) {
		q[i] += x
	}
	// the engine's per-request score buffer, reused as it is there
	scores := make([]float64, 2)
	b.ReportAllocs()
	for b.Loop() {
		if c, err := s.Select(selection.Input{Query: q, Scores: scores}); err != nil || c.Algorithm != selection.KNN || len(c.Scores) != 2 {
			b.Fatalf("choice %+v err %v", c, err)
		}
	}
}

func TestShippedUseLite(t *testing.T) {
	bank := pretrainedtest.Require(t, "use-lite")
	m := bank.Meta
	if m.EmbeddingModel != "use-lite" || m.Dims != 512 || m.N < 8000 || len(m.Models) != 2 ||
		bank.Column("small-chat") != 0 || bank.Column("big-reasoner") != 1 || bank.Column("gpt-4o-2024-05-13") != 1 {
		t.Fatalf("header %+v", m)
	}
	if !(m.Gap > 0 && m.Gap < 1) || m.DevStrongShare < 0.45 || m.DevStrongShare > 0.55 {
		t.Fatalf("default gap %.4f, dev share %.3f", m.Gap, m.DevStrongShare)
	}
	if _, ok, err := pretrained.Shipped("glove-sif-100d"); ok || err != nil {
		t.Fatalf("nothing ships for glove: ok %v err %v", ok, err)
	}
}
