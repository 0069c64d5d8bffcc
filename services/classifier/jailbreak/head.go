package jailbreak

import (
	"cmp"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
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
	// GuardOverride, when set, lets a very confident guard flag a prompt
	// on its own (see Scorer.Score).
	GuardOverride *GuardOverride `json:"guard_override,omitempty"`
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

// GuardOverride is the second, higher threshold on llm_guardrail's maximum
// probability: a prompt the guard is this sure of is an attack whatever
// the head says. Threshold is the lowest at which the union of the other
// detectors' out-of-fold positives (head, gibberish detector) and the
// guard's positives keeps the benign training false-positive rate within
// FPRBudget.
type GuardOverride struct {
	Threshold float64 `json:"threshold"`
	FPRBudget float64 `json:"fpr_budget"`
	// CVFPR and CVRecall are the union's out-of-fold figures on the
	// training split; GuardFPR is the guard's alone.
	CVFPR    float64 `json:"cv_fpr"`
	CVRecall float64 `json:"cv_recall"`
	GuardFPR float64 `json:"guard_fpr"`
}

// ChooseGuardOverride picks the override threshold from the guard's
// maximum probabilities of the training examples, which of them the other
// detectors already flag out of fold (covered) and the labels. It returns
// nil when those use up the budget.
func ChooseGuardOverride(guard []float64, covered []bool, attack []bool, budget float64) *GuardOverride {
	var benign, uncovered []float64
	coveredFP := 0
	for i, p := range guard {
		if attack[i] {
			continue
		}
		benign = append(benign, p)
		if covered[i] {
			coveredFP++
		} else {
			uncovered = append(uncovered, p)
		}
	}
	// The guard may add this many of the uncovered benign prompts.
	allowed := math.Floor(budget*float64(len(benign))) - float64(coveredFP)
	if allowed < 1 || len(uncovered) == 0 {
		return nil
	}
	thr := min(thresholdForBudget(uncovered, (allowed+0.5)/float64(len(uncovered))), 1-1e-9)
	union := make([]float64, len(guard))
	for i, p := range guard {
		if covered[i] || p >= thr {
			union[i] = 1
		}
	}
	m := Evaluate(union, attack, 0.5)
	return &GuardOverride{
		Threshold: roundTo(thr, 6), FPRBudget: budget,
		CVFPR: roundTo(m.FPR, 4), CVRecall: roundTo(m.Recall, 4),
		GuardFPR: roundTo(Evaluate(guard, attack, thr).FPR, 4),
	}
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
	if o := h.GuardOverride; o != nil && !(o.Threshold > 0 && o.Threshold < 1) {
		errs = append(errs, fmt.Errorf("guard_override.threshold: want in (0, 1), got %v", o.Threshold))
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

// thresholdForBudget returns the lowest threshold at which at most
// budget·len(benign) of the benign scores reach it: the midpoint between
// the highest benign score it lets through and the next lower one. Tied
// scores are never split, so a tie at the budget's edge lowers the count
// let through.
func thresholdForBudget(benign []float64, budget float64) float64 {
	s := slices.Clone(benign)
	slices.SortFunc(s, func(a, b float64) int { return cmp.Compare(b, a) })
	if len(s) == 0 {
		return math.Inf(1)
	}
	k := min(int(budget*float64(len(s))), len(s)-1)
	for k > 0 && s[k] == s[k-1] {
		k--
	}
	if k == 0 {
		return math.Nextafter(s[0], math.Inf(1))
	}
	return (s[k] + s[k-1]) / 2
}

func roundTo(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
