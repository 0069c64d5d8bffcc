package domain

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
)

// TrainOptions tunes the softmax regression.
type TrainOptions struct {
	Epochs       int     // passes over the data (default 30)
	LearningRate float64 // initial step of Adam (default 0.01)
	L2           float64 // weight decay (default 1e-4)
	BatchSize    int     // default 64
	Seed         uint64
	// Progress, when set, is called after every epoch with the mean loss.
	Progress func(epoch int, loss float64)
}

// Train fits a softmax head on examples x (rows of dims values) with labels
// y (indices into labels) by mini-batch Adam on the cross-entropy with L2.
func Train(ctx context.Context, x [][]float32, y []int, labels []string, o TrainOptions) (*Head, error) {
	if len(x) == 0 || len(x) != len(y) {
		return nil, errors.New("train domain head: need as many labels as examples, and at least one")
	}
	if o.Epochs <= 0 {
		o.Epochs = 30
	}
	if o.LearningRate <= 0 {
		o.LearningRate = 0.01
	}
	if o.L2 < 0 {
		o.L2 = 0
	} else if o.L2 == 0 {
		o.L2 = 1e-4
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 64
	}
	k, d := len(labels), len(x[0])
	for i, yi := range y {
		if yi < 0 || yi >= k {
			return nil, errors.New("train domain head: label index out of range")
		}
		if len(x[i]) != d {
			return nil, errors.New("train domain head: examples of different dimensions")
		}
	}
	// Parameters and Adam moments, row-major k×(d+1) with the bias last.
	p := make([]float64, k*(d+1))
	m := make([]float64, len(p))
	v := make([]float64, len(p))
	g := make([]float64, len(p))
	z := make([]float64, k)
	order := make([]int, len(x))
	for i := range order {
		order[i] = i
	}
	r := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	const b1, b2, eps = 0.9, 0.999, 1e-8
	step := 0
	for epoch := 0; epoch < o.Epochs; epoch++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var loss float64
		for start := 0; start < len(order); start += o.BatchSize {
			end := min(start+o.BatchSize, len(order))
			clear(g)
			for _, idx := range order[start:end] {
				xi := x[idx]
				for c := 0; c < k; c++ {
					row := p[c*(d+1) : (c+1)*(d+1)]
					s := row[d]
					for j, xv := range xi {
						s += row[j] * float64(xv)
					}
					z[c] = s
				}
				softmax(z)
				loss -= math.Log(math.Max(z[y[idx]], 1e-12))
				for c := 0; c < k; c++ {
					diff := z[c]
					if c == y[idx] {
						diff--
					}
					gr := g[c*(d+1) : (c+1)*(d+1)]
					for j, xv := range xi {
						gr[j] += diff * float64(xv)
					}
					gr[d] += diff
				}
			}
			n := float64(end - start)
			step++
			lr := o.LearningRate * math.Sqrt(1-math.Pow(b2, float64(step))) / (1 - math.Pow(b1, float64(step)))
			for i := range p {
				gi := g[i] / n
				if (i+1)%(d+1) != 0 { // no decay on biases
					gi += o.L2 * p[i]
				}
				m[i] = b1*m[i] + (1-b1)*gi
				v[i] = b2*v[i] + (1-b2)*gi*gi
				p[i] -= lr * m[i] / (math.Sqrt(v[i]) + eps)
			}
		}
		if o.Progress != nil {
			o.Progress(epoch+1, loss/float64(len(x)))
		}
	}
	h := &Head{Dims: d, Labels: append([]string(nil), labels...), W: make([][]float32, k), B: make([]float32, k)}
	for c := 0; c < k; c++ {
		row := p[c*(d+1) : (c+1)*(d+1)]
		h.W[c] = make([]float32, d)
		for j := 0; j < d; j++ {
			h.W[c][j] = float32(row[j])
		}
		h.B[c] = float32(row[d])
	}
	return h, nil
}
