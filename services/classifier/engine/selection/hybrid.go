package selection

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
)

// Hybrid is the algorithm name of the weighted blend of selection signals.
const Hybrid = "hybrid"

// HybridWeights weighs the four components of hybrid selection. They need
// not sum to 1: the components that can be scored for a request are
// blended with their weights divided by the sum of those weights.
type HybridWeights struct {
	// Experience weighs the knn estimate of each model answering the
	// query correctly (the pretrained outcomes of past questions).
	Experience float64
	// RouterDC weighs the cosine similarity of the query embedding to the
	// model card's description embedding.
	RouterDC float64
	// AutoMix weighs the model card's quality_score, the prior belief in a
	// model's answer that AutoMix's self-verification would refine (no
	// model is called at selection time).
	AutoMix float64
	// Cost weighs cheapness: 1 − price/most expensive price, by pricing
	// (prompt + completion per 1M tokens).
	Cost float64
}

// HybridConfig mirrors `algorithm.hybrid` (or the global defaults under
// `global.router.model_selection.hybrid`).
type HybridConfig struct {
	Weights HybridWeights
	// Gap is quality_gap_threshold: the cheapest candidate whose blended
	// score is at most Gap below the best one is chosen (0: the best, ties
	// to the cheaper).
	Gap float64
	// Normalize min–max normalises every component over the candidates of
	// the request before blending (normalize_scores).
	Normalize bool
	// KNN is the pretrained data of the experience component; nil, or a
	// nil Bank, leaves experience out (KNN.Unavailable says why).
	KNN *KNNConfig
}

// HybridCandidate is one modelRef of a hybrid decision.
type HybridCandidate struct {
	Model string
	// Desc is the embedding of the model card's description; nil when the
	// card has none or it could not be embedded.
	Desc []float32
	// Quality is the model card's quality_score when HasQuality.
	Quality    float64
	HasQuality bool
	// Cost is the price per 1M tokens (prompt + completion) when HasCost.
	Cost    float64
	HasCost bool
}

// hybrid component indices, also bit positions in a component mask
const (
	compExperience = iota
	compRouterDC
	compAutoMix
	compCost
	numComponents
)

// componentName is a component's name as in its weight's key.
func componentName(c int) string {
	return [numComponents]string{"experience", "router_dc", "automix", "cost"}[c]
}

// request-time reasons a query-based component drops out
const (
	dropNone    = iota
	dropNoQuery // no (or a zero) query embedding: experience and router_dc
	dropExpDims // the query's dimensions differ from the pretrained data's
	dropDCDims  // … from the description embeddings'
	dropBoth    // both of the above
	numDrops
)

// HybridSelector scores every candidate as the weighted mean of its
// available component scores (see HybridWeights), optionally min–max
// normalised per component over the candidates, and picks the cheapest
// candidate within the quality gap of the best score. A component that
// cannot be scored for a request (no query embedding, no pretrained data,
// a candidate without description, quality_score or pricing) is left out
// for every candidate and the remaining weights are renormalised; the
// choice then carries a Fallback saying what was left out and why. With
// no component left, the first modelRef is used. A candidate's score
// (Choice.Score, Choice.Scores) is its blend, in [0,1] when every blended
// component is (always with Normalize; without it a negative router_dc
// cosine can pull a blend below 0).
type HybridSelector struct {
	w      [numComponents]float64
	gap    float64
	norm   bool
	n      int
	static uint8 // components with a positive weight that the candidates support
	// per candidate
	desc     [][]float32
	descDims int
	quality  []float64
	cheap    []float64 // 1 − cost/max cost
	order    []int     // cheapest first (modelRefs order without full pricing)
	// experience
	bank *KNNBank
	k    int
	cols []int
	pool sync.Pool
	// precomputed texts, so Select does not format
	detail   [1 << numComponents]string
	fallback [numDrops]string
}

var _ Selector = (*HybridSelector)(nil)

// maxHybridStack is the candidate count Select scores without allocating.
const maxHybridStack = 16

