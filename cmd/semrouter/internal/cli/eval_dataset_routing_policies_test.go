package cli

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/quality"
)

// synthRouting draws routing cases whose strong-only wins concentrate
// along the first embedding axis: the gain is learnable from the vector.
func synthRouting(n, dims, cats int, seed uint64) []routeCase {
	r := rand.New(rand.NewPCG(seed, 11))
	out := make([]routeCase, n)
	for i := range out {
		v := make([]float32, dims)
		var norm float64
		for d := range v {
			v[d] = float32(r.NormFloat64())
			norm += float64(v[d] * v[d])
		}
		for d := range v {
			v[d] /= float32(math.Sqrt(norm))
		}
		// P(weak right) falls and the gain rises with v[0]
		pw := 0.6 - 0.4*float64(v[0])
		ps := 0.75
		probs := make([]float64, cats)
		c := r.IntN(cats)
		for j := range probs {
			probs[j] = 0.1 / float64(cats-1)
		}
		probs[c] = 0.9
		out[i] = routeCase{
			vec: v, text: "question " + string(rune('a'+i%26)), category: c, probs: probs, predictedLabel: c,
			weak: r.Float64() < pw, strong: r.Float64() < ps,
			others: []bool{r.Float64() < 0.5, r.Float64() < pw},
		}
	}
	return out
}

func TestNeighboursMatchBruteForce(t *testing.T) {
	train := synthRouting(300, 8, 3, 1)
	// an exact duplicate of train[10] at a higher index: the tie goes to 10
	dup := train[10]
	train = append(train, dup)
	eval := append(synthRouting(20, 8, 3, 2), dup)
	nb := neighbours(context.Background(), train, eval, 25)
	for i, e := range eval {
		type hit struct {
			sim float32
			j   int
		}
		all := make([]hit, len(train))
		for j, tc := range train {
			var dot float32
			for d, v := range e.vec {
				dot += v * tc.vec[d]
			}
			all[j] = hit{dot, j}
		}
		sort.SliceStable(all, func(a, b int) bool { return all[a].sim > all[b].sim })
		if len(nb[i].ids) != 25 {
			t.Fatalf("eval %d: %d neighbours, want 25", i, len(nb[i].ids))
		}
		for n := range 25 {
			if int(nb[i].ids[n]) != all[n].j || nb[i].sims[n] != all[n].sim {
				t.Fatalf("eval %d rank %d: got %d (%.4f), want %d (%.4f)", i, n, nb[i].ids[n], nb[i].sims[n], all[n].j, all[n].sim)
			}
		}
	}
	last := nb[len(eval)-1]
	if last.ids[0] != 10 || last.ids[1] != int32(len(train)-1) {
		t.Errorf("duplicate query: first neighbours %v, want 10 then %d", last.ids[:2], len(train)-1)
	}
}

func TestKnnAndKernelGain(t *testing.T) {
	// train gains: +1, 0, -1, +1
	train := []routeCase{
		{strong: true}, {strong: true, weak: true}, {weak: true}, {strong: true},
	}
	nb := []neighbourList{{ids: []int32{0, 1, 2, 3}, sims: []float32{0.9, 0.8, 0.5, 0.1}}}
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{name: "knn k=2", got: knnGain(train, nb, 2)[0], want: 0.5},
		{name: "knn k=4", got: knnGain(train, nb, 4)[0], want: 0.25},
		{name: "knn k beyond list", got: knnGain(train, nb, 10)[0], want: 0.25},
		{
			name: "kernel τ=0.1",
			got:  kernelGain(train, nb, 4, 0.1)[0],
			want: (1 - math.Exp(-4) + math.Exp(-8)) / (1 + math.Exp(-1) + math.Exp(-4) + math.Exp(-8)),
		},
		// a wide kernel is the plain mean, a narrow one the nearest only
		{name: "kernel wide", got: kernelGain(train, nb, 4, 1e6)[0], want: 0.25},
		{name: "kernel narrow", got: kernelGain(train, nb, 4, 1e-4)[0], want: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if math.Abs(tc.got-tc.want) > 1e-6 {
				t.Errorf("got %v want %v", tc.got, tc.want)
			}
		})
	}
}

