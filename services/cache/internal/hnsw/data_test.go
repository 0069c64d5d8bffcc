package hnsw

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
)

// randomVectors returns n Gaussian vectors of dimension dim, normalised.
func randomVectors(rng *rand.Rand, n, dim int) [][]float32 {
	out := make([][]float32, n)
	slab := make([]float32, n*dim)
	for i := range out {
		v := slab[i*dim : (i+1)*dim]
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		Normalize(v, v)
		out[i] = v
	}
	return out
}

// clusterModel generates vectors with the shape of real text embeddings:
// each cluster is a centre plus a low-rank (intrinsic-dimension) spread and a
// little isotropic noise.
type clusterModel struct {
	dim     int
	centres [][]float32
	bases   [][][]float32 // per cluster: rank vectors of dim
	spread  float64
	noise   float64
}

func newClusterModel(rng *rand.Rand, dim, clusters, rank int, spread, noise float64) *clusterModel {
	m := &clusterModel{dim: dim, centres: randomVectors(rng, clusters, dim), spread: spread, noise: noise}
	for range clusters {
		m.bases = append(m.bases, randomVectors(rng, rank, dim))
	}
	return m
}

func (m *clusterModel) sample(rng *rand.Rand, n int) [][]float32 {
	out := make([][]float32, n)
	slab := make([]float32, n*m.dim)
	for i := range out {
		c := rng.IntN(len(m.centres))
		v := slab[i*m.dim : (i+1)*m.dim]
		copy(v, m.centres[c])
		for _, b := range m.bases[c] {
			z := float32(rng.NormFloat64() * m.spread)
			for j := range v {
				v[j] += z * b[j]
			}
		}
		for j := range v {
			v[j] += float32(rng.NormFloat64() * m.noise)
		}
		Normalize(v, v)
		out[i] = v
	}
	return out
}

// perturb returns copies of picked base vectors with Gaussian noise added.
func perturb(rng *rand.Rand, base [][]float32, n int, noise float64) [][]float32 {
	dim := len(base[0])
	out := make([][]float32, n)
	for i := range out {
		b := base[rng.IntN(len(base))]
		v := make([]float32, dim)
		for j := range v {
			v[j] = b[j] + float32(rng.NormFloat64()*noise)
		}
		Normalize(v, v)
		out[i] = v
	}
	return out
}

// buildParallel inserts vecs with keys 0..n-1 from GOMAXPROCS goroutines.
func buildParallel(tb testing.TB, idx *Index, vecs [][]float32) {
	tb.Helper()
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(vecs); i += workers {
				if err := idx.Insert(uint64(i), vecs[i]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
}

// bruteTop1 returns, for each query, the index of the most similar base vector.
func bruteTop1(base, queries [][]float32) []int {
	out := make([]int, len(queries))
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for qi := w; qi < len(queries); qi += workers {
				best, bestS := -1, float32(-2)
				for i, b := range base {
					if s := Dot(queries[qi], b); s > bestS {
						best, bestS = i, s
					}
				}
				out[qi] = best
			}
		})
	}
	wg.Wait()
	return out
}

// recallAt1 measures top-1 recall of idx against the exact answers truth
// (from bruteTop1); a result as similar as the exact answer counts.
func recallAt1(tb testing.TB, idx *Index, base, queries [][]float32, truth []int, ef int) float64 {
	tb.Helper()
	hits := 0
	var dst []Result
	for qi, q := range queries {
		var err error
		dst, err = idx.SearchInto(dst[:0], q, SearchOptions{K: 1, Ef: ef})
		if err != nil {
			tb.Fatal(err)
		}
		if len(dst) > 0 && (int(dst[0].Key) == truth[qi] || Dot(base[dst[0].Key], q) >= Dot(base[truth[qi]], q)) {
			hits++
		}
	}
	return float64(hits) / float64(len(queries))
}
