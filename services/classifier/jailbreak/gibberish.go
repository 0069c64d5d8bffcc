package jailbreak

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
)

//go:embed weights/gibberish.json
var shippedGibberish []byte

// ShippedGibberish returns the JSON of the gibberish detector trained by
// cmd/train-jailbreak and committed in weights/gibberish.json.
func ShippedGibberish() []byte { return shippedGibberish }

// Gibberish is the adversarial-suffix detector: the windowed perplexity
// filter of Jain et al. 2023 ("Baseline Defenses for Adversarial Attacks
// Against Aligned Language Models") with a character n-gram model in place
// of a neural language model. Its raw score is the highest mean negative
// log-probability (nats per symbol) of any Window consecutive symbols of
// the prompt under an interpolated character n-gram model of ordinary text
// (warden_train plus an unlabelled background corpus of code and exam
// questions, see LoadBackground); with Relative, minus the lowest such
// mean of the same prompt, so that a prompt that is uniformly unusual
// (a table, a formula, a language the model barely knows) scores low and an
// improbable stretch appended to ordinary text scores high.
type Gibberish struct {
	Version    int `json:"version"`
	Order      int `json:"order"`
	Window     int `json:"window"`
	MinSymbols int `json:"min_symbols"`
	// Relative scores the most improbable window relative to the most
	// probable one of the same prompt.
	Relative bool `json:"relative,omitempty"`
	// Threshold is the raw score at which Probability is 0.5: the
	// operating point chosen on out-of-fold benign training prompts.
	Threshold float64 `json:"threshold"`
	// Slope is the logistic slope per nat of Probability.
	Slope    float64            `json:"slope"`
	Training *GibberishTraining `json:"training,omitempty"`
	// Counts are the order-n n-gram counts (keys: escapeKey form).
	Counts map[string]uint32 `json:"counts"`

	lm *charLM
}

// GibberishTraining documents how the detector was fitted (informational).
type GibberishTraining struct {
	Data string `json:"data"`
	// Background names the unlabelled corpus the language model also
	// learnt from, and its digest (LoadBackground).
	Background       []string `json:"background,omitempty"`
	BackgroundDigest string   `json:"background_digest,omitempty"`
	Folds            int      `json:"folds"`
	FPRBudget        float64  `json:"fpr_budget"`
	// CVBenignFPR and CVSuffixRecall are out-of-fold figures at Threshold:
	// the share of benign training prompts above it, and the share of
	// training prompts with a synthetic GCG-form suffix above it.
	CVBenignFPR    float64 `json:"cv_benign_fpr"`
	CVSuffixRecall float64 `json:"cv_suffix_recall"`
	Selected       string  `json:"selected"`
}

// ParseGibberish decodes, validates and compiles a detector.
func ParseGibberish(raw []byte) (*Gibberish, error) {
	var g Gibberish
	if err := json.Unmarshal(raw, &g); err != nil {
		return nil, fmt.Errorf("decode gibberish detector: %w", err)
	}
	var errs []error
	if g.Version != 1 {
		errs = append(errs, fmt.Errorf("version: want 1, got %d", g.Version))
	}
	if g.Order < 1 || g.Order > maxLMOrder {
		errs = append(errs, fmt.Errorf("order: want 1…%d, got %d", maxLMOrder, g.Order))
	}
	if g.Window < 1 {
		errs = append(errs, fmt.Errorf("window: want ≥ 1, got %d", g.Window))
	}
	if !(g.Slope > 0) {
		errs = append(errs, fmt.Errorf("slope: want > 0, got %v", g.Slope))
	}
	if len(g.Counts) == 0 {
		errs = append(errs, errors.New("counts: empty"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("gibberish detector: %w", err)
	}
	counts, err := countsFromJSON(g.Counts, g.Order)
	if err != nil {
		return nil, fmt.Errorf("gibberish detector counts: %w", err)
	}
	g.lm = newCharLM(newLatinFold(), counts, g.Order)
	return &g, nil
}

// gibberishScratch is the per-call scratch of a Gibberish score.
type gibberishScratch struct {
	syms []uint8
	nll  []float32
}

// raw returns the windowed score of text.
func (g *Gibberish) raw(s *gibberishScratch, text string) float64 {
	hi, lo, syms, nll := g.lm.windowScore(text, g.Window, g.MinSymbols, s.syms, s.nll)
	s.syms, s.nll = syms, nll
	if g.Relative {
		return hi - lo
	}
	return hi
}

// RawScore returns the windowed negative log-probability of text (nats per
// symbol).
func (g *Gibberish) RawScore(text string) float64 {
	return g.raw(&gibberishScratch{}, text)
}

// Probability maps a raw score to (0, 1), 0.5 at Threshold.
func (g *Gibberish) Probability(raw float64) float64 {
	if raw == 0 {
		return 0 // too short to judge
	}
	return sigmoid(g.Slope * (raw - g.Threshold))
}
