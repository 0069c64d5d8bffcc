package quality

import (
	"errors"
	"fmt"
	"math"
)

// Rasch is a fitted one-parameter item-response model: model m answers
// item q with probability σ(Ability[m] − Difficulty[q]).
type Rasch struct {
	Ability    []float64 `json:"ability"`
	Difficulty []float64 `json:"difficulty"`
}

// RaschOptions tune FitRasch. Zero values take the defaults.
type RaschOptions struct {
	// PriorVar is the variance of the Gaussian prior N(0, PriorVar) on
	// each difficulty (default 2). It keeps items that every model answers
	// (or none does) at a finite difficulty and fixes the scale's origin.
	PriorVar float64
	// Iters is the number of alternating Newton sweeps (default 200).
	Iters int
}

// FitRasch fits abilities and difficulties by maximum a posteriori:
// alternating Newton steps on the difficulties (each item on its own) and
// the abilities, each step clipped to ±1 so the start is stable.
// correct[q][m] says whether model m answered item q; every row must have
// the same number of models, at least one.
func FitRasch(correct [][]bool, o RaschOptions) (Rasch, error) {
	if len(correct) == 0 || len(correct[0]) == 0 {
		return Rasch{}, errors.New("rasch: need at least one item and one model")
	}
	m := len(correct[0])
	for q, row := range correct {
		if len(row) != m {
			return Rasch{}, fmt.Errorf("rasch: item %d has %d models, want %d", q, len(row), m)
		}
	}
	pv := o.PriorVar
	if pv <= 0 {
		pv = 2
	}
	iters := o.Iters
	if iters <= 0 {
		iters = 200
	}
	r := Rasch{Ability: make([]float64, m), Difficulty: make([]float64, len(correct))}
	gA, hA := make([]float64, m), make([]float64, m)
	for range iters {
		for q, row := range correct {
			b := r.Difficulty[q]
			g, h := -b/pv, 1/pv
			for j, ok := range row {
				p := Sigmoid(r.Ability[j] - b)
				g -= boolF(ok) - p
				h += p * (1 - p)
			}
			r.Difficulty[q] = b + clip1(g/h)
		}
		clear(gA)
		clear(hA)
		for q, row := range correct {
			for j, ok := range row {
				p := Sigmoid(r.Ability[j] - r.Difficulty[q])
				gA[j] += boolF(ok) - p
				hA[j] += p * (1 - p)
			}
		}
		for j := range r.Ability {
			if hA[j] > 0 {
				r.Ability[j] += clip1(gA[j] / hA[j])
			}
		}
	}
	return r, nil
}

// Gain is the expected accuracy gained by sending an item of difficulty b
// to model strong instead of model weak: σ(θs − b) − σ(θw − b). It peaks
// at middle difficulty: easy items are answered by both, hard by neither.
func (r Rasch) Gain(strong, weak int, b float64) float64 {
	return Sigmoid(r.Ability[strong]-b) - Sigmoid(r.Ability[weak]-b)
}

// Sigmoid is the logistic function 1/(1+e^−z).
func Sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

func clip1(v float64) float64 { return math.Max(-1, math.Min(1, v)) }

func boolF(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
