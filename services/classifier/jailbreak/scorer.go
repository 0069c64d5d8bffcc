// Package jailbreak is the model-based jailbreak / prompt-injection scorer of
// the classifier.
//
// It has two layers:
//
//  1. A Go reimplementation of the three TF-IDF + logistic-regression models
//     of the npm package llm_guardrail@2.1.2 (prompt injection, jailbreak,
//     malicious intent). The weights are read at run time from the unpacked
//     package (scripts/setup-guard.sh puts it under
//     .cache/npm/llm_guardrail@2.1.2/package); the predictions match the
//     package's JavaScript to within floating-point summation order. The
//     three probabilities are combined as their maximum, GuardProbability:
//     the prompt is an attack when any detector fires, and the maximum is
//     what llm_guardrail itself reports as its overall threat (checkAll's
//     maxThreatConfidence).
//  2. A logistic-regression head (weights/head.json, trained on
//     warden_train.jsonl only by cmd/train-jailbreak) over the three
//     guard logits and hashed character n-grams.
//  3. A gibberish detector (weights/gibberish.json, same trainer): the
//     windowed perplexity filter of Jain et al. 2023 with a character
//     trigram model, for optimised adversarial suffixes (GCG, DSN) that
//     warden_train has no examples of.
//
// Score is the maximum of three probabilities, each 0.5 at its own
// operating point chosen on warden_train: the head's, the gibberish
// detector's, and the guard's maximum relative to a second, higher guard
// threshold (Head.GuardOverride). A prompt is an attack when any of the
// three fires.
package jailbreak

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
)

// GuardPackage is the npm package (name@version) the guard weights come from.
const GuardPackage = "llm_guardrail@2.1.2"

// GuardDir returns where scripts/setup-guard.sh unpacks the guard package
// under the repository root.
func GuardDir(repoRoot string) string {
	return filepath.Join(repoRoot, ".cache", "npm", GuardPackage, "package")
}

// Scores is the full answer for one text.
type Scores struct {
	// Injection, Jailbreak and Malicious are llm_guardrail's probabilities.
	Injection, Jailbreak, Malicious float64
	// Guard is the maximum of the three.
	Guard float64
	// Head is the trained head's probability (0.5 at its operating point).
	Head float64
	// GibberishRaw is the gibberish detector's windowed score (nats per
	// symbol) and Gibberish its probability (0.5 at its threshold).
	GibberishRaw, Gibberish float64
	// GuardOverride is the guard maximum's probability relative to the
	// override threshold (0.5 there; 0 when the head has no override).
	GuardOverride float64
	// Probability is the combined score, the maximum of Head, Gibberish
	// and GuardOverride (what Score returns).
	Probability float64
}

// Scorer scores texts. It is immutable after Load and safe for concurrent use.
type Scorer struct {
	guard     *guard
	head      *Head
	gibberish *Gibberish
	pool      sync.Pool // *scratch
}

type scratch struct {
	counts *counts
	grams  *gramScratch
	gib    gibberishScratch
}

// maxPooledText bounds the buffers a pooled scratch keeps: one huge prompt
// should not pin megabytes in every pool slot.
const maxPooledText = 256 << 10

func (s *Scorer) get() *scratch { return s.pool.Get().(*scratch) }

func (s *Scorer) put(sc *scratch) {
	if cap(sc.counts.buf) > maxPooledText || cap(sc.grams.runes) > maxPooledText || cap(sc.gib.syms) > maxPooledText {
		return
	}
	s.pool.Put(sc)
}

// Load reads the llm_guardrail models from dir (the npm package root or its
// model/ folder) and uses the shipped head and gibberish detector.
func Load(dir string) (*Scorer, error) {
	return LoadWith(dir, shippedHead, shippedGibberish)
}

// LoadWithHead is Load with the head given as JSON.
func LoadWithHead(dir string, headJSON []byte) (*Scorer, error) {
	return LoadWith(dir, headJSON, shippedGibberish)
}

