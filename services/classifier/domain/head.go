// Package domain classifies a query embedding into the 14 MMLU-Pro
// categories with a linear softmax head trained offline
// (`semrouter train domain`). The learned weights are plain numbers in a
// JSON file, one per embedding model.
package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
)

// Categories returns the 14 MMLU-Pro categories, in the head's output order.
func Categories() []string {
	return []string{
		"biology", "business", "chemistry", "computer science", "economics",
		"engineering", "health", "history", "law", "math", "other",
		"philosophy", "physics", "psychology",
	}
}

// Head is a trained linear classifier: softmax(W·x + b).
type Head struct {
	// Model names the embedding model the head was trained on; a head only
	// makes sense for that model's vectors.
	Model  string      `json:"model"`
	Dims   int         `json:"dims"`
	Labels []string    `json:"labels"`
	W      [][]float32 `json:"weights"` // len(Labels) × Dims
	B      []float32   `json:"bias"`
	// Metrics records how the head was trained and how it scored on the
	// dev split (informational).
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// Prediction is the head's answer for one query.
type Prediction struct {
	Label string
	Prob  float64
	Index int
}

// Validate checks the head's shape.
func (h *Head) Validate() error {
	if h.Dims <= 0 || len(h.Labels) < 2 {
		return errors.New("domain head: needs dims and at least two labels")
	}
	if len(h.W) != len(h.Labels) || len(h.B) != len(h.Labels) {
		return fmt.Errorf("domain head: %d labels but %d weight rows and %d biases", len(h.Labels), len(h.W), len(h.B))
	}
	for i, row := range h.W {
		if len(row) != h.Dims {
			return fmt.Errorf("domain head: weight row %d has %d values, want %d", i, len(row), h.Dims)
		}
	}
	return nil
}

// Predict returns the most probable label. probs, when non-nil and long
// enough, receives every label's probability (so callers can avoid an
// allocation per request).
func (h *Head) Predict(x []float32, probs []float64) (Prediction, error) {
	if len(x) != h.Dims {
		return Prediction{}, fmt.Errorf("domain head for %q: query has %d dims, want %d", h.Model, len(x), h.Dims)
	}
	if len(probs) < len(h.Labels) {
		probs = make([]float64, len(h.Labels))
	}
	logits(h, x, probs)
	softmax(probs[:len(h.Labels)])
	best := 0
	for i := 1; i < len(h.Labels); i++ {
		if probs[i] > probs[best] {
			best = i
		}
	}
	return Prediction{Label: h.Labels[best], Prob: probs[best], Index: best}, nil
}

func logits(h *Head, x []float32, out []float64) {
	for k, row := range h.W {
		var s float32
		for j, w := range row {
			s += w * x[j]
		}
		out[k] = float64(s + h.B[k])
	}
}

func softmax(z []float64) {
	m := z[0]
	for _, v := range z[1:] {
		if v > m {
			m = v
		}
	}
	var sum float64
	for i, v := range z {
		z[i] = math.Exp(v - m)
		sum += z[i]
	}
	for i := range z {
		z[i] /= sum
	}
}

// ReadHead decodes and validates a head from JSON.
func ReadHead(r io.Reader) (*Head, error) {
	var h Head
	if err := json.NewDecoder(r).Decode(&h); err != nil {
		return nil, fmt.Errorf("decode domain head: %w", err)
	}
	if err := h.Validate(); err != nil {
		return nil, err
	}
	return &h, nil
}

// WriteTo encodes the head as JSON.
func (h *Head) WriteTo(w io.Writer) (int64, error) {
	data, err := json.Marshal(h)
	if err != nil {
		return 0, fmt.Errorf("encode domain head: %w", err)
	}
	n, err := w.Write(append(data, '\n'))
	return int64(n), err
}
