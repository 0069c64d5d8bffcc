// Package semantic evaluates the embedding-based signal families: embedding
// similarity rules, complexity, re-asks and preferences. Candidate phrases
// are embedded once per config revision and condensed into prototypes; a
// request needs only its query embedding.
package semantic

import (
	"errors"
	"math"
)

// PrototypeOptions controls how candidate phrases become prototypes and how
// a query is scored against them.
type PrototypeOptions struct {
	// Enabled clusters candidates into prototypes; when false every
	// candidate is its own prototype.
	Enabled bool
	// ClusterSimilarity merges a candidate into an existing prototype when
	// their cosine similarity reaches it (default 0.9).
	ClusterSimilarity float64
	// MaxPrototypes caps the prototypes of one bank (default 8).
	MaxPrototypes int
	// BestWeight weighs the best prototype similarity against the mean of
	// the TopM best (default 0.75).
	BestWeight float64
	// TopM is how many of the best similarities are averaged (default 2).
	TopM int
}

// DefaultPrototypeOptions returns the scoring used when a config says
// nothing: score = 0.75·best + 0.25·mean(top-2).
func DefaultPrototypeOptions() PrototypeOptions {
	return PrototypeOptions{Enabled: true, ClusterSimilarity: 0.9, MaxPrototypes: 8, BestWeight: 0.75, TopM: 2}
}

func (o PrototypeOptions) withDefaults() PrototypeOptions {
	d := DefaultPrototypeOptions()
	if o.ClusterSimilarity <= 0 {
		o.ClusterSimilarity = d.ClusterSimilarity
	}
	if o.MaxPrototypes <= 0 {
		o.MaxPrototypes = d.MaxPrototypes
	}
	if o.BestWeight <= 0 || o.BestWeight > 1 {
		o.BestWeight = d.BestWeight
	}
	if o.TopM <= 0 {
		o.TopM = d.TopM
	}
	return o
}

// Bank is an immutable set of candidate vectors and their prototypes.
type Bank struct {
	dims       int
	candidates [][]float32 // L2-normalised
	prototypes [][]float32 // L2-normalised centroids
	opts       PrototypeOptions
}

// ErrDims reports vectors of mismatched dimensions.
var ErrDims = errors.New("embedding dimensions differ")

// NewBank normalises the candidate vectors and builds prototypes.
func NewBank(vectors [][]float32, opts PrototypeOptions) (*Bank, error) {
	if len(vectors) == 0 {
		return nil, errors.New("a bank needs at least one candidate")
	}
	opts = opts.withDefaults()
	dims := len(vectors[0])
	b := &Bank{dims: dims, opts: opts, candidates: make([][]float32, len(vectors))}
	for i, v := range vectors {
		if len(v) != dims || dims == 0 {
			return nil, ErrDims
		}
		b.candidates[i] = normalized(v)
	}
	if !opts.Enabled {
		b.prototypes = b.candidates
		return b, nil
	}
	b.prototypes = cluster(b.candidates, opts.ClusterSimilarity, opts.MaxPrototypes)
	return b, nil
}

// Dims is the dimension the bank expects of a query.
func (b *Bank) Dims() int { return b.dims }

// Prototypes is the number of prototypes the candidates condensed into.
func (b *Bank) Prototypes() int { return len(b.prototypes) }

