package memory

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/semrouter/semrouter/services/cache"
	"github.com/semrouter/semrouter/services/cache/cachetest"
)

const benchDim = 384

// fill stores n entries spread over 8 partitions and 4 contexts each, and
// returns their embeddings.
func fill(b *testing.B, be *Backend, n int) [][]float32 {
	b.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	vecs := make([][]float32, n)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		vecs[i] = cachetest.Unit(rng, benchDim)
		e := &cache.Entry{
			Partition: cache.Partition{Decision: fmt.Sprint("d", i%8)},
			Exact:     cachetest.FP(fmt.Sprint("q", i)),
			Context:   cachetest.FP(fmt.Sprint("c", i%4)),
			Embedding: vecs[i],
			Response:  cachetest.OK(`{"choices":[]}`),
			CreatedAt: now,
		}
		if err := be.Put(b.Context(), e); err != nil {
			b.Fatal(err)
		}
	}
	return vecs
}

func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{1_000, 20_000, 100_000} {
		be, err := New(cache.Options{Dim: benchDim, EfConstruction: 64})
		if err != nil {
			b.Fatal(err)
		}
		vecs := fill(b, be, n)
		rng := rand.New(rand.NewPCG(5, 6))
		queries := make([]cache.Query, 512)
		for i := range queries {
			k := rng.IntN(n)
			queries[i] = cache.Query{
				Partition: cache.Partition{Decision: fmt.Sprint("d", k%8)},
				Mode:      cache.ModeExactThenSemantic,
				Exact:     cachetest.FP(fmt.Sprint("miss", i)),
				Context:   cachetest.FP(fmt.Sprint("c", k%4)),
				Embedding: cachetest.Near(rng, vecs[k], 0.95),
				Threshold: 0.9,
			}
		}
		for _, mode := range []string{"exact", "semantic"} {
			b.Run(fmt.Sprintf("%s/n=%d", mode, n), func(b *testing.B) {
				durs := make([]time.Duration, 0, 1<<14)
				hits := 0
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					q := queries[i%len(queries)]
					if mode == "exact" {
						q.Mode = cache.ModeExact
						q.Exact = cachetest.FP(fmt.Sprint("q", i%n))
						q.Partition = cache.Partition{Decision: fmt.Sprint("d", (i%n)%8)}
					}
					t0 := time.Now()
					_, ok, err := be.Lookup(b.Context(), q)
					durs = append(durs, time.Since(t0))
					if err != nil {
						b.Fatal(err)
					}
					if ok {
						hits++
					}
					i++
				}
				slices.Sort(durs)
				b.ReportMetric(float64(durs[len(durs)/2].Nanoseconds()), "p50-ns")
				b.ReportMetric(float64(durs[len(durs)*99/100].Nanoseconds()), "p99-ns")
				b.ReportMetric(float64(hits)/float64(i), "hit-ratio")
			})
		}
	}
}

func BenchmarkPut(b *testing.B) {
	be, err := New(cache.Options{Dim: benchDim, EfConstruction: 64, MaxEntries: 5_000})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	pool := make([][]float32, 1024)
	for i := range pool {
		pool[i] = cachetest.Unit(rng, benchDim)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e := &cache.Entry{
			Partition: cache.Partition{Decision: "d"},
			Exact:     cachetest.FP(fmt.Sprint("q", i)),
			Context:   cachetest.FP("c"),
			Embedding: pool[i%len(pool)],
			Response:  cachetest.OK(`{"choices":[]}`),
			CreatedAt: now,
		}
		if err := be.Put(b.Context(), e); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkRecord measures recording a reported use (Backend.Record, the
// cache service's Served): a hit on a stored entry under LRU, and a miss.
func BenchmarkRecord(b *testing.B) {
	be, err := New(cache.Options{Dim: benchDim, EfConstruction: 64})
	if err != nil {
		b.Fatal(err)
	}
	fill(b, be, 1_000)
	uses := make([]cache.Use, 512)
	for i := range uses {
		k := i * 7 % 1_000
		uses[i] = cache.Use{Hit: true, Partition: cache.Partition{Decision: fmt.Sprint("d", k%8)},
			Exact: cachetest.FP(fmt.Sprint("q", k)), Tier: cache.TierSemantic}
	}
	for _, bc := range []struct {
		name string
		hit  bool
	}{{"hit", true}, {"miss", false}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := b.Context()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				u := uses[i%len(uses)]
				u.Hit = bc.hit
				found, err := be.Record(ctx, u)
				if err != nil || found != bc.hit {
					b.Fatalf("Record = %v, %v; want found=%v", found, err, bc.hit)
				}
				i++
			}
		})
	}
}
