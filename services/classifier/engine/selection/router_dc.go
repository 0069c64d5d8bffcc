package selection

import "math"

// RouterDCConfig mirrors `algorithm.router_dc`.
type RouterDCConfig struct {
	Temperature   float64 // softmax temperature over similarities; default 1
	MinSimilarity float64 // below this the first modelRef is used
}

// RouterDCSelector picks the model whose description embedding is most
// similar (cosine) to the query embedding. Score is the winner's softmax
// probability over similarities divided by the temperature; Scores are the
// cosine similarities themselves, in [-1,1] (NaN for a candidate without a
// description embedding of the query's dimensions).
type RouterDCSelector struct {
	cfg  RouterDCConfig
	desc [][]float32 // per candidate; nil when the model has no description embedding
}

var _ Selector = (*RouterDCSelector)(nil)

// NewRouterDCSelector builds a selector; desc[i] is candidate i's model
// description embedding (nil when absent).
func NewRouterDCSelector(cfg RouterDCConfig, desc [][]float32) *RouterDCSelector {
	if cfg.Temperature <= 0 {
		cfg.Temperature = 1
	}
	return &RouterDCSelector{cfg: cfg, desc: desc}
}

const (
	reasonNoQuery       = "router_dc: no query embedding; used the first modelRef"
	reasonNoDesc        = "router_dc: no model description embeddings; used the first modelRef"
	reasonLowSimilarity = "router_dc: best similarity below min_similarity; used the first modelRef"
)

// Select compares in.Query with every description.
func (s *RouterDCSelector) Select(in Input) (Choice, error) {
	if len(s.desc) == 0 {
		return Choice{}, ErrNoCandidates
	}
	if len(in.Query) == 0 {
		return Choice{Index: 0, Algorithm: Static, Fallback: reasonNoQuery}, nil
	}
	best, bestSim := -1, 0.0
	maxSim := math.Inf(-1)
	out := scoresOut(in, len(s.desc))
	for i, d := range s.desc {
		if len(d) == 0 || len(d) != len(in.Query) {
			if out != nil {
				out[i] = math.NaN()
			}
			continue
		}
		sim := cosine(in.Query, d)
		if out != nil {
			out[i] = sim
		}
		if best < 0 || sim > bestSim {
			best, bestSim = i, sim
		}
		maxSim = math.Max(maxSim, sim)
	}
	if best < 0 {
		return Choice{Index: 0, Algorithm: Static, Fallback: reasonNoDesc}, nil
	}
	if bestSim < s.cfg.MinSimilarity {
		return Choice{Index: 0, Algorithm: Static, Fallback: reasonLowSimilarity, Score: bestSim}, nil
	}
	sum := 0.0
	for _, d := range s.desc {
		if len(d) == 0 || len(d) != len(in.Query) {
			continue
		}
		sum += math.Exp((cosine(in.Query, d) - maxSim) / s.cfg.Temperature)
	}
	p := math.Exp((bestSim-maxSim)/s.cfg.Temperature) / sum
	return Choice{Index: best, Algorithm: RouterDC, Score: p, Scores: out}, nil
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / (math.Sqrt(na) * math.Sqrt(nb))
}
