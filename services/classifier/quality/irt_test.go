package quality

import (
	"math"
	"math/rand/v2"
	"testing"
)

// synthRasch draws responses of len(theta) models to n items whose
// difficulties are N(0, 1), from the Rasch model itself.
func synthRasch(n int, theta []float64, seed uint64) ([][]bool, []float64) {
	r := rand.New(rand.NewPCG(seed, 7))
	y := make([][]bool, n)
	b := make([]float64, n)
	for q := range y {
		b[q] = r.NormFloat64()
		y[q] = make([]bool, len(theta))
		for m, t := range theta {
			y[q][m] = r.Float64() < Sigmoid(t-b[q])
		}
	}
	return y, b
}

func corr(a, b []float64) float64 {
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= float64(len(a))
	mb /= float64(len(b))
	var sab, saa, sbb float64
	for i := range a {
		sab += (a[i] - ma) * (b[i] - mb)
		saa += (a[i] - ma) * (a[i] - ma)
		sbb += (b[i] - mb) * (b[i] - mb)
	}
	return sab / math.Sqrt(saa*sbb)
}

func TestFitRaschRecoversAbilities(t *testing.T) {
	// 40 models give each item enough responses for its difficulty too
	theta := make([]float64, 40)
	for i := range theta {
		theta[i] = -2 + 4*float64(i)/float64(len(theta)-1)
	}
	y, b := synthRasch(3000, theta, 1)
	fit, err := FitRasch(y, RaschOptions{PriorVar: 1, Iters: 100})
	if err != nil {
		t.Fatal(err)
	}
	// the scale's origin is fixed by the prior on b (mean 0), as in the
	// simulation, so abilities come back in absolute terms
	for m, want := range theta {
		if d := math.Abs(fit.Ability[m] - want); d > 0.15 {
			t.Errorf("ability %d: got %.3f want %.3f", m, fit.Ability[m], want)
		}
	}
	if c := corr(fit.Difficulty, b); c < 0.9 {
		t.Errorf("difficulty correlation %.3f, want ≥ 0.9", c)
	}
	// ordering of the abilities is exact
	for m := 1; m < len(theta); m++ {
		if fit.Ability[m] < fit.Ability[m-1]-0.2 {
			t.Errorf("ability %d (%.3f) far below ability %d (%.3f)", m, fit.Ability[m], m-1, fit.Ability[m-1])
		}
	}
}

func TestFitRaschSixModels(t *testing.T) {
	// the MMLU-Pro setting: six models, a few thousand items
	theta := []float64{-0.4, 1.3, 0.8, 1.1, 0.7, -0.5}
	y, b := synthRasch(8000, theta, 2)
	fit, err := FitRasch(y, RaschOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for m, want := range theta {
		if d := math.Abs(fit.Ability[m] - want); d > 0.2 {
			t.Errorf("ability %d: got %.3f want %.3f", m, fit.Ability[m], want)
		}
	}
	if c := corr(fit.Difficulty, b); c < 0.6 {
		t.Errorf("difficulty correlation %.3f with six responses per item, want ≥ 0.6", c)
	}
	again, err := FitRasch(y, RaschOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range fit.Difficulty {
		if fit.Difficulty[i] != again.Difficulty[i] {
			t.Fatalf("item %d: difficulty %v then %v: the fit is not deterministic", i, fit.Difficulty[i], again.Difficulty[i])
		}
	}
}

func TestFitRaschErrors(t *testing.T) {
	tests := []struct {
		name string
		y    [][]bool
	}{
		{name: "no items", y: nil},
		{name: "no models", y: [][]bool{{}}},
		{name: "ragged", y: [][]bool{{true, false}, {true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := FitRasch(tc.y, RaschOptions{}); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestRaschGain(t *testing.T) {
	r := Rasch{Ability: []float64{-1, 1}}
	tests := []struct {
		name string
		b    float64
		want float64
	}{
		{name: "middle", b: 0, want: Sigmoid(1) - Sigmoid(-1)},
		{name: "easy", b: -6, want: Sigmoid(7) - Sigmoid(5)},
		{name: "hard", b: 6, want: Sigmoid(-5) - Sigmoid(-7)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.Gain(1, 0, tc.b); !near(got, tc.want) {
				t.Errorf("gain %v want %v", got, tc.want)
			}
		})
	}
	if !(r.Gain(1, 0, 0) > r.Gain(1, 0, -3) && r.Gain(1, 0, 0) > r.Gain(1, 0, 3)) {
		t.Error("gain does not peak at middle difficulty")
	}
}

func TestFitRidge(t *testing.T) {
	// y = 2·x0 − 3·x1 + 0.5 exactly; a tiny λ recovers the coefficients
	r := rand.New(rand.NewPCG(3, 4))
	var x [][]float64
	var y []float64
	for range 200 {
		a, b := r.NormFloat64(), r.NormFloat64()
		x = append(x, []float64{a, b, 1})
		y = append(y, 2*a-3*b+0.5)
	}
	beta, err := FitRidge(x, y, 1e-9)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{2, -3, 0.5} {
		if math.Abs(beta[i]-want) > 1e-6 {
			t.Errorf("β[%d] = %v want %v", i, beta[i], want)
		}
	}
	if got := Dot(x[0], beta); math.Abs(got-y[0]) > 1e-6 {
		t.Errorf("prediction %v want %v", got, y[0])
	}
	// a huge λ shrinks everything towards zero
	shrunk, err := FitRidge(x, y, 1e9)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range shrunk {
		if math.Abs(v) > 1e-3 {
			t.Errorf("β[%d] = %v with λ=1e9, want ≈ 0", i, v)
		}
	}
}

func TestFitRidgeErrors(t *testing.T) {
	tests := []struct {
		name   string
		x      [][]float64
		y      []float64
		lambda float64
	}{
		{name: "empty", lambda: 1},
		{name: "length mismatch", x: [][]float64{{1}}, y: []float64{1, 2}, lambda: 1},
		{name: "ragged", x: [][]float64{{1, 2}, {1}}, y: []float64{1, 2}, lambda: 1},
		{name: "zero lambda", x: [][]float64{{1}}, y: []float64{1}, lambda: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := FitRidge(tc.x, tc.y, tc.lambda); err == nil {
				t.Error("no error")
			}
		})
	}
}

func BenchmarkFitRidge(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	x := make([][]float64, 2000)
	y := make([]float64, len(x))
	for i := range x {
		x[i] = make([]float64, 64)
		for j := range x[i] {
			x[i][j] = r.NormFloat64()
		}
		y[i] = r.NormFloat64()
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FitRidge(x, y, 10); err != nil {
			b.Fatal(err)
		}
	}
}
