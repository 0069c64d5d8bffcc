package hnsw

import (
	"math"
	"math/rand/v2"
	"testing"
)

func naiveDot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestDotMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 3, 7, 8, 9, 15, 16, 31, 32, 33, 63, 64, 100, 384, 511, 512, 768, 1024} {
		a := make([]float32, n)
		b := make([]float32, n)
		for i := range a {
			a[i] = rng.Float32()*2 - 1
			b[i] = rng.Float32()*2 - 1
		}
		want := naiveDot(a, b)
		tol := 1e-4 * math.Max(1, float64(n)/64)
		if got := float64(Dot(a, b)); math.Abs(got-want) > tol {
			t.Errorf("n=%d: Dot=%v want %v", n, got, want)
		}
		if got := float64(dotGeneric(a, b)); math.Abs(got-want) > tol {
			t.Errorf("n=%d: dotGeneric=%v want %v", n, got, want)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   []float32
		ok   bool
	}{
		{name: "unit", in: []float32{1, 0, 0}, ok: true},
		{name: "scaled", in: []float32{3, 4}, ok: true},
		{name: "zero", in: []float32{0, 0}, ok: false},
		{name: "nan", in: []float32{float32(math.NaN()), 1}, ok: false},
		{name: "inf", in: []float32{float32(math.Inf(1)), 1}, ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := make([]float32, len(tc.in))
			ok := Normalize(dst, tc.in)
			if ok != tc.ok {
				t.Fatalf("ok=%v want %v", ok, tc.ok)
			}
			if ok {
				if n := naiveDot(dst, dst); math.Abs(n-1) > 1e-5 {
					t.Fatalf("norm^2=%v", n)
				}
			}
		})
	}
}

func BenchmarkDot(b *testing.B) {
	for _, n := range []int{384, 512, 768} {
		x := make([]float32, n)
		y := make([]float32, n)
		for i := range x {
			x[i], y[i] = float32(i%7), float32(i%5)
		}
		b.Run("asm/"+itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			var s float32
			for b.Loop() {
				s += Dot(x, y)
			}
			_ = s
		})
		b.Run("generic/"+itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			var s float32
			for b.Loop() {
				s += dotGeneric(x, y)
			}
			_ = s
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}
