package hnsw

import (
	"runtime"
	"sync"
)

// Compact rebuilds the graph from the live vectors, dropping tombstones and
// releasing their memory. It holds the structure lock for the whole rebuild
// (linking runs on all CPUs), so callers run it when tombstones clearly
// outnumber what slot reuse will absorb (see NeedsCompaction).
func (x *Index) Compact() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.allocMu.Lock()
	type item struct {
		key uint64
		vec []float32
	}
	live := int(x.live.Load())
	items := make([]item, 0, live)
	vecs := make([]float32, live*x.dim)
	for id := range x.next.Load() {
		nm := x.meta(id)
		if nm.deleted.Load() {
			continue
		}
		v := vecs[len(items)*x.dim : (len(items)+1)*x.dim]
		copy(v, x.vec(id))
		items = append(items, item{key: nm.key, vec: v})
	}
	x.resetLocked()
	type job struct {
		id    uint32
		level int32
	}
	jobs := make([]job, 0, len(items))
	for _, it := range items {
		id, level, link := x.prepare(it.key, it.vec, true)
		if link {
			jobs = append(jobs, job{id, level})
		}
	}
	x.allocMu.Unlock()
	workers := max(runtime.GOMAXPROCS(0), 1)
	var wg sync.WaitGroup
	next := make(chan job)
	for range workers {
		wg.Go(func() {
			s := x.getSearcher()
			defer x.searcher.Put(s)
			for j := range next {
				x.link(s, j.id, j.level)
			}
		})
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
}

// NeedsCompaction reports whether tombstones exceed the live vectors (and a
// floor of one chunk), the point where a rebuild pays for itself.
func (x *Index) NeedsCompaction() bool {
	dead := x.dead.Load()
	return dead > chunkSize && dead > x.live.Load()
}

// Reset drops every vector.
func (x *Index) Reset() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.allocMu.Lock()
	defer x.allocMu.Unlock()
	x.resetLocked()
}

func (x *Index) resetLocked() {
	x.chunks = nil
	x.next.Store(0)
	x.keys = make(map[uint64]uint32)
	x.free = nil
	x.live.Store(0)
	x.dead.Store(0)
	x.upperB = 0
	x.epMu.Lock()
	x.ep, x.maxLevel, x.hasEP = 0, 0, false
	x.epMu.Unlock()
}
