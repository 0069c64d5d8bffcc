package selection

import (
	"fmt"
	"math"
	"sort"
	"sync"
)

// KNN is the algorithm name of learned strong/weak selection.
const KNN = "knn"

// KNNConfig is what a knn selector needs besides its candidates.
type KNNConfig struct {
	// Bank is the pretrained data; nil when none could be found for the
	// embedding model, and then every request uses the first modelRef
	// with Unavailable as the fallback reason.
	Bank        *KNNBank
	Unavailable string
	// K is the neighbour count (`ml.knn.k`); 0 uses the bank's.
	K int
	// Gap is the quality gap (`model_selection.hybrid.quality_gap_threshold`)
	// when HasGap; otherwise the bank's default gap applies.
	Gap    float64
	HasGap bool
}

// KNNCandidate is one modelRef of a knn decision.
type KNNCandidate struct {
	Model string
	// Cost orders the candidates (cheapest first) when every candidate
	// HasCost; otherwise the modelRefs order is the cost order.
	Cost    float64
	HasCost bool
}

// KNNSelector estimates, for each candidate, the probability that it
// answers the query correctly: the kernel-weighted mean outcome of the
// bank's K questions nearest to the query embedding, each weighing
// exp((cos − cos₁)/τ) with cos₁ the nearest one's cosine. It then picks
// the cheapest candidate whose estimate is at most the gap below the best
// estimate. A candidate without a column in the bank is scored by the mean
// estimate of all the bank's columns. A candidate's score
// (Choice.Score, Choice.Scores) is that estimate, in [0,1].
type KNNSelector struct {
	cfg   KNNConfig
	k     int
	gap   float64
	cols  []int // per candidate: the bank column, -1 when none
	order []int // candidate indices, cheapest first
	known bool  // some candidate has a column
	pool  sync.Pool
}

var _ Selector = (*KNNSelector)(nil)

// NewKNNSelector builds a knn selector over cands (the modelRefs order).
func NewKNNSelector(cfg KNNConfig, cands []KNNCandidate) *KNNSelector {
	s := &KNNSelector{cfg: cfg, cols: make([]int, len(cands)), order: make([]int, len(cands))}
	if cfg.Bank == nil && s.cfg.Unavailable == "" {
		s.cfg.Unavailable = reasonKNNNoData
	}
	allCost := len(cands) > 0
	for i, c := range cands {
		s.order[i] = i
		s.cols[i] = -1
		allCost = allCost && c.HasCost
		if cfg.Bank != nil {
			s.cols[i] = cfg.Bank.Column(c.Model)
			s.known = s.known || s.cols[i] >= 0
		}
	}
	if allCost {
		sort.SliceStable(s.order, func(a, b int) bool { return cands[s.order[a]].Cost < cands[s.order[b]].Cost })
	}
	if b := cfg.Bank; b != nil {
		s.k = b.Meta.K
		if cfg.K > 0 {
			s.k = cfg.K
		}
		s.k = min(s.k, b.Meta.N)
		s.gap = b.Meta.Gap
		if cfg.HasGap {
			s.gap = cfg.Gap
		}
		nm := len(b.Meta.Models)
		s.pool.New = func() any { return newKNNScratch(b.Meta.Dims, b.Meta.N, s.k, nm) }
	}
	return s
}

// Gap is the quality gap the selector applies.
func (s *KNNSelector) Gap() float64 { return s.gap }

// K is the neighbour count the selector uses.
func (s *KNNSelector) K() int { return s.k }

const (
	reasonKNNNoQuery = "knn: no query embedding; used the first modelRef"
	reasonKNNDims    = "knn: the query embedding's dimensions differ from the pretrained data's; used the first modelRef"
	reasonKNNNoCol   = "knn: no modelRef has a column in the pretrained data; used the first modelRef"
	reasonKNNNoData  = "knn: no pretrained data; used the first modelRef"
)

// Select estimates every candidate on in.Query and applies the gap rule.
func (s *KNNSelector) Select(in Input) (Choice, error) {
	switch {
	case len(s.cols) == 0:
		return Choice{}, ErrNoCandidates
	case len(s.cols) == 1:
		return Choice{Index: 0, Algorithm: KNN}, nil
	case s.cfg.Bank == nil:
		return Choice{Index: 0, Algorithm: Static, Fallback: s.cfg.Unavailable}, nil
	case len(in.Query) == 0:
		return Choice{Index: 0, Algorithm: Static, Fallback: reasonKNNNoQuery}, nil
	case len(in.Query) != s.cfg.Bank.Meta.Dims:
		return Choice{Index: 0, Algorithm: Static, Fallback: reasonKNNDims}, nil
	case !s.known:
		return Choice{Index: 0, Algorithm: Static, Fallback: reasonKNNNoCol}, nil
	}
	sc := s.pool.Get().(*knnScratch)
	defer s.pool.Put(sc)
	if !s.cfg.Bank.estimate(in.Query, s.k, sc) {
		return Choice{Index: 0, Algorithm: Static, Fallback: reasonKNNNoQuery}, nil
	}
	var mean float64
	for _, p := range sc.est {
		mean += p
	}
	mean /= float64(len(sc.est))
	score := func(i int) float64 {
		if c := s.cols[i]; c >= 0 {
			return sc.est[c]
		}
		return mean
	}
	best := math.Inf(-1)
	out := scoresOut(in, len(s.cols))
	for i := range s.cols {
		p := score(i)
		best = math.Max(best, p)
		if out != nil {
			out[i] = p
		}
	}
	for _, i := range s.order {
		if p := score(i); p >= best-s.gap {
			return Choice{Index: i, Algorithm: KNN, Score: p, Scores: out}, nil
		}
	}
	// unreachable: the best candidate always qualifies
	return Choice{Index: s.order[0], Algorithm: KNN, Score: score(s.order[0]), Scores: out}, nil
}

