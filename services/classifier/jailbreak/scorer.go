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
//     guard logits and hashed character n-grams. Its probability is the
//     Score.
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
	// Probability is the trained head's probability that the text is a
	// jailbreak or prompt injection (what Score returns).
	Probability float64
}

// Scorer scores texts. It is immutable after Load and safe for concurrent use.
type Scorer struct {
	guard *guard
	head  *Head
	pool  sync.Pool // *scratch
}

type scratch struct {
	counts *counts
	grams  *gramScratch
}

// maxPooledText bounds the buffers a pooled scratch keeps: one huge prompt
// should not pin megabytes in every pool slot.
const maxPooledText = 256 << 10

func (s *Scorer) get() *scratch { return s.pool.Get().(*scratch) }

func (s *Scorer) put(sc *scratch) {
	if cap(sc.counts.buf) > maxPooledText || cap(sc.grams.runes) > maxPooledText {
		return
	}
	s.pool.Put(sc)
}

// Load reads the llm_guardrail models from dir (the npm package root or its
// model/ folder) and uses the shipped head.
func Load(dir string) (*Scorer, error) {
	return LoadWithHead(dir, shippedHead)
}

// LoadWithHead is Load with the head given as JSON.
func LoadWithHead(dir string, headJSON []byte) (*Scorer, error) {
	h, err := ParseHead(headJSON)
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
	return newScorer(g, h), nil
}

func newScorer(g *guard, h *Head) *Scorer {
	s := &Scorer{guard: g, head: h}
	s.pool.New = func() any {
		return &scratch{counts: g.newCounts(), grams: h.CharGrams.newScratch()}
	}
	return s
}

// Head returns the scorer's head (read only).
func (s *Scorer) Head() *Head { return s.head }

// Score returns the probability that text is a jailbreak or prompt
// injection.
func (s *Scorer) Score(text string) float64 {
	sc := s.get()
	defer s.put(sc)
	z := s.guardLogits(sc, text)
	return sigmoid(s.headLogit(sc, z, text))
}

// Scores returns the guard probabilities next to the head's probability.
func (s *Scorer) Scores(text string) Scores {
	sc := s.get()
	defer s.put(sc)
	z := s.guardLogits(sc, text)
	out := Scores{
		Injection:   sigmoid(z[TaskInjection]),
		Jailbreak:   sigmoid(z[TaskJailbreak]),
		Malicious:   sigmoid(z[TaskMalicious]),
		Probability: sigmoid(s.headLogit(sc, z, text)),
	}
	out.Guard = max(out.Injection, out.Jailbreak, out.Malicious)
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
