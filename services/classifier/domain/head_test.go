package domain

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
)

// clusters draws n points around each of k random centres: a separable
// problem the trainer must solve.
func clusters(r *rand.Rand, k, n, d int, spread float64) ([][]float32, []int) {
	centres := make([][]float64, k)
	for c := range centres {
		centres[c] = make([]float64, d)
		for j := range centres[c] {
			centres[c][j] = r.NormFloat64()
		}
	}
	var x [][]float32
	var y []int
	for c := 0; c < k; c++ {
		for i := 0; i < n; i++ {
			v := make([]float32, d)
			for j := range v {
				v[j] = float32(centres[c][j] + spread*r.NormFloat64())
			}
			x = append(x, v)
			y = append(y, c)
		}
	}
	return x, y
}

func TestTrainLearnsSeparableClusters(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	labels := Categories()
	x, y := clusters(r, len(labels), 40, 32, 0.5)
	var losses []float64
	h, err := Train(context.Background(), x, y, labels, TrainOptions{Epochs: 15, Seed: 1, Progress: func(_ int, l float64) { losses = append(losses, l) }})
	if err != nil {
		t.Fatal(err)
	}
	if losses[len(losses)-1] >= losses[0] {
		t.Fatalf("loss did not fall: %v", losses)
	}
	testX, testY := clusters(rand.New(rand.NewPCG(3, 4)), len(labels), 10, 32, 0.5)
	correct := 0
	probs := make([]float64, len(labels))
	for i, v := range testX {
		p, err := h.Predict(v, probs)
		if err != nil {
			t.Fatal(err)
		}
		if p.Index == testY[i] {
			correct++
		}
	}
	if acc := float64(correct) / float64(len(testX)); acc < 0.95 {
		t.Fatalf("accuracy %.2f on separable clusters", acc)
	}
}

func TestHeadRoundTripAndValidation(t *testing.T) {
	h := &Head{Model: "m", Dims: 2, Labels: []string{"a", "b"}, W: [][]float32{{1, 0}, {0, 1}}, B: []float32{0, 0}}
	var buf bytes.Buffer
	if _, err := h.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := ReadHead(&buf)
	if err != nil {
		t.Fatal(err)
	}
	p, err := back.Predict([]float32{0.1, 0.9}, nil)
	if err != nil || p.Label != "b" || p.Prob <= 0.5 {
		t.Fatalf("predict = %+v, %v", p, err)
	}
	if _, err := back.Predict([]float32{1}, nil); err == nil {
		t.Fatal("wrong dims accepted")
	}
	bad := []string{
		`{"dims":2,"labels":["a"],"weights":[[1,0]],"bias":[0]}`,
		`{"dims":2,"labels":["a","b"],"weights":[[1,0]],"bias":[0,0]}`,
		`{"dims":2,"labels":["a","b"],"weights":[[1,0],[1]],"bias":[0,0]}`,
		`not json`,
	}
	for _, s := range bad {
		if _, err := ReadHead(bytes.NewBufferString(s)); err == nil {
			t.Errorf("accepted %s", s)
		}
	}
}

func BenchmarkPredict512(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	h := &Head{Dims: 512, Labels: Categories(), W: make([][]float32, 14), B: make([]float32, 14)}
	for i := range h.W {
		h.W[i] = make([]float32, 512)
		for j := range h.W[i] {
			h.W[i][j] = float32(r.NormFloat64())
		}
	}
	q := make([]float32, 512)
	for j := range q {
		q[j] = float32(r.NormFloat64())
	}
	probs := make([]float64, 14)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := h.Predict(q, probs); err != nil {
			b.Fatal(err)
		}
	}
}
