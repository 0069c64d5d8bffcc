package hnsw

import "math"

// dotGeneric is the portable dot product: eight lanes, four accumulators, with
// the bounds checks hoisted out of the loop.
func dotGeneric(a, b []float32) float32 {
	n := len(a)
	if len(b) < n {
		n = len(b)
	}
	a, b = a[:n], b[:n]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+8 <= n; i += 8 {
		aa := a[i : i+8 : i+8]
		bb := b[i : i+8 : i+8]
		s0 += aa[0]*bb[0] + aa[4]*bb[4]
		s1 += aa[1]*bb[1] + aa[5]*bb[5]
		s2 += aa[2]*bb[2] + aa[6]*bb[6]
		s3 += aa[3]*bb[3] + aa[7]*bb[7]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// Dot returns the dot product of a and b over the shorter length. For
// L2-normalised vectors it is their cosine similarity.
func Dot(a, b []float32) float32 {
	return dot(a, b)
}

// Normalize writes the L2-normalised src into dst (which must have the same
// length) and reports false when src has zero or non-finite norm.
func Normalize(dst, src []float32) bool {
	var sum float64
	for _, v := range src {
		sum += float64(v) * float64(v)
	}
	if sum == 0 || math.IsInf(sum, 0) || math.IsNaN(sum) {
		return false
	}
	inv := float32(1 / math.Sqrt(sum))
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = v * inv
	}
	return true
}