// cluster groups candidates greedily: each joins the most similar existing
// group when that similarity reaches threshold, else starts a new group.
// When more than max groups result, the closest pair of groups is merged
// until max remain. Each group's prototype is its normalised centroid.
func cluster(vs [][]float32, threshold float64, max int) [][]float32 {
	type group struct {
		sum []float64
		n   int
		c   []float32
	}
	var groups []*group
	for _, v := range vs {
		best, bestSim := -1, -2.0
		for i, g := range groups {
			if s := dot(g.c, v); s > bestSim {
				best, bestSim = i, s
			}
		}
		if best >= 0 && bestSim >= threshold {
			g := groups[best]
			for j, x := range v {
				g.sum[j] += float64(x)
			}
			g.n++
			g.c = centroid(g.sum)
			continue
		}
		g := &group{sum: make([]float64, len(v)), n: 1}
		for j, x := range v {
			g.sum[j] = float64(x)
		}
		g.c = centroid(g.sum)
		groups = append(groups, g)
	}
	for len(groups) > max {
		bi, bj, bs := 0, 1, -2.0
		for i := range groups {
			for j := i + 1; j < len(groups); j++ {
				if s := dot(groups[i].c, groups[j].c); s > bs {
					bi, bj, bs = i, j, s
				}
			}
		}
		for k, x := range groups[bj].sum {
			groups[bi].sum[k] += x
		}
		groups[bi].n += groups[bj].n
		groups[bi].c = centroid(groups[bi].sum)
		groups = append(groups[:bj], groups[bj+1:]...)
	}
	out := make([][]float32, len(groups))
	for i, g := range groups {
		out[i] = g.c
	}
	return out
}

func centroid(sum []float64) []float32 {
	var n float64
	for _, x := range sum {
		n += x * x
	}
	n = math.Sqrt(n)
	c := make([]float32, len(sum))
	if n == 0 {
		return c
	}
	for i, x := range sum {
		c[i] = float32(x / n)
	}
	return c
}

// Aggregation says how a query's similarities to a bank become one score.
type Aggregation string

// Aggregation methods of an embedding rule.
const (
	// AggMax scores with the prototype formula: w·best + (1−w)·mean(top-m).
	AggMax Aggregation = "max"
	// AggMean is the mean similarity over every candidate.
	AggMean Aggregation = "mean"
	// AggAny is the best similarity to any single candidate.
	AggAny Aggregation = "any"
)

// Score returns the bank's score for a normalised query.
func (b *Bank) Score(q []float32, agg Aggregation) float64 {
	switch agg {
	case AggMean:
		var s float64
		for _, c := range b.candidates {
			s += dot(c, q)
		}
		return s / float64(len(b.candidates))
	case AggAny:
		best := -1.0
		for _, c := range b.candidates {
			if s := dot(c, q); s > best {
				best = s
			}
		}
		return best
	default:
		return b.prototypeScore(q)
	}
}

// prototypeScore is w·best + (1−w)·mean of the m best prototype similarities.
func (b *Bank) prototypeScore(q []float32) float64 {
	m := b.opts.TopM
	if m > len(b.prototypes) {
		m = len(b.prototypes)
	}
	// Keep the m best in a tiny insertion-sorted array (m is 2 by default).
	var buf [8]float64
	top := buf[:0]
	if m > len(buf) {
		top = make([]float64, 0, m)
	}
	for _, p := range b.prototypes {
		s := dot(p, q)
		if len(top) < m {
			top = append(top, s)
		} else if s > top[m-1] {
			top[m-1] = s
		} else {
			continue
		}
		for i := len(top) - 1; i > 0 && top[i] > top[i-1]; i-- {
			top[i], top[i-1] = top[i-1], top[i]
		}
	}
	var mean float64
	for _, s := range top {
		mean += s
	}
	mean /= float64(len(top))
	w := b.opts.BestWeight
	return w*top[0] + (1-w)*mean
}

// dot is the cosine similarity of two normalised vectors.
func dot(a, b []float32) float64 {
	var s0, s1, s2, s3 float32
	n := len(a)
	if len(b) < n {
		n = len(b)
	}
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return float64(s0 + s1 + s2 + s3)
}

// normalized returns v scaled to unit length (a copy).
func normalized(v []float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	if n == 0 {
		return out
	}
	inv := 1 / math.Sqrt(n)
	for i, x := range v {
		out[i] = float32(float64(x) * inv)
	}
	return out
}

// Normalize returns a unit-length copy of v, for callers preparing queries.
func Normalize(v []float32) []float32 { return normalized(v) }
