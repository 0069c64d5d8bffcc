package hnsw

import (
	"math/rand/v2"
	"testing"
)

// recallSize is 100k vectors in a normal run; the race detector slows the
// build by an order of magnitude, so under -race the same checks run on 10k.
func recallSize() int {
	if raceEnabled {
		return 10_000
	}
	return 100_000
}

// TestRecallRandom512: uniformly random 512-d vectors, queried with
// near-duplicates of stored vectors (cosine ~0.8 to their source), the
// regime a semantic cache lives in (fresh random queries have no meaningful
// nearest neighbour in 512 dimensions).
func TestRecallRandom512(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	base := randomVectors(rng, recallSize(), 512)
	idx := newTestIndex(t, Config{Dim: 512, M: 16, EfConstruction: 64, Seed: 1})
	buildParallel(t, idx, base)
	queries := perturb(rng, base, 500, 0.03)
	truth := bruteTop1(base, queries)
	for _, ef := range []int{64, 128, 256} {
		t.Logf("random 512-d n=%d near-duplicate queries: top-1 recall %.3f at ef=%d", len(base), recallAt1(t, idx, base, queries, truth, ef), ef)
	}
	// Uniform random data has no low-dimensional structure to navigate,
	// so it needs a wide candidate list.
	r := recallAt1(t, idx, base, queries, truth, 512)
	t.Logf("random 512-d n=%d near-duplicate queries: top-1 recall %.3f at ef=512", len(base), r)
	if r < 0.98 {
		t.Fatalf("top-1 recall %.3f < 0.98 at ef=512", r)
	}
}

// TestRecallClustered512: 512-d vectors in 200 clusters, each a centre plus
// a rank-16 spread and isotropic noise (the shape of real text embeddings);
// queries are fresh samples from the same model, not stored vectors.
func TestRecallClustered512(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	model := newClusterModel(rng, 512, 200, 16, 0.3, 0.01)
	base := model.sample(rng, recallSize())
	idx := newTestIndex(t, Config{Dim: 512, M: 16, EfConstruction: 64, Seed: 2})
	buildParallel(t, idx, base)
	queries := model.sample(rng, 500)
	truth := bruteTop1(base, queries)
	t.Logf("clustered 512-d n=%d fresh queries: top-1 recall %.3f at ef=64", len(base), recallAt1(t, idx, base, queries, truth, 64))
	r := recallAt1(t, idx, base, queries, truth, 128)
	t.Logf("clustered 512-d n=%d fresh queries: top-1 recall %.3f at ef=128", len(base), r)
	if r < 0.98 {
		t.Fatalf("top-1 recall %.3f < 0.98 at ef=128", r)
	}
}
