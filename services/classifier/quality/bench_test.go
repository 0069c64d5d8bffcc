package quality

import (
	"math/rand/v2"
	"testing"
)

func benchData(n int) ([]float64, []bool, []bool) {
	r := rand.New(rand.NewPCG(1, 2))
	s, a, b := make([]float64, n), make([]bool, n), make([]bool, n)
	for i := range s {
		s[i], a[i], b[i] = r.Float64(), r.IntN(2) == 0, r.IntN(3) > 0
	}
	return s, a, b
}

func BenchmarkPRCurve(b *testing.B) {
	s, pos, _ := benchData(8000)
	b.ReportAllocs()
	for b.Loop() {
		PRCurve(s, pos)
	}
}

func BenchmarkCostQuality(b *testing.B) {
	s, weak, strong := benchData(2400)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CostQuality("bench", s, weak, strong); err != nil {
			b.Fatal(err)
		}
	}
}
