package hnsw

import "fmt"

type cand struct {
	d  float32 // distance: negated similarity, lower is closer
	id uint32
}

// searcher is the per-call scratch space, pooled so searches do not allocate.
type searcher struct {
	query   []float32
	visited []uint32
	gen     uint32
	cands   []cand // min-heap
	results []cand // max-heap
	res     []cand // sorted output of searchLayer
	eps     []cand
	nbuf    []uint32
	sel     []cand
	heur    []cand
	heurV   [][]float32
	shrink  []cand
}

func newSearcher(dim int) *searcher {
	return &searcher{query: make([]float32, dim)}
}

func (x *Index) getSearcher() *searcher {
	return x.searcher.Get().(*searcher)
}

// resetVisited starts a new visit generation covering n slots.
func (s *searcher) resetVisited(n uint32) {
	if uint32(len(s.visited)) < n {
		s.visited = make([]uint32, n+n/4+64)
		s.gen = 0
	}
	s.gen++
	if s.gen == 0 {
		clear(s.visited)
		s.gen = 1
	}
}

// visit marks id and reports whether it was already marked. Slots handed
// out after the search started grow the set.
func (s *searcher) visit(id uint32) bool {
	if int(id) >= len(s.visited) {
		grown := make([]uint32, int(id)+int(id)/4+64)
		copy(grown, s.visited)
		s.visited = grown
	}
	if s.visited[id] == s.gen {
		return true
	}
	s.visited[id] = s.gen
	return false
}

