package hnsw

// Neighbour lists hold (distance, id) pairs sorted by ascending distance to
// the owning node, so adding a reverse link costs at most one pass of dot
// products instead of re-running the selection heuristic over the list.

// list returns the neighbour list of id on layer l (nil when the node has no
// such layer); the caller holds the node's stripe lock.
func (x *Index) list(id uint32, l int) []cand {
	if l == 0 {
		c := x.chunks[id>>chunkShift]
		off := int(id&chunkMask) * x.m0
		return c.links0[off : off+int(c.count0[id&chunkMask]) : off+x.m0]
	}
	nm := x.meta(id)
	if l > int(nm.level) || l-1 >= len(nm.upper) {
		return nil
	}
	return nm.upper[l-1]
}

// storeList records a list produced by appending to or reslicing list(id, l);
// the caller holds the node's stripe lock.
func (x *Index) storeList(id uint32, l int, lst []cand) {
	if l == 0 {
		x.chunks[id>>chunkShift].count0[id&chunkMask] = uint32(len(lst))
		return
	}
	x.meta(id).upper[l-1] = lst
}

// setListLocked replaces the neighbours of id on layer l with sel (sorted
// ascending); the caller holds the node's stripe lock.
func (x *Index) setListLocked(id uint32, l int, sel []cand) {
	lst := x.list(id, l)
	if lst == nil && l > 0 {
		return
	}
	lst = append(lst[:0], sel[:min(len(sel), x.maxNeighbours(l))]...)
	x.storeList(id, l, lst)
}

// neighbours copies the neighbour ids of id on layer l into dst under the
// node's stripe lock.
func (x *Index) neighbours(dst []uint32, id uint32, l int) []uint32 {
	dst = dst[:0]
	mu := x.lock(id)
	mu.Lock()
	for _, c := range x.list(id, l) {
		dst = append(dst, c.id)
	}
	mu.Unlock()
	return dst
}

// addReverse links n -> id on layer l, where d is their distance. A full
// list admits id only if no closer neighbour of n is closer to id than n is
// (the selection heuristic, applied incrementally); farther neighbours that
// id now dominates are dropped, and the list is cut back to its maximum.
func (x *Index) addReverse(s *searcher, n, id uint32, d float32, l int) {
	mu := x.lock(n)
	mu.Lock()
	defer mu.Unlock()
	lst := x.list(n, l)
	if lst == nil && l > 0 {
		return
	}
	for _, c := range lst {
		if c.id == id {
			return
		}
	}
	maxN := x.maxNeighbours(l)
	p := 0
	for p < len(lst) && lst[p].d <= d {
		p++
	}
	if len(lst) < maxN {
		lst = append(lst, cand{})
		copy(lst[p+1:], lst[p:])
		lst[p] = cand{d: d, id: id}
		x.storeList(n, l, lst)
		return
	}
	if p >= maxN {
		return
	}
	iv := x.vec(id)
	for _, c := range lst[:p] {
		if -dot(iv, x.vec(c.id)) < d {
			return // a closer neighbour already covers id's direction
		}
	}
	// Insert at p, then keep only the farther neighbours id does not dominate.
	out := lst[:p]
	s.shrink = append(s.shrink[:0], lst[p:]...)
	rest := s.shrink
	out = append(out, cand{d: d, id: id})
	for _, c := range rest {
		if len(out) >= maxN {
			break
		}
		if -dot(x.vec(c.id), iv) < c.d {
			continue // id is closer to c than n is: the edge n->c is redundant
		}
		out = append(out, c)
	}
	x.storeList(n, l, out)
}

// selectHeuristic keeps a candidate only when it is closer to the base than
// to every already-kept neighbour (the HNSW paper's heuristic). cands must be
// sorted by ascending distance; the result aliases s.heur.
func (x *Index) selectHeuristic(s *searcher, cands []cand, m int, self uint32) []cand {
	s.heur = s.heur[:0]
	s.heurV = s.heurV[:0]
	for _, c := range cands {
		if len(s.heur) >= m {
			break
		}
		if c.id == self {
			continue
		}
		cv := x.vec(c.id)
		good := true
		for _, kv := range s.heurV {
			if -dot(cv, kv) < c.d {
				good = false
				break
			}
		}
		if good {
			s.heur = append(s.heur, c)
			s.heurV = append(s.heurV, cv)
		}
	}
	return s.heur
}
