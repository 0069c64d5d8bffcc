package quality

import (
	"math"

	"github.com/semrouter/semrouter/services/classifier/domain"
)

// Standardizer centres and scales every component of a vector with the
// mean and standard deviation measured on training vectors. Training a
// linear head on standardised inputs converges better; Fold turns the
// result back into a head over raw vectors.
type Standardizer struct {
	Mean, Scale []float64
}

// FitStandardizer measures x.
func FitStandardizer(x [][]float32) Standardizer {
	d := len(x[0])
	s := Standardizer{Mean: make([]float64, d), Scale: make([]float64, d)}
	for _, v := range x {
		for j, f := range v {
			s.Mean[j] += float64(f)
		}
	}
	for j := range s.Mean {
		s.Mean[j] /= float64(len(x))
	}
	for _, v := range x {
		for j, f := range v {
			dv := float64(f) - s.Mean[j]
			s.Scale[j] += dv * dv
		}
	}
	for j := range s.Scale {
		s.Scale[j] = math.Sqrt(s.Scale[j] / float64(len(x)))
		if s.Scale[j] < 1e-9 {
			s.Scale[j] = 1
		}
	}
	return s
}

// Apply returns standardised copies of x.
func (s Standardizer) Apply(x [][]float32) [][]float32 {
	out := make([][]float32, len(x))
	for i, v := range x {
		o := make([]float32, len(v))
		for j, f := range v {
			o[j] = float32((float64(f) - s.Mean[j]) / s.Scale[j])
		}
		out[i] = o
	}
	return out
}

// Fold rewrites a head trained on standardised inputs into the equivalent
// head over raw inputs: w' = w/σ, b' = b − Σ w·μ/σ.
func (s Standardizer) Fold(h *domain.Head) {
	for k, row := range h.W {
		var shift float64
		for j, w := range row {
			nw := float64(w) / s.Scale[j]
			shift += nw * s.Mean[j]
			row[j] = float32(nw)
		}
		h.B[k] = float32(float64(h.B[k]) - shift)
	}
}
