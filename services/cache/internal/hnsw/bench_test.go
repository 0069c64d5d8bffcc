package hnsw

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"
)

const benchDim = 512

// benchSizes are the index sizes the search benchmarks build; 1M joins
// when SEMROUTER_HNSW_BENCH_1M is set (the build takes many minutes).
func benchSizes() []int {
	sizes := []int{10_000, 100_000}
	if os.Getenv("SEMROUTER_HNSW_BENCH_1M") != "" {
		sizes = append(sizes, 1_000_000)
	}
	return sizes
}

func benchData(n int) (*clusterModel, [][]float32) {
	rng := rand.New(rand.NewPCG(uint64(n), 5))
	model := newClusterModel(rng, benchDim, 200, 16, 0.3, 0.01)
	return model, model.sample(rng, n)
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return sorted[i]
}

// BenchmarkSearch: top-10 search (ef=64) over clustered 512-d vectors;
// reports p50/p99 latency of the individual searches.
func BenchmarkSearch(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			model, base := benchData(n)
			idx, err := New(Config{Dim: benchDim, M: 16, EfConstruction: 64, Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			buildParallel(b, idx, base)
			queries := model.sample(rand.New(rand.NewPCG(9, 9)), 1000)
			dst := make([]Result, 0, 10)
			durs := make([]time.Duration, 0, 4096)
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				t0 := time.Now()
				dst, err = idx.SearchInto(dst[:0], queries[i%len(queries)], SearchOptions{K: 10, Ef: 64})
				durs = append(durs, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.StopTimer()
			slices.Sort(durs)
			b.ReportMetric(float64(percentile(durs, 0.50).Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(percentile(durs, 0.99).Nanoseconds()), "p99-ns")
		})
	}
}

// BenchmarkSearchFiltered: a filter admitting 1 in 20 keys, graph path.
func BenchmarkSearchFiltered(b *testing.B) {
	model, base := benchData(10_000)
	idx, err := New(Config{Dim: benchDim, M: 16, EfConstruction: 64, Seed: 1, ExactThreshold: 100})
	if err != nil {
		b.Fatal(err)
	}
	buildParallel(b, idx, base)
	var members []uint64
	for i := range uint64(len(base)) {
		if i%20 == 0 {
			members = append(members, i)
		}
	}
	filter := func(k uint64) bool { return k%20 == 0 }
	queries := model.sample(rand.New(rand.NewPCG(9, 9)), 1000)
	dst := make([]Result, 0, 10)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		dst, err = idx.SearchInto(dst[:0], queries[i%len(queries)], SearchOptions{K: 10, Filter: filter, Candidates: members})
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkInsert measures single-writer insert throughput into an index
// that grows from empty.
func BenchmarkInsert(b *testing.B) {
	_, pool := benchData(20_000)
	idx, err := New(Config{Dim: benchDim, M: 16, EfConstruction: 64, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	start := time.Now()
	for b.Loop() {
		if err := idx.Insert(uint64(i), pool[i%len(pool)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(i)/time.Since(start).Seconds(), "inserts/s")
}

// BenchmarkMemoryPerEntry reports the index's own accounting and the Go
// heap growth per stored 512-d vector; the build happens once, outside the
// timed loop (which only reads the accounting).
func BenchmarkMemoryPerEntry(b *testing.B) {
	const n = 20_000
	_, base := benchData(n)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	idx, err := New(Config{Dim: benchDim, M: 16, EfConstruction: 64, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	buildParallel(b, idx, base)
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportAllocs()
	var mem int64
	for b.Loop() {
		mem = idx.MemoryBytes()
	}
	b.ReportMetric(float64(mem)/n, "bytes/entry")
	b.ReportMetric((float64(after.HeapAlloc)-float64(before.HeapAlloc))/n, "heap-bytes/entry")
	runtime.KeepAlive(idx)
	runtime.KeepAlive(base) // else freeing it offsets the index's growth
}
