package jailbreak

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
)

// GibberishMinSymbols is the shortest scored text: a prompt of fewer
// scored symbols is too short to judge and scores 0.
const GibberishMinSymbols = 16

// GibberishConfig is one gibberish-detector configuration.
type GibberishConfig struct {
	Order      int // n-gram order (context of Order−1 symbols)
	Window     int // symbols per window
	MinSymbols int // shorter texts score 0
	Relative   bool
}

// String names the configuration in reports.
func (c GibberishConfig) String() string {
	s := fmt.Sprintf("order=%d window=%d", c.Order, c.Window)
	if c.Relative {
		s += " relative"
	}
	return s
}

// GibberishCV is the out-of-fold result of one configuration: the
// language model of each fold is fitted on the other folds' texts (both
// labels: jailbreak templates are prose too) and scores the held-out
// texts, with and without a synthetic suffix.
type GibberishCV struct {
	Config GibberishConfig
	// OOF is the raw score of every example; Suffixed the raw scores of
	// its two synthetic attacks (suffixedTexts).
	OOF, Suffixed []float64
	// Threshold meets the benign budget on OOF; BenignFPR is the benign
	// share at or above it, SuffixRecall the share of Suffixed at or above it.
	Threshold, BenignFPR, SuffixRecall float64
}

// suffixedTexts returns, for every example, two synthetic attacks of the
// published GCG form: its first sentence (a short request, as in the GCG
// and DSN artifacts) and its whole text, each followed by one synthetic
// suffix. The generator is built from all the texts and seeded, so the
// suffixes are the same for every configuration.
func suffixedTexts(examples []Example, seed uint64) [][2]string {
	texts := make([]string, len(examples))
	for i, ex := range examples {
		texts[i] = ex.Text
	}
	gen := NewSuffixGenerator(texts, seed)
	out := make([][2]string, len(examples))
	for i, t := range texts {
		out[i][0] = firstSentence(t) + " " + gen.Suffix()
		out[i][1] = strings.TrimRight(t, " \n") + " " + gen.Suffix()
	}
	return out
}

// firstSentence returns text up to its first sentence end or line break,
// at most 200 bytes (cut at a space).
func firstSentence(text string) string {
	text = strings.TrimSpace(text)
	end := len(text)
	if i := strings.IndexAny(text, ".?!\n"); i >= 0 {
		end = i + 1
	}
	if end > 200 {
		end = 200
		if i := strings.LastIndexByte(text[:end], ' '); i > 0 {
			end = i
		}
	}
	return strings.TrimSpace(text[:end])
}

// CrossValidateGibberish runs cfg over folds (FoldOf) and picks the
// threshold for the benign false-positive budget. The background texts
// (unlabelled code and prose) are part of every fold's language model.
func CrossValidateGibberish(ctx context.Context, examples []Example, background []string, cfg GibberishConfig, folds int, budget float64) (GibberishCV, error) {
	res := GibberishCV{Config: cfg, OOF: make([]float64, len(examples)), Suffixed: make([]float64, 0, 2*len(examples))}
	if cfg.Order < 1 || cfg.Order > maxLMOrder || cfg.Window < 1 {
		return res, fmt.Errorf("gibberish config %s: want order 1…%d and window ≥ 1", cfg, maxLMOrder)
	}
	suffixed := suffixedTexts(examples, 1)
	sfx := make([][2]float64, len(examples))
	s := &gibberishScratch{}
	fold := newLatinFold()
	for f := range folds {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		train := slices.Clone(background)
		for _, ex := range examples {
			if FoldOf(ex.Text, folds) != f {
				train = append(train, ex.Text)
			}
		}
		g := &Gibberish{Order: cfg.Order, Window: cfg.Window, MinSymbols: cfg.MinSymbols, Relative: cfg.Relative,
			lm: newCharLM(fold, fold.ngramCounts(train, cfg.Order), cfg.Order)}
		for i, ex := range examples {
			if FoldOf(ex.Text, folds) == f {
				res.OOF[i] = g.raw(s, ex.Text)
				sfx[i] = [2]float64{g.raw(s, suffixed[i][0]), g.raw(s, suffixed[i][1])}
			}
		}
	}
	var benign []float64
	for i, ex := range examples {
		if !ex.Attack {
			benign = append(benign, res.OOF[i])
		}
	}
	res.Threshold = thresholdForBudget(benign, budget)
	res.BenignFPR = shareAtLeast(benign, res.Threshold)
	for _, v := range sfx {
		res.Suffixed = append(res.Suffixed, v[0], v[1])
	}
	res.SuffixRecall = shareAtLeast(res.Suffixed, res.Threshold)
	return res, nil
}

func shareAtLeast(v []float64, thr float64) float64 {
	n := 0
	for _, x := range v {
		if x >= thr {
			n++
		}
	}
	if len(v) == 0 {
		return 0
	}
	return float64(n) / float64(len(v))
}

// FitGibberish fits the detector on all examples with the threshold chosen
// by cross-validation. The slope puts the median out-of-fold benign score at
// probability 0.01.
func FitGibberish(examples []Example, background []string, cv GibberishCV, info GibberishTraining) *Gibberish {
	cfg := cv.Config
	texts := slices.Clone(background)
	var benign []float64
	for i, ex := range examples {
		texts = append(texts, ex.Text)
		if !ex.Attack {
			benign = append(benign, cv.OOF[i])
		}
	}
	slices.Sort(benign)
	median := benign[len(benign)/2]
	slope := math.Log(99) / max(cv.Threshold-median, 1e-3)
	fold := newLatinFold()
	counts := fold.ngramCounts(texts, cfg.Order)
	info.CVBenignFPR, info.CVSuffixRecall, info.Selected = roundTo(cv.BenignFPR, 4), roundTo(cv.SuffixRecall, 4), cfg.String()
	return &Gibberish{
		Version: 1, Order: cfg.Order, Window: cfg.Window, MinSymbols: cfg.MinSymbols, Relative: cfg.Relative,
		Threshold: roundTo(cv.Threshold, 4), Slope: roundTo(slope, 4), Training: &info,
		Counts: countsJSON(counts, cfg.Order),
		lm:     newCharLM(fold, counts, cfg.Order),
	}
}