// NewHybridSelector validates cfg and builds the selector over cands (the
// modelRefs order).
func NewHybridSelector(cfg HybridConfig, cands []HybridCandidate) (*HybridSelector, error) {
	w := [numComponents]float64{cfg.Weights.Experience, cfg.Weights.RouterDC, cfg.Weights.AutoMix, cfg.Weights.Cost}
	var errs []error
	sum := 0.0
	for c, x := range w {
		if x < 0 || math.IsNaN(x) || math.IsInf(x, 0) {
			errs = append(errs, fmt.Errorf("%s_weight must be a non-negative number, got %v", componentName(c), x))
		}
		sum += x
	}
	if len(errs) == 0 && sum <= 0 {
		errs = append(errs, errors.New("at least one weight must be positive"))
	}
	if cfg.Gap < 0 || math.IsNaN(cfg.Gap) {
		errs = append(errs, fmt.Errorf("quality_gap_threshold must not be negative, got %v", cfg.Gap))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	n := len(cands)
	s := &HybridSelector{w: w, gap: cfg.Gap, norm: cfg.Normalize, n: n,
		desc: make([][]float32, n), quality: make([]float64, n), cheap: make([]float64, n), order: make([]int, n), cols: make([]int, n)}
	// why each component is unavailable for every request ("" when it is
	// available or has no weight)
	var why [numComponents]string

	// experience
	if w[compExperience] > 0 {
		switch {
		case cfg.KNN == nil || cfg.KNN.Bank == nil:
			why[compExperience] = "no pretrained data"
			if cfg.KNN != nil && cfg.KNN.Unavailable != "" {
				why[compExperience] = strings.TrimSuffix(strings.TrimPrefix(cfg.KNN.Unavailable, "knn: "), "; used the first modelRef")
			}
		default:
			b := cfg.KNN.Bank
			known := false
			for i, c := range cands {
				s.cols[i] = b.Column(c.Model)
				known = known || s.cols[i] >= 0
			}
			if !known {
				why[compExperience] = "no modelRef has a column in the pretrained data"
				break
			}
			s.bank = b
			s.k = b.Meta.K
			if cfg.KNN.K > 0 {
				s.k = cfg.KNN.K
			}
			s.k = min(s.k, b.Meta.N)
			nm := len(b.Meta.Models)
			s.pool.New = func() any { return newKNNScratch(b.Meta.Dims, b.Meta.N, s.k, nm) }
		}
	}
	// router_dc
	var noDesc, noQuality, noCost []string
	for i, c := range cands {
		s.order[i] = i
		switch {
		case len(c.Desc) == 0:
			noDesc = append(noDesc, c.Model)
		case s.descDims == 0:
			s.descDims = len(c.Desc)
			s.desc[i] = c.Desc
		case len(c.Desc) != s.descDims:
			noDesc = append(noDesc, c.Model)
		default:
			s.desc[i] = c.Desc
		}
		s.quality[i] = c.Quality
		if !c.HasQuality {
			noQuality = append(noQuality, c.Model)
		}
		if !c.HasCost {
			noCost = append(noCost, c.Model)
		}
	}
	if len(noDesc) > 0 {
		why[compRouterDC] = "no description embedding for " + quoteList(noDesc)
	}
	if len(noQuality) > 0 {
		why[compAutoMix] = "no quality_score for " + quoteList(noQuality)
	}
	if len(noCost) > 0 {
		why[compCost] = "no pricing for " + quoteList(noCost)
	} else if n > 0 {
		maxCost := 0.0
		for _, c := range cands {
			maxCost = math.Max(maxCost, c.Cost)
		}
		for i, c := range cands {
			s.cheap[i] = 1
			if maxCost > 0 {
				s.cheap[i] = 1 - c.Cost/maxCost
			}
		}
		sort.SliceStable(s.order, func(a, b int) bool { return cands[s.order[a]].Cost < cands[s.order[b]].Cost })
	}
	var configured uint8
	for c := range numComponents {
		if w[c] > 0 {
			configured |= 1 << c
			if why[c] == "" {
				s.static |= 1 << c
			}
		}
	}
	for m := range s.detail {
		s.detail[m] = describeMask(uint8(m))
	}
	const noQ, expDims, dcDims = "no query embedding", "the query embedding's dimensions differ from the pretrained data's", "the query embedding's dimensions differ from the descriptions'"
	for d := range numDrops {
		// a request-time reason only for a component the candidates support
		var exp, dc string
		switch d {
		case dropNoQuery:
			exp, dc = noQ, noQ
		case dropExpDims:
			exp = expDims
		case dropDCDims:
			dc = dcDims
		case dropBoth:
			exp, dc = expDims, dcDims
		}
		reasons, used := why, s.static
		if why[compExperience] == "" && exp != "" {
			reasons[compExperience] = exp
			used &^= 1 << compExperience
		}
		if why[compRouterDC] == "" && dc != "" {
			reasons[compRouterDC] = dc
			used &^= 1 << compRouterDC
		}
		var left []string
		for c := range numComponents {
			if configured&(1<<c) != 0 && used&(1<<c) == 0 {
				left = append(left, componentName(c)+" ("+reasons[c]+")")
			}
		}
		switch {
		case len(left) == 0:
		case used == 0:
			s.fallback[d] = "hybrid: left out " + strings.Join(left, ", ") + "; no component left, used the first modelRef"
		default:
			s.fallback[d] = "hybrid: left out " + strings.Join(left, ", ") + "; scored on " + describeMask(used)
		}
	}
	return s, nil
}

func quoteList(models []string) string {
	q := make([]string, len(models))
	for i, m := range models {
		q[i] = fmt.Sprintf("%q", m)
	}
	return strings.Join(q, ", ")
}

// describeMask names the components of mask joined by "+".
func describeMask(mask uint8) string {
	var parts []string
	for c := range numComponents {
		if mask&(1<<c) != 0 {
			parts = append(parts, componentName(c))
		}
	}
	return strings.Join(parts, "+")
}

// Gap is the quality gap the selector applies to blended scores.
func (s *HybridSelector) Gap() float64 { return s.gap }

// Select blends the available components for in.Query.
func (s *HybridSelector) Select(in Input) (Choice, error) {
	switch s.n {
	case 0:
		return Choice{}, ErrNoCandidates
	case 1:
		return Choice{Index: 0, Algorithm: Hybrid}, nil
	}
	const exp, dc = 1 << compExperience, 1 << compRouterDC
	mask, drop, q := s.static, dropNone, in.Query
	if mask&(exp|dc) != 0 {
		expBad := mask&exp != 0 && len(q) != s.bank.Meta.Dims
		dcBad := mask&dc != 0 && len(q) != s.descDims
		switch {
		case len(q) == 0:
			drop = dropNoQuery
		case expBad && dcBad:
			drop = dropBoth
		case expBad:
			drop = dropExpDims
		case dcBad:
			drop = dropDCDims
		}
	}
	var buf [numComponents][maxHybridStack]float64
	var rows [numComponents][]float64
	row := func(c int) []float64 {
		if s.n <= maxHybridStack {
			return buf[c][:s.n]
		}
		return make([]float64, s.n)
	}
	if mask&exp != 0 && drop != dropNoQuery && drop != dropBoth && drop != dropExpDims {
		sc := s.pool.Get().(*knnScratch)
		defer s.pool.Put(sc)
		if s.bank.estimate(q, s.k, sc) {
			r := row(compExperience)
			var mean float64
			for _, p := range sc.est {
				mean += p
			}
			mean /= float64(len(sc.est))
			for i, col := range s.cols {
				r[i] = mean
				if col >= 0 {
					r[i] = sc.est[col]
				}
			}
			rows[compExperience] = r
		} else {
			drop = dropNoQuery // zero or not finite: no usable query
		}
	}
	if mask&dc != 0 && drop != dropNoQuery && drop != dropBoth && drop != dropDCDims {
		r := row(compRouterDC)
		for i, d := range s.desc {
			r[i] = cosine(q, d)
			if math.IsNaN(r[i]) {
				drop, rows[compExperience] = dropNoQuery, nil // not finite: no usable query
				break
			}
		}
		if drop != dropNoQuery {
			rows[compRouterDC] = r
		}
	}
	if mask&(1<<compAutoMix) != 0 {
		rows[compAutoMix] = s.quality
	}
	if mask&(1<<compCost) != 0 {
		rows[compCost] = s.cheap
	}
	used, wsum := uint8(0), 0.0
	for c, r := range rows {
		if r != nil {
			used |= 1 << c
			wsum += s.w[c]
		}
	}
	if used == 0 {
		return Choice{Index: 0, Algorithm: Static, Fallback: s.fallback[drop]}, nil
	}
	var sbuf [maxHybridStack]float64
	score := sbuf[:0]
	if s.n > maxHybridStack {
		score = make([]float64, 0, s.n)
	}
	score = score[:s.n]
	for c, r := range rows {
		if r == nil {
			continue
		}
		lo, hi := r[0], r[0]
		for _, x := range r {
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
		wc := s.w[c] / wsum
		for i, x := range r {
			if s.norm {
				x = 0
				if hi > lo {
					x = (r[i] - lo) / (hi - lo)
				}
			}
			score[i] += wc * x
		}
	}
	best := math.Inf(-1)
	for _, x := range score {
		best = math.Max(best, x)
	}
	// the best candidate always qualifies; 1e-12 absorbs rounding between
	// equal blends
	pick := s.order[0]
	for _, i := range s.order {
		if score[i] >= best-s.gap-1e-12 {
			pick = i
			break
		}
	}
	out := scoresOut(in, s.n)
	copy(out, score)
	return Choice{Index: pick, Algorithm: Hybrid, Score: score[pick], Fallback: s.fallback[drop], Detail: s.detail[used], Scores: out}, nil
}