// Estimate returns, for every model column of the bank, the kernel-weighted
// correctness of the k stored questions nearest to q (k ≤ 0: the bank's
// K). It is the estimator the knn selector uses.
func (b *KNNBank) Estimate(q []float32, k int) ([]float64, error) {
	if len(q) != b.Meta.Dims {
		return nil, fmt.Errorf("knn estimate: query has %d dimensions, the bank %d", len(q), b.Meta.Dims)
	}
	if k <= 0 {
		k = b.Meta.K
	}
	k = min(k, b.Meta.N)
	sc := newKNNScratch(b.Meta.Dims, b.Meta.N, k, len(b.Meta.Models))
	if !b.estimate(q, k, sc) {
		return nil, fmt.Errorf("knn estimate: query is zero or not finite")
	}
	return sc.est, nil
}

// knnScratch is the per-request working memory of one estimate.
type knnScratch struct {
	q    []int8
	q64  []int64
	heap []knnHit
	est  []float64
}

// knnHit is one stored row; sim is its cosine divided by the query's
// quantisation scale (the scale is the same for every row).
type knnHit struct {
	sim float32
	j   int32
}

func newKNNScratch(dims, n, k, models int) *knnScratch {
	return &knnScratch{q: make([]int8, dims), q64: make([]int64, dims), heap: make([]knnHit, 0, k), est: make([]float64, models)}
}

// worse orders hits: lower similarity first, then the higher row index, so
// ties resolve to the lower row and estimates are deterministic.
func (h knnHit) worse(o knnHit) bool { return h.sim < o.sim || h.sim == o.sim && h.j > o.j }

// estimate fills sc.est for query q with the k nearest rows; false when q
// is zero or not finite.
func (b *KNNBank) estimate(q []float32, k int, sc *knnScratch) bool {
	qs, ok := quantize(q, sc.q)
	if !ok {
		return false
	}
	for i, x := range sc.q {
		sc.q64[i] = int64(x)
	}
	d := b.Meta.Dims
	h := sc.heap[:0]
	push := func(hit knnHit) {
		if len(h) < k {
			h = append(h, hit)
			for c := len(h) - 1; c > 0; {
				p := (c - 1) / 2
				if !h[c].worse(h[p]) {
					break
				}
				h[c], h[p] = h[p], h[c]
				c = p
			}
			return
		}
		if !h[0].worse(hit) {
			return
		}
		h[0] = hit
		for p := 0; ; {
			l, r, m := 2*p+1, 2*p+2, p
			if l < k && h[l].worse(h[m]) {
				m = l
			}
			if r < k && h[r].worse(h[m]) {
				m = r
			}
			if m == p {
				break
			}
			h[p], h[m] = h[m], h[p]
			p = m
		}
	}
	for p := 0; p*2 < b.Meta.N; p++ {
		lo, hi := dotPair(sc.q64, b.pairs[p*d:(p+1)*d])
		j := 2 * p
		push(knnHit{sim: float32(lo) * b.scale[j], j: int32(j)})
		if j+1 < b.Meta.N {
			push(knnHit{sim: float32(hi) * b.scale[j+1], j: int32(j + 1)})
		}
	}
	sc.heap = h
	var top float32
	for i, x := range h {
		if i == 0 || x.sim > top {
			top = x.sim
		}
	}
	for m := range sc.est {
		sc.est[m] = 0
	}
	var wsum float64
	inv := 1 / b.Meta.Tau
	for _, x := range h {
		w := math.Exp(float64(x.sim-top) * float64(qs) * inv)
		wsum += w
		for m := range sc.est {
			if b.Outcome(m, int(x.j)) {
				sc.est[m] += w
			}
		}
	}
	for m := range sc.est {
		sc.est[m] /= wsum
	}
	return true
}

// dotPair is the two dot products of q with a pair of interleaved rows
// (see KNNBank): the low lane's and the high lane's.
func dotPair(q []int64, pair []int64) (lo, hi int32) {
	pair = pair[:len(q)]
	var s0, s1 int64
	i := 0
	for ; i+2 <= len(q); i += 2 {
		s0 += q[i] * pair[i]
		s1 += q[i+1] * pair[i+1]
	}
	for ; i < len(q); i++ {
		s0 += q[i] * pair[i]
	}
	t := s0 + s1
	lo = int32(t)
	return lo, int32((t - int64(lo)) >> 32)
}
