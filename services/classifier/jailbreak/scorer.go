// Package jailbreak is the model-based jailbreak / prompt-injection scorer of
// the classifier.
//
// It has four layers:
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
//  4. A harmful-request detector (Harm): hand-written contrastive
//     patterns (harm_lexicon.go) over a public harm taxonomy that pair a
//     harmful action with a harmful object inside a request ("explain how
//     to synthesize a nerve agent") and are cancelled by benign context
//     ("detect", "protect against", exam narratives). Only its operating
//     point is data (weights/harm.json), chosen on benign prompts alone.
//
// Score is the maximum of four probabilities, each 0.5 at its own
// operating point: the head's, the gibberish detector's, the guard's
// maximum relative to a second, higher guard threshold
// (Head.GuardOverride), and the harmful-request detector's. A prompt is
// flagged when any of the four fires.
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
	// HarmRaw is the harmful-request detector's best weighted match (0
	// when nothing matches), HarmCategory its harm category and Harm its
	// probability (0.5 at the detector's operating point).
	HarmRaw      float64
	HarmCategory HarmCategory
	Harm         float64
	// Probability is the combined score, the maximum of Head, Gibberish,
	// GuardOverride and Harm (what Score returns).
	Probability float64
}

// Scorer scores texts. It is immutable after Load and safe for concurrent use.
type Scorer struct {
	guard     *guard
	head      *Head
	gibberish *Gibberish
	harm      *Harm
	pool      sync.Pool // *scratch
}

type scratch struct {
	counts *counts
	grams  *gramScratch
	gib    gibberishScratch
	harm   harmScratch
}

// maxPooledText bounds the buffers a pooled scratch keeps: one huge prompt
// should not pin megabytes in every pool slot.
const maxPooledText = 256 << 10

func (s *Scorer) get() *scratch { return s.pool.Get().(*scratch) }

func (s *Scorer) put(sc *scratch) {
	if cap(sc.counts.buf) > maxPooledText || cap(sc.grams.runes) > maxPooledText || cap(sc.gib.syms) > maxPooledText || cap(sc.harm.buf) > maxPooledText {
		return
	}
	s.pool.Put(sc)
}

// Load reads the llm_guardrail models from dir (the npm package root or its
// model/ folder) and uses the shipped head, gibberish detector and
// harmful-request detector.
func Load(dir string) (*Scorer, error) {
	return LoadParts(dir, shippedHead, shippedGibberish, shippedHarm)
}

// LoadWithHead is Load with the head given as JSON.
func LoadWithHead(dir string, headJSON []byte) (*Scorer, error) {
	return LoadWith(dir, headJSON, shippedGibberish)
}

// LoadWith is Load with the head and the gibberish detector given as JSON.
func LoadWith(dir string, headJSON, gibberishJSON []byte) (*Scorer, error) {
	return LoadParts(dir, headJSON, gibberishJSON, shippedHarm)
}

// LoadParts is Load with the head, the gibberish detector and the
// harmful-request detector's operating point given as JSON.
func LoadParts(dir string, headJSON, gibberishJSON, harmJSON []byte) (*Scorer, error) {
	hm, err := ParseHarm(harmJSON)
	if err != nil {
		return nil, err
	}
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
	return newScorer(g, h, gib, hm), nil
}

func newScorer(g *guard, h *Head, gib *Gibberish, hm *Harm) *Scorer {
	s := &Scorer{guard: g, head: h, gibberish: gib, harm: hm}
	s.pool.New = func() any {
		return &scratch{counts: g.newCounts(), grams: h.CharGrams.newScratch()}
	}
	return s
}

// Head returns the scorer's head (read only).
func (s *Scorer) Head() *Head { return s.head }

// Gibberish returns the scorer's gibberish detector (read only).
func (s *Scorer) Gibberish() *Gibberish { return s.gibberish }

// Harm returns the scorer's harmful-request detector (read only).
func (s *Scorer) Harm() *Harm { return s.harm }

// Score returns the probability that text is a jailbreak, a prompt
// injection or a harmful request: the maximum of the head's, the gibberish
// detector's, the guard override's and the harmful-request detector's
// probabilities, each 0.5 at its operating point.
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
	if s.harm != nil {
		m := s.harm.lex.match(&sc.harm, text)
		out.HarmRaw, out.HarmCategory, out.Harm = m.Raw, m.Category, s.harm.Probability(m.Raw)
	}
	out.Probability = max(out.Head, out.Gibberish, out.GuardOverride, out.Harm)
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
