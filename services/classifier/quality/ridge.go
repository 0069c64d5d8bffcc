package quality

import (
	"errors"
	"fmt"
	"math"
)

// FitRidge solves the ridge regression (XᵀX + λI)β = Xᵀy by Cholesky and
// returns β. Every coefficient is penalised, a constant feature included:
// with many rows a large-λ fit barely moves the intercept.
func FitRidge(x [][]float64, y []float64, lambda float64) ([]float64, error) {
	if len(x) == 0 || len(x) != len(y) {
		return nil, fmt.Errorf("ridge: %d rows and %d targets", len(x), len(y))
	}
	if lambda <= 0 {
		return nil, errors.New("ridge: lambda must be positive")
	}
	d := len(x[0])
	a := make([]float64, d*d) // lower triangle of XᵀX + λI
	rhs := make([]float64, d)
	for r, row := range x {
		if len(row) != d {
			return nil, fmt.Errorf("ridge: row %d has %d features, want %d", r, len(row), d)
		}
		for i, vi := range row {
			if vi == 0 {
				continue
			}
			rhs[i] += vi * y[r]
			ai := a[i*d : i*d+i+1]
			for j, vj := range row[:i+1] {
				ai[j] += vi * vj
			}
		}
	}
	for i := range d {
		a[i*d+i] += lambda
	}
	// in-place Cholesky: a = L·Lᵀ, L in the lower triangle
	for j := range d {
		s := a[j*d+j]
		for k := range j {
			s -= a[j*d+k] * a[j*d+k]
		}
		if s <= 0 {
			return nil, errors.New("ridge: system is not positive definite")
		}
		ljj := math.Sqrt(s)
		a[j*d+j] = ljj
		for i := j + 1; i < d; i++ {
			s := a[i*d+j]
			for k := range j {
				s -= a[i*d+k] * a[j*d+k]
			}
			a[i*d+j] = s / ljj
		}
	}
	// L z = rhs, then Lᵀ β = z
	for i := range d {
		s := rhs[i]
		for k := range i {
			s -= a[i*d+k] * rhs[k]
		}
		rhs[i] = s / a[i*d+i]
	}
	for i := d - 1; i >= 0; i-- {
		s := rhs[i]
		for k := i + 1; k < d; k++ {
			s -= a[k*d+i] * rhs[k]
		}
		rhs[i] = s / a[i*d+i]
	}
	return rhs, nil
}

// Dot is the inner product of a feature row and ridge coefficients.
func Dot(x, beta []float64) float64 {
	var s float64
	for i, v := range x {
		s += v * beta[i]
	}
	return s
}
