package semantic

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

// Unit vectors along axes make the similarity arithmetic exact.
func axis(dims, i int) []float32 {
	v := make([]float32, dims)
	v[i] = 1
	return v
}

// mix returns the normalised a·x + b·y.
func mix(x, y []float32, a, b float32) []float32 {
	v := make([]float32, len(x))
	for i := range v {
		v[i] = a*x[i] + b*y[i]
	}
	return Normalize(v)
}

func mustBank(t testing.TB, vs [][]float32, o PrototypeOptions) *Bank {
	t.Helper()
	b, err := NewBank(vs, o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-5 }

func TestBankClustering(t *testing.T) {
	e0, e1 := axis(4, 0), axis(4, 1)
	cases := []struct {
		name string
		vs   [][]float32
		opts PrototypeOptions
		want int
	}{
		{"near duplicates merge", [][]float32{e0, mix(e0, e1, 1, 0.05), e1}, DefaultPrototypeOptions(), 2},
		{"distinct stay apart", [][]float32{e0, e1, axis(4, 2)}, DefaultPrototypeOptions(), 3},
		{"cap merges closest groups", [][]float32{e0, e1, axis(4, 2), axis(4, 3)}, PrototypeOptions{Enabled: true, MaxPrototypes: 2}, 2},
		{"disabled keeps every candidate", [][]float32{e0, mix(e0, e1, 1, 0.05)}, PrototypeOptions{}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustBank(t, tc.vs, tc.opts).Prototypes(); got != tc.want {
				t.Fatalf("prototypes = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestBankRejectsBadInput(t *testing.T) {
	if _, err := NewBank(nil, DefaultPrototypeOptions()); err == nil {
		t.Fatal("empty bank accepted")
	}
	if _, err := NewBank([][]float32{axis(3, 0), axis(4, 0)}, DefaultPrototypeOptions()); !errors.Is(err, ErrDims) {
		t.Fatalf("mixed dims: err = %v", err)
	}
}

func TestScoreAggregations(t *testing.T) {
	e0, e1, e2 := axis(3, 0), axis(3, 1), axis(3, 2)
	b := mustBank(t, [][]float32{e0, e1, e2}, DefaultPrototypeOptions())
	q := e0
	cases := []struct {
		agg  Aggregation
		want float64
	}{
		// best = 1, mean of top-2 = (1+0)/2 → 0.75·1 + 0.25·0.5
		{AggMax, 0.875},
		{"", 0.875},
		{AggMean, 1.0 / 3},
		{AggAny, 1},
	}
	for _, tc := range cases {
		t.Run(string(tc.agg), func(t *testing.T) {
			if got := b.Score(q, tc.agg); !near(got, tc.want) {
				t.Fatalf("score = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestEmbeddingFamily(t *testing.T) {
	e0, e1, e2 := axis(3, 0), axis(3, 1), axis(3, 2)
	rules := func() []Rule {
		return []Rule{
			{Name: "support", Threshold: 0.8, Aggregation: AggAny, Bank: mustBank(t, [][]float32{e0}, DefaultPrototypeOptions())},
			{Name: "billing", Threshold: 0.8, Aggregation: AggAny, Bank: mustBank(t, [][]float32{e1}, DefaultPrototypeOptions())},
			{Name: "legal", Threshold: 0.8, Aggregation: AggAny, Bank: mustBank(t, [][]float32{e2}, DefaultPrototypeOptions())},
		}
	}
	cases := []struct {
		name  string
		fam   EmbeddingFamily
		query []float32
		want  []string
		err   error
	}{
		{"hard match", EmbeddingFamily{Rules: rules()}, mix(e0, e1, 1, 0.1), []string{"support"}, nil},
		{"between two rules, under both thresholds", EmbeddingFamily{Rules: rules()}, mix(e0, e1, 1, 0.9), nil, nil},
		{"top_k 1 keeps the best hard match", EmbeddingFamily{Rules: lowered(rules(), 0.6)}, mix(e0, e1, 1, 0.9), []string{"support"}, nil},
		{"top_k 2 keeps both hard matches", EmbeddingFamily{Rules: lowered(rules(), 0.6), TopK: 2}, mix(e0, e1, 1, 0.9), []string{"support", "billing"}, nil},
		{"top_k 2 under threshold matches nothing", EmbeddingFamily{Rules: rules(), TopK: 2}, mix(e0, e1, 1, 0.9), nil, nil},
		{"soft matching picks the best above min score", EmbeddingFamily{Rules: rules(), SoftMatching: true, MinScore: 0.6}, mix(e0, e1, 1, 0.9), []string{"support"}, nil},
		{"soft matching with top_k 2", EmbeddingFamily{Rules: rules(), SoftMatching: true, MinScore: 0.6, TopK: 2}, mix(e0, e1, 1, 0.9), []string{"support", "billing"}, nil},
		{"soft matching floor", EmbeddingFamily{Rules: rules(), SoftMatching: true, MinScore: 0.9}, mix(e0, e1, 1, 0.9), nil, nil},
		{"missing embedding is an error", EmbeddingFamily{Rules: rules()}, nil, nil, ErrNoQuery},
		{"wrong dimensions is an error", EmbeddingFamily{Rules: rules()}, axis(5, 0), nil, ErrDims},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := tc.fam.Evaluate(tc.query)
			if !errors.Is(out.Err, tc.err) {
				t.Fatalf("err = %v, want %v", out.Err, tc.err)
			}
			var got []string
			for _, m := range out.Matches {
				got = append(got, m.Name)
				if m.Confidence < 0 || m.Confidence > 1 {
					t.Fatalf("confidence %v out of range", m.Confidence)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("matches = %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("matches = %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func lowered(rs []Rule, threshold float64) []Rule {
	for i := range rs {
		rs[i].Threshold = threshold
	}
	return rs
}

func TestComplexityLevelsAndComposer(t *testing.T) {
	e0, e1 := axis(2, 0), axis(2, 1)
	hard := mustBank(t, [][]float32{e0}, DefaultPrototypeOptions())
	easy := mustBank(t, [][]float32{e1}, DefaultPrototypeOptions())
	longCtx := signal.NewSet(signal.Outcome{Family: signal.Context, Matches: []signal.Match{{Name: "long_context", Confidence: 1}}})
	gate := func(s *signal.Set) bool { _, ok := s.Lookup(signal.Context, "long_context"); return ok }
	cases := []struct {
		name  string
		rule  ComplexityRule
		query []float32
		set   *signal.Set
		want  string
	}{
		{"hard", ComplexityRule{Name: "c", Threshold: 0.1, Hard: hard, Easy: easy}, e0, nil, "c:hard"},
		{"easy", ComplexityRule{Name: "c", Threshold: 0.1, Hard: hard, Easy: easy}, e1, nil, "c:easy"},
		{"medium", ComplexityRule{Name: "c", Threshold: 0.1, Hard: hard, Easy: easy}, mix(e0, e1, 1, 1), nil, "c:medium"},
		{"composer passes", ComplexityRule{Name: "c", Threshold: 0.1, Hard: hard, Easy: easy, Composer: gate}, e0, longCtx, "c:hard"},
		{"composer blocks", ComplexityRule{Name: "c", Threshold: 0.1, Hard: hard, Easy: easy, Composer: gate}, e0, signal.NewSet(), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := EvaluateComplexity([]ComplexityRule{tc.rule}, tc.query, tc.set)
			got := ""
			if len(out.Matches) == 1 {
				got = out.Matches[0].Name
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReasksAndPreferences(t *testing.T) {
	e0, e1 := axis(2, 0), axis(2, 1)
	rules := []ReaskRule{{Name: "once", Threshold: 0.8, LookbackTurns: 1}, {Name: "twice", Threshold: 0.8, LookbackTurns: 2}}
	names := func(o signal.Outcome) []string {
		var n []string
		for _, m := range o.Matches {
			n = append(n, m.Name)
		}
		return n
	}
	if got := names(EvaluateReasks(rules, e0, [][]float32{e0, e1})); len(got) != 1 || got[0] != "once" {
		t.Fatalf("one repeat: %v", got)
	}
	if got := names(EvaluateReasks(rules, e0, [][]float32{e0, e0})); len(got) != 2 {
		t.Fatalf("two repeats: %v", got)
	}
	if got := names(EvaluateReasks(rules, e0, nil)); len(got) != 0 {
		t.Fatalf("first turn: %v", got)
	}
	prefs := []PreferenceRule{{Name: "terse", Threshold: 0.7, Examples: mustBank(t, [][]float32{e0}, DefaultPrototypeOptions())}}
	if got := names(EvaluatePreferences(prefs, e0)); len(got) != 1 {
		t.Fatalf("preference: %v", got)
	}
	if got := names(EvaluatePreferences(prefs, e1)); len(got) != 0 {
		t.Fatalf("preference on an unrelated query: %v", got)
	}
}

func randomUnit(r *rand.Rand, dims int) []float32 {
	v := make([]float32, dims)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return Normalize(v)
}

// BenchmarkEmbeddingFamily scores a 512-d query against 10 rules of 4
// candidates, the shape of a typical config.
func BenchmarkEmbeddingFamily(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	fam := EmbeddingFamily{}
	for i := 0; i < 10; i++ {
		var vs [][]float32
		for j := 0; j < 4; j++ {
			vs = append(vs, randomUnit(r, 512))
		}
		fam.Rules = append(fam.Rules, Rule{Name: string(rune('a' + i)), Threshold: 0.5, Bank: mustBank(b, vs, DefaultPrototypeOptions())})
	}
	q := randomUnit(r, 512)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = fam.Evaluate(q)
	}
}
