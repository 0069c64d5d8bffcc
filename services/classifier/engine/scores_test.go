package engine

import (
	"math"
	"reflect"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/engine/selection"
	"github.com/semrouter/semrouter/services/classifier/signal"
)

// TestModelScoresThroughEngine: the selection algorithm's per-modelRef
// scores reach Result.ModelScores by model name, in modelRefs order,
// without the modelRefs it could not score, and nothing for algorithms
// that compute none or fall back.
func TestModelScoresThroughEngine(t *testing.T) {
	three := []ModelRef{{Model: "small"}, {Model: "big"}, {Model: "plain"}}
	// "plain" has no description embedding: router_dc cannot score it
	emb := map[string][]float32{"small": {1, 0}, "big": {0, 1}}
	q := []float32{3, 4} // cosines 0.6 and 0.8
	tests := []struct {
		name  string
		alg   *Algorithm
		query []float32
		model string
		want  []ModelScore
	}{
		{"router_dc reports cosine similarities", &Algorithm{Type: selection.RouterDC}, q, "big",
			[]ModelScore{{"small", 0.6}, {"big", 0.8}}},
		{"a fallback reports none", &Algorithm{Type: selection.RouterDC}, nil, "small", nil},
		{"static reports none", nil, q, "small", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Compile(Spec{DefaultModel: "small", Routing: Routing{Signals: testSignals,
				Decisions: []Decision{
					{Name: "other", Rules: leafRule(signal.Keyword, "kw_b"), ModelRefs: refs("small")},
					{Name: "route", Rules: leafRule(signal.Keyword, "kw_a"), ModelRefs: three, Algorithm: tc.alg},
				}}}, Options{ModelEmbeddings: emb})
			if err != nil {
				t.Fatal(err)
			}
			res := evalT(t, e, Request{Selection: selection.Input{Query: tc.query}}, match(signal.Keyword, "kw_a", 1))
			if res.Model != tc.model {
				t.Fatalf("model %q, want %q", res.Model, tc.model)
			}
			if len(res.ModelScores) != len(tc.want) {
				t.Fatalf("scores %v, want %v", res.ModelScores, tc.want)
			}
			for i, w := range tc.want {
				if g := res.ModelScores[i]; g.Model != w.Model || math.Abs(g.Score-w.Score) > 1e-6 {
					t.Fatalf("scores %v, want %v", res.ModelScores, tc.want)
				}
			}
		})
	}
}

// TestModelScoresReuseResult: a reused Result gets the scores of the
// latest evaluation only, and reporting them allocates nothing once its
// slice has grown.
func TestModelScoresReuseResult(t *testing.T) {
	e, err := Compile(Spec{DefaultModel: "small", Routing: Routing{Signals: testSignals,
		Decisions: []Decision{{Name: "route", Rules: leafRule(signal.Keyword, "kw_a"), ModelRefs: refs("small", "big"),
			Algorithm: &Algorithm{Type: selection.RouterDC}}}}},
		Options{ModelEmbeddings: map[string][]float32{"small": {1, 0}, "big": {0, 1}}})
	if err != nil {
		t.Fatal(err)
	}
	set := signal.NewSet(match(signal.Keyword, "kw_a", 1))
	var res Result
	eval := func(q []float32) {
		if err := e.Evaluate(set, Request{Selection: selection.Input{Query: q}}, &res); err != nil {
			t.Fatal(err)
		}
	}
	eval([]float32{1, 0})
	if want := []ModelScore{{"small", 1}, {"big", 0}}; !reflect.DeepEqual(res.ModelScores, want) {
		t.Fatalf("scores %v, want %v", res.ModelScores, want)
	}
	eval(nil) // router_dc falls back: no scores
	if len(res.ModelScores) != 0 {
		t.Fatalf("stale scores %v", res.ModelScores)
	}
	q := []float32{0, 2}
	if n := testing.AllocsPerRun(100, func() { eval(q) }); n != 0 {
		t.Fatalf("%v allocations per evaluation, want 0", n)
	}
	if want := []ModelScore{{"small", 0}, {"big", 1}}; !reflect.DeepEqual(res.ModelScores, want) {
		t.Fatalf("scores %v, want %v", res.ModelScores, want)
	}
}