func pushMin(h []cand, c cand) []cand {
	h = append(h, c)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if h[p].d <= h[i].d {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
	return h
}

func popMin(h []cand) ([]cand, cand) {
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h[r].d < h[l].d {
			m = r
		}
		if h[i].d <= h[m].d {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	return h, top
}

func pushMax(h []cand, c cand) []cand {
	h = append(h, c)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if h[p].d >= h[i].d {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
	return h
}

func popMax(h []cand) ([]cand, cand) {
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h[r].d > h[l].d {
			m = r
		}
		if h[i].d >= h[m].d {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	return h, top
}

// sortCands sorts by ascending distance (insertion sort: lists are short).
func sortCands(c []cand) {
	for i := 1; i < len(c); i++ {
		v := c[i]
		j := i - 1
		for j >= 0 && c[j].d > v.d {
			c[j+1] = c[j]
			j--
		}
		c[j+1] = v
	}
}

// drainSorted empties the max-heap h into out in ascending distance order.
func drainSorted(out, h []cand) ([]cand, []cand) {
	n := len(h)
	if cap(out) < n {
		out = make([]cand, n)
	}
	out = out[:n]
	for i := n - 1; i >= 0; i-- {
		var c cand
		h, c = popMax(h)
		out[i] = c
	}
	return out, h
}

// greedy walks layer l from cur towards q, one best neighbour at a time.
func (x *Index) greedy(s *searcher, q []float32, cur uint32, curD float32, l int, exclude uint32) (uint32, float32) {
	for changed := true; changed; {
		changed = false
		s.nbuf = x.neighbours(s.nbuf, cur, l)
		for _, n := range s.nbuf {
			if n == exclude {
				continue
			}
			if d := -dot(q, x.vec(n)); d < curD {
				cur, curD, changed = n, d, true
			}
		}
	}
	return cur, curD
}

// searchLayer is the ef-bounded best-first search on layer l. Every node is
// a waypoint; only accepted nodes enter the result set. Queries (building
// false) accept live nodes that pass filter; construction accepts every node
// but exclude, tombstones included, so the graph stays connected through
// them until their slots are reused. The result aliases s.res, sorted
// ascending.
func (x *Index) searchLayer(s *searcher, q []float32, eps []cand, ef, l int, filter func(uint64) bool, exclude uint32, building bool) []cand {
	s.resetVisited(x.next.Load())
	s.cands = s.cands[:0]
	s.results = s.results[:0]
	accept := func(id uint32) bool {
		if building {
			return id != exclude
		}
		nm := x.meta(id)
		return !nm.deleted.Load() && (filter == nil || filter(nm.key))
	}
	for _, e := range eps {
		if s.visit(e.id) {
			continue
		}
		s.cands = pushMin(s.cands, e)
		if accept(e.id) {
			s.results = pushMax(s.results, e)
			if len(s.results) > ef {
				s.results, _ = popMax(s.results)
			}
		}
	}
	for len(s.cands) > 0 {
		var c cand
		s.cands, c = popMin(s.cands)
		if len(s.results) >= ef && c.d > s.results[0].d {
			break
		}
		s.nbuf = x.neighbours(s.nbuf, c.id, l)
		for _, n := range s.nbuf {
			if s.visit(n) {
				continue
			}
			d := -dot(q, x.vec(n))
			if len(s.results) < ef || d < s.results[0].d {
				s.cands = pushMin(s.cands, cand{d: d, id: n})
				if accept(n) {
					s.results = pushMax(s.results, cand{d: d, id: n})
					if len(s.results) > ef {
						s.results, _ = popMax(s.results)
					}
				}
			}
		}
	}
	s.res, s.results = drainSorted(s.res, s.results)
	return s.res
}

// SearchOptions tunes one search.
type SearchOptions struct {
	// K is the number of results (default 1).
	K int
	// Ef overrides the configured search candidate list size.
	Ef int
	// Filter, when set, admits only keys for which it returns true.
	Filter func(key uint64) bool
	// Candidates, when set, lists every key the filter admits (for example
	// a partition's members); up to Config.ExactThreshold of them are
	// scored exactly instead of walking the graph.
	Candidates []uint64
	// FilterSize, when positive, is how many live keys Filter admits. A
	// selective filter widens ef by the inverse selectivity (up to 16x) so
	// recall holds, and when a linear scan of the index is cheaper than that
	// widened walk, the scan runs instead.
	FilterSize int
}

// scanCheaper estimates, in dot products, a graph walk with ef against a
// filtered scan of every slot (a slot that fails the filter costs about a
// tenth of a dot product).
func scanCheaper(ef, admitted, slots int) bool {
	const visitsPerEf = 16
	return admitted+slots/10 < ef*visitsPerEf
}

// Search returns up to K live vectors most similar to q, best first.
func (x *Index) Search(q []float32, opts SearchOptions) ([]Result, error) {
	return x.SearchInto(nil, q, opts)
}

// SearchInto is Search appending to dst; with a dst of enough capacity it
// does not allocate.
func (x *Index) SearchInto(dst []Result, q []float32, opts SearchOptions) ([]Result, error) {
	if len(q) != x.dim {
		return dst, fmt.Errorf("%w: got %d, want %d", ErrDimension, len(q), x.dim)
	}
	s := x.getSearcher()
	defer x.searcher.Put(s)
	if !Normalize(s.query, q) {
		return dst, ErrZeroVector
	}
	k := max(opts.K, 1)
	ef := opts.Ef
	if ef <= 0 {
		ef = x.cfg.Ef
	}
	ef = max(ef, k)

	x.mu.RLock()
	defer x.mu.RUnlock()
	if opts.Candidates != nil && len(opts.Candidates) <= x.cfg.ExactThreshold {
		return x.exactKeys(dst, s, opts.Candidates, k, opts.Filter), nil
	}
	admitted := opts.FilterSize
	if admitted <= 0 && opts.Candidates != nil {
		admitted = len(opts.Candidates)
	}
	if opts.Filter != nil && admitted > 0 {
		if live := int(x.live.Load()); live > 0 {
			ef *= min(max(live/admitted, 1), 16)
		}
		if scanCheaper(ef, admitted, int(x.next.Load())) {
			return x.scanInto(dst, s, k, opts.Filter), nil
		}
	}
	x.epMu.Lock()
	ep, top, has := x.ep, x.maxLevel, x.hasEP
	x.epMu.Unlock()
	if !has || x.live.Load() == 0 {
		return dst, nil
	}
	cur := ep
	curD := -dot(s.query, x.vec(cur))
	for l := top; l > 0; l-- {
		cur, curD = x.greedy(s, s.query, cur, curD, int(l), ^uint32(0))
	}
	s.eps = append(s.eps[:0], cand{d: curD, id: cur})
	res := x.searchLayer(s, s.query, s.eps, ef, 0, opts.Filter, ^uint32(0), false)
	for i := 0; i < len(res) && i < k; i++ {
		dst = append(dst, Result{Key: x.meta(res[i].id).key, Score: -res[i].d})
	}
	return dst, nil
}

// exactKeys scores the given keys exactly; mu is held.
func (x *Index) exactKeys(dst []Result, s *searcher, keys []uint64, k int, filter func(uint64) bool) []Result {
	s.results = s.results[:0]
	s.nbuf = s.nbuf[:0]
	x.allocMu.Lock()
	for _, key := range keys {
		if id, ok := x.keys[key]; ok {
			s.nbuf = append(s.nbuf, id)
		}
	}
	x.allocMu.Unlock()
	for _, id := range s.nbuf {
		nm := x.meta(id)
		if nm.deleted.Load() || (filter != nil && !filter(nm.key)) {
			continue
		}
		d := -dot(s.query, x.vec(id))
		if len(s.results) < k || d < s.results[0].d {
			s.results = pushMax(s.results, cand{d: d, id: id})
			if len(s.results) > k {
				s.results, _ = popMax(s.results)
			}
		}
	}
	s.res, s.results = drainSorted(s.res, s.results)
	for _, c := range s.res {
		dst = append(dst, Result{Key: x.meta(c.id).key, Score: -c.d})
	}
	return dst
}

// ExactSearch scans every live vector; it is the ground truth for recall
// and the right choice for tiny indexes.
func (x *Index) ExactSearch(q []float32, k int, filter func(uint64) bool) ([]Result, error) {
	if len(q) != x.dim {
		return nil, fmt.Errorf("%w: got %d, want %d", ErrDimension, len(q), x.dim)
	}
	s := x.getSearcher()
	defer x.searcher.Put(s)
	if !Normalize(s.query, q) {
		return nil, ErrZeroVector
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.scanInto(nil, s, max(k, 1), filter), nil
}

// scanInto scores every live slot that passes filter; mu is held.
func (x *Index) scanInto(dst []Result, s *searcher, k int, filter func(uint64) bool) []Result {
	s.results = s.results[:0]
	x.allocMu.Lock()
	n := x.next.Load()
	x.allocMu.Unlock()
	for id := range n {
		nm := x.meta(id)
		if nm.deleted.Load() || (filter != nil && !filter(nm.key)) {
			continue
		}
		d := -dot(s.query, x.vec(id))
		if len(s.results) < k || d < s.results[0].d {
			s.results = pushMax(s.results, cand{d: d, id: id})
			if len(s.results) > k {
				s.results, _ = popMax(s.results)
			}
		}
	}
	s.res, s.results = drainSorted(s.res, s.results)
	for _, c := range s.res {
		dst = append(dst, Result{Key: x.meta(c.id).key, Score: -c.d})
	}
	return dst
}

// Similarity returns the cosine similarity between q and the stored vector
// of key.
func (x *Index) Similarity(key uint64, q []float32) (float32, error) {
	if len(q) != x.dim {
		return 0, fmt.Errorf("%w: got %d, want %d", ErrDimension, len(q), x.dim)
	}
	s := x.getSearcher()
	defer x.searcher.Put(s)
	if !Normalize(s.query, q) {
		return 0, ErrZeroVector
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	x.allocMu.Lock()
	id, ok := x.keys[key]
	x.allocMu.Unlock()
	if !ok {
		return 0, ErrNotFound
	}
	return dot(s.query, x.vec(id)), nil
}