// LoadWith is Load with the head and the gibberish detector given as JSON.
func LoadWith(dir string, headJSON, gibberishJSON []byte) (*Scorer, error) {
	h, err := ParseHead(headJSON)
	if err != nil {
		return nil, err
	}
	gib, err := ParseGibberish(gibberishJSON)
	if err != nil {
		return nil, err
	}
	g, err := loadGuard(dir)
	if err != nil {
		return nil, err
	}
	if h.Guard != "" && h.Guard != GuardPackage {
		return nil, fmt.Errorf("jailbreak head: trained on %s, scorer uses %s", h.Guard, GuardPackage)
	}
	return newScorer(g, h, gib), nil
}

func newScorer(g *guard, h *Head, gib *Gibberish) *Scorer {
	s := &Scorer{guard: g, head: h, gibberish: gib}
	s.pool.New = func() any {
		return &scratch{counts: g.newCounts(), grams: h.CharGrams.newScratch()}
	}
	return s
}

// Head returns the scorer's head (read only).
func (s *Scorer) Head() *Head { return s.head }

// Gibberish returns the scorer's gibberish detector (read only).
func (s *Scorer) Gibberish() *Gibberish { return s.gibberish }

// Score returns the probability that text is a jailbreak or prompt
// injection: the maximum of the head's, the gibberish detector's and the
// guard override's probabilities, each 0.5 at its operating point.
func (s *Scorer) Score(text string) float64 {
	return s.Scores(text).Probability
}

// Scores returns every component of Score.
func (s *Scorer) Scores(text string) Scores {
	sc := s.get()
	defer s.put(sc)
	z := s.guardLogits(sc, text)
	out := Scores{
		Injection: sigmoid(z[TaskInjection]),
		Jailbreak: sigmoid(z[TaskJailbreak]),
		Malicious: sigmoid(z[TaskMalicious]),
		Head:      sigmoid(s.headLogit(sc, z, text)),
	}
	out.Guard = max(out.Injection, out.Jailbreak, out.Malicious)
	if s.gibberish != nil {
		out.GibberishRaw = s.gibberish.raw(&sc.gib, text)
		out.Gibberish = s.gibberish.Probability(out.GibberishRaw)
	}
	if o := s.head.GuardOverride; o != nil {
		zmax := max(z[TaskInjection], z[TaskJailbreak], z[TaskMalicious])
		out.GuardOverride = sigmoid(zmax - logit(o.Threshold))
	}
	out.Probability = max(out.Head, out.Gibberish, out.GuardOverride)
	return out
}

// GuardProbabilities returns llm_guardrail's three probabilities, indexed by
// GuardTask, exactly as the package computes them.
func (s *Scorer) GuardProbabilities(text string) [3]float64 {
	sc := s.get()
	defer s.put(sc)
	z := s.guardLogits(sc, text)
	var p [3]float64
	for t := range numTasks {
		p[t] = sigmoid(z[t])
	}
	return p
}

// GuardProbability is the guard models' combined probability: the maximum
// of the three.
func (s *Scorer) GuardProbability(text string) float64 {
	p := s.GuardProbabilities(text)
	return max(p[0], p[1], p[2])
}

// JailbreakScore implements the classifier's JailbreakScorer contract
// (heuristic.JailbreakScorer): it returns Score, or the context's error
// when ctx is already done.
func (s *Scorer) JailbreakScore(ctx context.Context, text string) (float64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return s.Score(text), nil
}

func (s *Scorer) guardLogits(sc *scratch, text string) [numTasks]float64 {
	s.guard.countTerms(sc.counts, text)
	return s.guard.logits(sc.counts)
}

func (s *Scorer) headLogit(sc *scratch, z [numTasks]float64, text string) float64 {
	s.head.CharGrams.count(sc.grams, text)
	return s.head.logit(z, sc.grams)
}
