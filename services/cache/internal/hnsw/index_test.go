package hnsw

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
)

func newTestIndex(t *testing.T, cfg Config) *Index {
	t.Helper()
	idx, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{name: "zero dim", cfg: Config{}},
		{name: "negative dim", cfg: Config{Dim: -3}},
		{name: "M one", cfg: Config{Dim: 4, M: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil {
				t.Fatal("want error")
			}
		})
	}
}

func TestSelfSearchFindsEveryVector(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	vecs := randomVectors(rng, 3000, 48)
	idx := newTestIndex(t, Config{Dim: 48, M: 12, EfConstruction: 100, Seed: 3})
	buildParallel(t, idx, vecs)
	if idx.Len() != len(vecs) {
		t.Fatalf("Len=%d want %d", idx.Len(), len(vecs))
	}
	miss := 0
	for i, v := range vecs {
		res, err := idx.Search(v, SearchOptions{K: 3, Ef: 64})
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 3 {
			t.Fatalf("got %d results", len(res))
		}
		if res[0].Key != uint64(i) {
			miss++
			continue
		}
		if res[0].Score < 0.999 || res[0].Score < res[1].Score || res[1].Score < res[2].Score {
			t.Fatalf("bad scores %+v", res)
		}
	}
	if miss > len(vecs)/100 {
		t.Fatalf("%d of %d vectors not found as their own top-1", miss, len(vecs))
	}
}