func TestIRTGainPeaksAtMiddleDifficulty(t *testing.T) {
	r := quality.Rasch{Ability: []float64{-0.5, 1.5}, Difficulty: []float64{-4, 0.5, 4}}
	nb := []neighbourList{{ids: []int32{0}}, {ids: []int32{1}}, {ids: []int32{2}}}
	g := irtGain(r, nb, 1)
	if !(g[1] > g[0] && g[1] > g[2]) {
		t.Errorf("gains %v: the middle-difficulty neighbour should score highest", g)
	}
}

func TestRoutingPoliciesDeterministicAndLearned(t *testing.T) {
	ctx := context.Background()
	train, eval := synthRouting(1500, 16, 3, 3), synthRouting(600, 16, 3, 4)
	a, err := routingPolicies(ctx, train, eval, 3, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := routingPolicies(ctx, train, eval, 3, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 10 || a[0].name != routingPrimary {
		t.Fatalf("policies %d, first %q", len(a), a[0].name)
	}
	weak, strong := make([]bool, len(eval)), make([]bool, len(eval))
	for i, c := range eval {
		weak[i], strong[i] = c.weak, c.strong
	}
	for i := range a {
		if a[i].name != b[i].name || !slices.Equal(a[i].scores, b[i].scores) {
			t.Errorf("%s: scores differ between two runs", a[i].name)
		}
	}
	wAcc, sAcc := 0.0, 0.0
	for i := range weak {
		wAcc += boolFloat(weak[i]) / float64(len(weak))
		sAcc += boolFloat(strong[i]) / float64(len(weak))
	}
	for _, p := range a {
		switch p.name {
		case "kernel-ridge", "knn-kernel", "knn-ridge", "knn-gain", "ridge-gain":
			c, err := quality.CostQuality(p.name, p.scores, weak, strong)
			if err != nil {
				t.Fatal(err)
			}
			// the gain follows v[0]; a policy that learned it beats random (0.5)
			if pgr := quality.GapRecovered(c.AccuracyAt(0.5), wAcc, sAcc); pgr < 0.6 {
				t.Errorf("%s: gap recovered at 50%% %.3f, want ≥ 0.6 on learnable data", p.name, pgr)
			}
		}
	}
}

func TestCrossValidatedPoliciesHoldOut(t *testing.T) {
	// orthogonal one-hot vectors: every item is its own nearest neighbour,
	// so scoring an item in sample would return its own gain exactly
	const n = 200
	r := rand.New(rand.NewPCG(5, 6))
	train := make([]routeCase, n)
	for i := range train {
		v := make([]float32, n)
		v[i] = 1
		train[i] = routeCase{vec: v, probs: []float64{0.5, 0.5}, category: i % 2, predictedLabel: i % 2,
			weak: r.IntN(2) == 0, strong: r.IntN(2) == 0}
	}
	ps, err := crossValidatedPolicies(context.Background(), train, 2)
	if err != nil {
		t.Fatal(err)
	}
	var kernel []float64
	for _, p := range ps {
		if len(p.scores) != n {
			t.Fatalf("%s: %d scores, want %d", p.name, len(p.scores), n)
		}
		if p.name == "knn-kernel τ=0.03" {
			kernel = p.scores
		}
	}
	if kernel == nil {
		t.Fatal("grid has no knn-kernel τ=0.03")
	}
	own := 0
	for i, c := range train {
		if g := boolFloat(c.strong) - boolFloat(c.weak); g != 0 && kernel[i] == g {
			own++
		}
	}
	if own > n/4 {
		t.Errorf("%d of %d items scored with their own gain: the fold is not held out", own, n)
	}
}

func BenchmarkKernelGain(b *testing.B) {
	ctx := context.Background()
	train, eval := synthRouting(8000, 512, 3, 7), synthRouting(1, 512, 3, 8)
	b.ReportAllocs()
	for b.Loop() {
		nb := neighbours(ctx, train, eval, kernelK)
		_ = kernelGain(train, nb, kernelK, kernelTau)
	}
}
