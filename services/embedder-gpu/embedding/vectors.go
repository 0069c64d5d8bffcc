package embedding

import (
	"fmt"
	"math"
)

// Truncate shortens each vector to dims components and L2-normalises the
// result (Matryoshka-style truncation). dims <= 0 or >= a vector's length
// leaves that vector's length as is (it is still normalised). Vectors are
// modified in place and returned re-sliced.
func Truncate(vecs [][]float32, dims int) [][]float32 {
	for i, v := range vecs {
		if dims > 0 && dims < len(v) {
			v = v[:dims:dims]
		}
		Normalize(v)
		vecs[i] = v
	}
	return vecs
}

// Normalize scales v to unit L2 norm in place; a zero vector stays zero.
func Normalize(v []float32) {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(sum))
	for i := range v {
		v[i] *= inv
	}
}

// Cosine is the cosine similarity of a and b (0 when either is zero).
func Cosine(a, b []float32) float64 {
	if len(a) != len(b) {
		panic(fmt.Sprintf("cosine of vectors of length %d and %d", len(a), len(b)))
	}
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}
