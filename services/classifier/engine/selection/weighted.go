package selection

// WeightedSelector picks a candidate with probability proportional to its
// weight, as a deterministic function of Input.Hash: the same request hash
// always picks the same model, and hashes spread uniformly give the
// configured split. Non-positive weights count as zero; when every weight is
// zero the candidates are equally likely.
type WeightedSelector struct {
	cumulative []float64 // running sums, last element = total
}

var _ Selector = (*WeightedSelector)(nil)

// NewWeightedSelector builds a selector over the candidates' weights.
func NewWeightedSelector(weights []float64) *WeightedSelector {
	cum := make([]float64, len(weights))
	total := 0.0
	for i, w := range weights {
		if w > 0 {
			total += w
		}
		cum[i] = total
	}
	if total == 0 {
		for i := range cum {
			cum[i] = float64(i + 1)
		}
	}
	return &WeightedSelector{cumulative: cum}
}

// Select maps the request hash onto the weight line.
func (s *WeightedSelector) Select(in Input) (Choice, error) {
	n := len(s.cumulative)
	if n == 0 {
		return Choice{}, ErrNoCandidates
	}
	u := unitFloat(in.Hash) * s.cumulative[n-1]
	for i, c := range s.cumulative {
		if u < c {
			return Choice{Index: i, Algorithm: Weighted, Score: u}, nil
		}
	}
	return Choice{Index: n - 1, Algorithm: Weighted, Score: u}, nil
}

// unitFloat mixes h (splitmix64 finaliser) and maps it to [0,1).
func unitFloat(h uint64) float64 {
	h += 0x9e3779b97f4a7c15
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9
	h = (h ^ (h >> 27)) * 0x94d049bb133111eb
	h ^= h >> 31
	return float64(h>>11) / (1 << 53)
}
