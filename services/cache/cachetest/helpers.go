package cachetest

import (
	"crypto/sha256"
	"math"
	"math/rand/v2"

	"github.com/semrouter/semrouter/services/cache"
)

// FP returns a fingerprint derived from s.
func FP(s string) cache.Fingerprint { return sha256.Sum256([]byte(s)) }

// Unit returns a random unit vector of dimension dim.
func Unit(rng *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	var n float64
	for i := range v {
		x := rng.NormFloat64()
		v[i] = float32(x)
		n += x * x
	}
	inv := 1 / math.Sqrt(n)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
	return v
}

// Near returns a unit vector whose cosine similarity with the unit vector
// base is cos.
func Near(rng *rand.Rand, base []float32, cos float64) []float32 {
	// Gram-Schmidt a random direction against base.
	r := Unit(rng, len(base))
	var d float64
	for i := range r {
		d += float64(r[i]) * float64(base[i])
	}
	var n float64
	o := make([]float64, len(base))
	for i := range r {
		o[i] = float64(r[i]) - d*float64(base[i])
		n += o[i] * o[i]
	}
	n = math.Sqrt(n)
	sin := math.Sqrt(1 - cos*cos)
	out := make([]float32, len(base))
	for i := range out {
		out[i] = float32(cos*float64(base[i]) + sin*o[i]/n)
	}
	return out
}

// Cosine returns the cosine similarity of a and b.
func Cosine(a, b []float32) float64 {
	var d, na, nb float64
	for i := range a {
		d += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return d / math.Sqrt(na*nb)
}

// OK returns a complete 200 JSON response with the given body.
func OK(body string) cache.Response {
	return cache.Response{StatusCode: 200, ContentType: "application/json", Body: []byte(body), Complete: true,
		Headers: map[string]string{"x-upstream": "test"}}
}
