package jailbreak

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

//go:embed weights/head.json
var shippedHead []byte

// ShippedHead returns the JSON of the head trained by
// cmd/train-jailbreak and committed in weights/head.json.
func ShippedHead() []byte { return shippedHead }

// numDense is the number of dense head inputs: the three guard logits.
const numDense = int(numTasks)

// logitClip bounds the guard logits fed to the head, so one extreme
// prompt cannot dominate the standardisation.
const logitClip = 30

// Head is the logistic-regression head trained on warden_train: it combines
// the three llm_guardrail logits (standardised) with hashed character
// n-gram features of the prompt:
//
//	p = σ(b + Σ_t w_t·clip((clip(z_t) − μ_t)/s_t) + Σ_k v_k·x_k)
//
// where z_t is task t's logit, μ_t and s_t the training mean and standard
// deviation, and x the L2-normalised 1 + ln(count) char n-gram vector.
type Head struct {
	Version   int       `json:"version"`
	Guard     string    `json:"guard"`
	CharGrams charGrams `json:"char_grams"`
	// DenseMean, DenseScale and DenseWeights are indexed by GuardTask.
	DenseMean    []float64 `json:"dense_mean"`
	DenseScale   []float64 `json:"dense_scale"`
	DenseWeights []float64 `json:"dense_weights"`
	Bias         float64   `json:"bias"`
	GramWeights  []float32 `json:"gram_weights"`
	// Training records how the head was fitted (informational).
	Training *TrainingInfo `json:"training,omitempty"`
}

// TrainingInfo documents a trained head.
type TrainingInfo struct {
	Data     string             `json:"data"`
	Lambda   float64            `json:"lambda"`
	Iters    int                `json:"iters"`
	Folds    int                `json:"folds"`
	CV       map[string]float64 `json:"cv"`
	Selected string             `json:"selected"`
	NoGuard  bool               `json:"no_guard,omitempty"`
	// OperatingPoint is the out-of-fold threshold that met the benign
	// false-positive budget; the bias was shifted by −logit(threshold) so
	// that the head's 0.5 is that point.
	OperatingPoint *OperatingPoint `json:"operating_point,omitempty"`
}

// OperatingPoint is a decision threshold chosen on out-of-fold predictions.
type OperatingPoint struct {
	FPRBudget float64 `json:"fpr_budget"`
	Threshold float64 `json:"threshold"`
	CVFPR     float64 `json:"cv_fpr"`
	CVRecall  float64 `json:"cv_recall"`
	CVF1      float64 `json:"cv_f1"`
}

// ParseHead decodes and validates a head.
func ParseHead(raw []byte) (*Head, error) {
	var h Head
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("decode jailbreak head: %w", err)
	}
	if err := h.Validate(); err != nil {
		return nil, err
	}
	return &h, nil
}

// Validate reports every shape problem of h.
func (h *Head) Validate() error {
	var errs []error
	if h.Version != 1 {
		errs = append(errs, fmt.Errorf("version: want 1, got %d", h.Version))
	}
	cg := h.CharGrams
	if cg.Bits < 8 || cg.Bits > 22 {
		errs = append(errs, fmt.Errorf("char_grams.bits: want 8…22, got %d", cg.Bits))
	} else if len(h.GramWeights) != cg.buckets() {
		errs = append(errs, fmt.Errorf("gram_weights: want %d values, got %d", cg.buckets(), len(h.GramWeights)))
	}
	if cg.MinN < 1 || cg.MaxN < cg.MinN || cg.MaxN > maxCharN {
		errs = append(errs, fmt.Errorf("char_grams: want 1 ≤ min_n ≤ max_n ≤ %d, got %d…%d", maxCharN, cg.MinN, cg.MaxN))
	}
	for name, v := range map[string][]float64{"dense_mean": h.DenseMean, "dense_scale": h.DenseScale, "dense_weights": h.DenseWeights} {
		if len(v) != numDense {
			errs = append(errs, fmt.Errorf("%s: want %d values, got %d", name, numDense, len(v)))
		}
	}
	for i, s := range h.DenseScale {
		if !(s > 0) {
			errs = append(errs, fmt.Errorf("dense_scale[%d]: want > 0, got %v", i, s))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("jailbreak head: %w", err)
	}
	return nil
}

// clippedDense returns the head inputs for the guard logits z: each logit
// clipped to ±logitClip, standardised, and clipped to ±denseClip.
func (h *Head) clippedDense(z [numTasks]float64) [numDense]float64 {
	var d [numDense]float64
	for t := range numDense {
		v := max(-logitClip, min(logitClip, z[t]))
		v = (v - h.DenseMean[t]) / h.DenseScale[t]
		d[t] = max(-denseClip, min(denseClip, v))
	}
	return d
}

// logit returns the head's log-odds for the guard logits z and the char
// n-gram counts in s.
func (h *Head) logit(z [numTasks]float64, s *gramScratch) float64 {
	d := h.clippedDense(z)
	out := h.Bias
	for t, v := range d {
		out += h.DenseWeights[t] * v
	}
	if dot, norm := s.dotNorm(h.GramWeights); norm > 0 {
		out += dot / norm
	}
	if math.IsNaN(out) {
		return 0
	}
	return out
}