func TestDeleteHidesAndSlotsAreReused(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	vecs := randomVectors(rng, 2000, 32)
	idx := newTestIndex(t, Config{Dim: 32, Seed: 5})
	buildParallel(t, idx, vecs)
	for i := 0; i < len(vecs); i += 2 {
		if err := idx.Delete(uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := idx.Delete(0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
	st := idx.Stats()
	if st.Live != 1000 || st.Tombstones != 1000 {
		t.Fatalf("stats %+v", st)
	}
	for i, v := range vecs {
		res, err := idx.Search(v, SearchOptions{K: 5})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Key%2 == 0 {
				t.Fatalf("query %d returned deleted key %d", i, r.Key)
			}
		}
	}
	fresh := randomVectors(rng, 900, 32)
	for i, v := range fresh {
		if err := idx.Insert(uint64(10000+i), v); err != nil {
			t.Fatal(err)
		}
	}
	after := idx.Stats()
	if after.Slots != st.Slots {
		t.Fatalf("slots grew from %d to %d although tombstones were free", st.Slots, after.Slots)
	}
	if after.Live != 1900 {
		t.Fatalf("live=%d want 1900", after.Live)
	}
	miss := 0
	for i, v := range fresh {
		res, err := idx.Search(v, SearchOptions{K: 1, Ef: 64})
		if err != nil {
			t.Fatal(err)
		}
		if len(res) == 0 || res[0].Key != uint64(10000+i) {
			miss++
		}
	}
	if miss > len(fresh)/50 {
		t.Fatalf("%d of %d reinserted vectors not found", miss, len(fresh))
	}
}

func TestInsertReplacesKey(t *testing.T) {
	idx := newTestIndex(t, Config{Dim: 3})
	for _, v := range [][]float32{{1, 0, 0}, {0, 1, 0}} {
		if err := idx.Insert(7, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := idx.Insert(8, []float32{0, 0, 1}); err != nil {
		t.Fatal(err)
	}
	if idx.Len() != 2 {
		t.Fatalf("Len=%d want 2", idx.Len())
	}
	res, err := idx.Search([]float32{0, 2, 0}, SearchOptions{K: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Key != 7 || res[0].Score < 0.999 {
		t.Fatalf("got %+v", res)
	}
	sim, err := idx.Similarity(7, []float32{1, 0, 0})
	if err != nil || sim > 0.001 {
		t.Fatalf("old vector still scored: %v %v", sim, err)
	}
}

func TestInputErrors(t *testing.T) {
	idx := newTestIndex(t, Config{Dim: 4})
	tests := []struct {
		name string
		err  error
		want error
	}{
		{name: "insert short", err: idx.Insert(1, []float32{1, 2}), want: ErrDimension},
		{name: "insert zero", err: idx.Insert(1, []float32{0, 0, 0, 0}), want: ErrZeroVector},
		{name: "delete missing", err: idx.Delete(9), want: ErrNotFound},
		{name: "search long", err: func() error { _, err := idx.Search(make([]float32, 5), SearchOptions{}); return err }(), want: ErrDimension},
		{name: "search zero", err: func() error { _, err := idx.Search(make([]float32, 4), SearchOptions{}); return err }(), want: ErrZeroVector},
		{name: "similarity missing", err: func() error { _, err := idx.Similarity(3, []float32{1, 0, 0, 0}); return err }(), want: ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !errors.Is(tc.err, tc.want) {
				t.Fatalf("err=%v want %v", tc.err, tc.want)
			}
		})
	}
	res, err := idx.Search([]float32{1, 0, 0, 0}, SearchOptions{K: 3})
	if err != nil || len(res) != 0 {
		t.Fatalf("empty index search: %v %v", res, err)
	}
}

func TestFilteredSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	vecs := randomVectors(rng, 4000, 32)
	idx := newTestIndex(t, Config{Dim: 32, ExactThreshold: 100, Seed: 9})
	buildParallel(t, idx, vecs)
	// Partitions: keys divisible by 50 (80 members: exact scan of the
	// candidates), by 3 (1334: filtered full scan is cheaper than the
	// widened walk) and by 2 (2000: graph walk with ef widened 2x).
	member := func(mod uint64) ([]uint64, func(uint64) bool) {
		var keys []uint64
		for i := range uint64(len(vecs)) {
			if i%mod == 0 {
				keys = append(keys, i)
			}
		}
		return keys, func(k uint64) bool { return k%mod == 0 }
	}
	queries := randomVectors(rng, 100, 32)
	for _, tc := range []struct {
		name    string
		mod     uint64
		minRate float64
	}{
		{name: "small partition exact", mod: 50, minRate: 1},
		{name: "third filtered scan", mod: 3, minRate: 1},
		{name: "half graph walk", mod: 2, minRate: 0.95},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, filter := member(tc.mod)
			if tc.mod == 2 && scanCheaper(64*2, len(keys), len(vecs)) {
				t.Fatal("test no longer exercises the graph walk")
			}
			if tc.mod == 3 && !scanCheaper(64*3, len(keys), len(vecs)) {
				t.Fatal("test no longer exercises the filtered scan")
			}
			hits := 0
			for _, q := range queries {
				want, err := idx.ExactSearch(q, 1, filter)
				if err != nil {
					t.Fatal(err)
				}
				got, err := idx.Search(q, SearchOptions{K: 4, Filter: filter, Candidates: keys, FilterSize: len(keys)})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range got {
					if !filter(r.Key) {
						t.Fatalf("result %d outside the partition", r.Key)
					}
				}
				if len(got) > 0 && got[0].Key == want[0].Key {
					hits++
				}
			}
			if rate := float64(hits) / float64(len(queries)); rate < tc.minRate {
				t.Fatalf("filtered recall %.3f < %.3f", rate, tc.minRate)
			}
		})
	}
}

func TestCompactDropsTombstones(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	vecs := randomVectors(rng, 5000, 16)
	idx := newTestIndex(t, Config{Dim: 16, Seed: 1})
	buildParallel(t, idx, vecs)
	before := idx.MemoryBytes()
	for i := range 4000 {
		if err := idx.Delete(uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if !idx.NeedsCompaction() {
		t.Fatal("NeedsCompaction=false with 80% tombstones")
	}
	idx.Compact()
	st := idx.Stats()
	if st.Live != 1000 || st.Tombstones != 0 || st.Slots != 1000 {
		t.Fatalf("stats after compaction %+v", st)
	}
	if st.MemoryBytes >= before {
		t.Fatalf("memory %d not below %d", st.MemoryBytes, before)
	}
	miss := 0
	for i := 4000; i < 5000; i++ {
		res, err := idx.Search(vecs[i], SearchOptions{K: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(res) == 0 || res[0].Key != uint64(i) {
			miss++
		}
	}
	if miss > 10 {
		t.Fatalf("%d survivors lost by compaction", miss)
	}
	idx.Reset()
	if idx.Len() != 0 || idx.MemoryBytes() > 1024 {
		t.Fatalf("reset left %d vectors, %d bytes", idx.Len(), idx.MemoryBytes())
	}
}

func TestConcurrentReadersAndWriters(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	const n = 3000
	vecs := randomVectors(rng, n, 24)
	idx := newTestIndex(t, Config{Dim: 24, M: 8, EfConstruction: 64, Seed: 2})
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			for i := w; i < n; i += 3 {
				if err := idx.Insert(uint64(i), vecs[i]); err != nil {
					t.Error(err)
					return
				}
				if i%5 == 0 {
					if err := idx.Delete(uint64(i)); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	for r := range 2 {
		wg.Go(func() {
			var dst []Result
			for i := r; i < n; i += 2 {
				var err error
				dst, err = idx.SearchInto(dst[:0], vecs[i], SearchOptions{K: 3, Filter: func(k uint64) bool { return k%2 == 1 }})
				if err != nil {
					t.Error(err)
					return
				}
				for _, res := range dst {
					if res.Key%2 == 0 {
						t.Errorf("filter violated: %d", res.Key)
						return
					}
				}
				_ = idx.Stats()
			}
		})
	}
	wg.Wait()
	if want := n - n/5; idx.Len() != want {
		t.Fatalf("Len=%d want %d", idx.Len(), want)
	}
	miss := 0
	for i := range n {
		if i%5 == 0 {
			continue
		}
		res, err := idx.Search(vecs[i], SearchOptions{K: 1, Ef: 64})
		if err != nil {
			t.Fatal(err)
		}
		if len(res) == 0 || res[0].Key != uint64(i) {
			miss++
		}
	}
	if miss > n/100 {
		t.Fatalf("%d live vectors not found after concurrent build", miss)
	}
}

func TestSearchDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	rng := rand.New(rand.NewPCG(6, 6))
	vecs := randomVectors(rng, 2000, 64)
	idx := newTestIndex(t, Config{Dim: 64, Seed: 1})
	buildParallel(t, idx, vecs)
	dst := make([]Result, 0, 10)
	q := vecs[17]
	filter := func(k uint64) bool { return k%3 != 0 }
	_, _ = idx.SearchInto(dst, q, SearchOptions{K: 10, Filter: filter}) // warm the pool
	allocs := testing.AllocsPerRun(200, func() {
		var err error
		dst, err = idx.SearchInto(dst[:0], q, SearchOptions{K: 10, Filter: filter})
		if err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("SearchInto allocates %.1f times per call", allocs)
	}
}

func TestMemoryAccounting(t *testing.T) {
	idx := newTestIndex(t, Config{Dim: 128})
	if idx.MemoryBytes() != 0 {
		t.Fatalf("empty index reports %d bytes", idx.MemoryBytes())
	}
	rng := rand.New(rand.NewPCG(7, 7))
	vecs := randomVectors(rng, 3000, 128)
	buildParallel(t, idx, vecs)
	mem := idx.MemoryBytes()
	if floor := int64(3000 * 128 * 4); mem < floor {
		t.Fatalf("memory %d below the raw vector bytes %d", mem, floor)
	}
	if per := idx.BytesPerVector(); per < 128*4 || per > 128*4+1024 {
		t.Fatalf("BytesPerVector=%d out of range", per)
	}
}
