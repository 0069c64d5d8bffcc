// Package grounding checks whether a model's answer rests on the context
// the request gave it (tool results, retrieved passages, the prompt's own
// passages). It is the detector behind the hallucination plugin.
//
// It is not an NLI model. A claim (one sentence of the answer) is flagged
// when it asserts specifics that the context lacks:
//
//   - numbers, normalised the way the response cache's lexical guard
//     compares them (services/cache.AppendNumbers: "1,000" is "1000",
//     "twenty-five" is "25", "3 thousand" is "3000"); a spelled-out number
//     below ten ("two options") is not a specific;
//   - dates: a month name with a day or year next to it ("March 3, 2021",
//     "3 March"), or an ISO date; the month must occur in the context
//     (by name or in an ISO date) and the date's numbers too;
//   - quoted strings ("…", “…”) of 3 to 200 characters, which must occur
//     in the context (case and spacing aside);
//   - capitalised names and entities (runs of capitalised words, acronyms),
//     every word of which must occur in the context; the first word of a
//     sentence or clause, month and day names, units and currencies are
//     not taken for names;
//
// and, when the caller passes an embedder (use_nli), a claim that carries
// a specific and whose best cosine to any context sentence is below the
// threshold is flagged too (reason low_similarity): its specifics may all
// occur in the context yet the statement is about something else.
//
// Work is bounded: the answer is cut at Limits.MaxAnswerBytes and
// Limits.MaxClaims sentences, the context at Limits.MaxContextBytes, and
// at most 32 claims and Limits.MaxEmbedSentences context sentences are
// embedded (one batched call).
package grounding

import (
	"context"
	"errors"
	"math"
)

// Embedder turns texts into L2-normalised embeddings (the gateway's
// embedder stage; the hallucination plugin's use_nli).
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Reasons a claim is flagged, most specific first.
const (
	ReasonDate          = "date"
	ReasonNumber        = "number"
	ReasonQuote         = "quote"
	ReasonEntity        = "entity"
	ReasonLowSimilarity = "low_similarity"
)

// DefaultThreshold is the cosine below which a claim with specifics is
// flagged when embeddings are used. On our calibration sentences with
// USE-Lite, paraphrases of a context sentence (JSON flattened) scored
// 0.61–0.86 and statements about the same entities that the context does
// not make 0.49–0.60; contradictions ("painted gold in 1889" against
// "completed in 1889") score like paraphrases (0.79), which is why this
// is no NLI. A claim that merges several context sentences may score low.
const DefaultThreshold = 0.6

// Limits bound the work of one check.
type Limits struct {
	// MaxAnswerBytes: the answer beyond it is not checked (Truncated).
	MaxAnswerBytes int
	// MaxClaims: sentences checked at most (Truncated beyond).
	MaxClaims int
	// MaxContextBytes: context beyond it is ignored.
	MaxContextBytes int
	// MaxEmbedSentences: context sentences embedded at most (with at most
	// maxEmbedClaims claims, one batched call stays well under a NATS
	// message for 1024-dimension models).
	MaxEmbedSentences int
	// MaxSentenceBytes: a longer sentence is cut into pieces.
	MaxSentenceBytes int
}

// DefaultLimits are the limits of a zero Limits field.
func DefaultLimits() Limits {
	return Limits{MaxAnswerBytes: 32 << 10, MaxClaims: 64, MaxContextBytes: 256 << 10,
		MaxEmbedSentences: 64, MaxSentenceBytes: 1024}
}

// Options configure a Detector.
type Options struct {
	// Threshold is the cosine of the low_similarity check (0: default).
	Threshold float64
	Limits    Limits
}

// Detector checks answers. It is immutable and safe for concurrent use.
type Detector struct {
	threshold float64
	lim       Limits
}

// New returns a Detector.
func New(o Options) *Detector {
	d := &Detector{threshold: o.Threshold, lim: o.Limits}
	if d.threshold <= 0 {
		d.threshold = DefaultThreshold
	}
	def := DefaultLimits()
	for _, f := range []struct{ v, def *int }{{&d.lim.MaxAnswerBytes, &def.MaxAnswerBytes}, {&d.lim.MaxClaims, &def.MaxClaims},
		{&d.lim.MaxContextBytes, &def.MaxContextBytes}, {&d.lim.MaxEmbedSentences, &def.MaxEmbedSentences},
		{&d.lim.MaxSentenceBytes, &def.MaxSentenceBytes}} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return d
}

// Input is one answer and what it should rest on.
type Input struct {
	// Sources are the passages that make the request checkable: tool
	// results (role tool) and the documents the rag plugin injected. No
	// sources: the answer is not checked (see FactCheck).
	Sources []string
	// Supporting are passages that support claims but do not make a
	// request checkable on their own: the system and user messages.
	Supporting []string
	// Answer is the assistant text.
	Answer string
	// FactCheck: the request was flagged as needing fact checking (the
	// fact_check signal matched).
	FactCheck bool
}

// Span is one flagged claim of the answer.
type Span struct {
	// Start and End are byte offsets of the claim in Input.Answer.
	Start, End int
	// Text is the claim (Input.Answer[Start:End]).
	Text string
	// Reason is the most specific reason (Reason*).
	Reason string
	// Missing lists the specifics the context lacks (normalised numbers,
	// dates, quotes, names), in the order found.
	Missing []string
	// Score is how well the context supports the claim, in [0, 1]: the
	// share of its specifics found for lexical reasons, the best cosine
	// for low_similarity.
	Score float64
}

// Verdict is the outcome of a check.
type Verdict struct {
	// Checked: the answer had sources and was checked.
	Checked bool
	// HallucinationDetected: a checked answer has flagged claims (Spans).
	HallucinationDetected bool
	// UnverifiedFactual: the request was fact-check flagged, but there
	// were no sources to verify the answer against.
	UnverifiedFactual bool
	Spans             []Span
	// Claims is the number of sentences checked.
	Claims int
	// Truncated: part of the answer was beyond the limits.
	Truncated bool
	// Similarity says whether the low_similarity check ran.
	Similarity bool
	// EmbedErr is why the low_similarity check could not run (the
	// lexical checks still did).
	EmbedErr error
}

// maxEmbedClaims caps the claims embedded in one check; later claims get
// the lexical checks only.
const maxEmbedClaims = 32

// errEmbedShape: the embedder answered with the wrong number of vectors.
var errEmbedShape = errors.New("embedder returned a wrong number of vectors")

// Check checks in.Answer against the sources and supporting passages. emb
// may be nil (no low_similarity check); its call runs under ctx.
func (d *Detector) Check(ctx context.Context, emb Embedder, in Input) Verdict {
	var v Verdict
	if len(in.Sources) == 0 {
		v.UnverifiedFactual = in.FactCheck && hasWords(in.Answer)
		return v
	}
	v.Checked = true
	answer := in.Answer
	if len(answer) > d.lim.MaxAnswerBytes {
		answer, v.Truncated = answer[:d.lim.MaxAnswerBytes], true
	}
	claims, more := d.claims(answer)
	v.Truncated = v.Truncated || more
	v.Claims = len(claims)
	if len(claims) == 0 {
		return v
	}
	ev := d.evidence(claims, in.Sources, in.Supporting)
	for i := range claims {
		ev.judge(&claims[i])
	}
	if emb != nil {
		v.Similarity, v.EmbedErr = d.similarity(ctx, emb, claims, ev.sentences)
	}
	for i := range claims {
		c := &claims[i]
		if c.reason == "" {
			continue
		}
		v.Spans = append(v.Spans, Span{Start: c.start, End: c.end, Text: answer[c.start:c.end],
			Reason: c.reason, Missing: c.missing, Score: c.score})
	}
	v.HallucinationDetected = len(v.Spans) > 0
	return v
}

// similarity flags the claims with specifics whose best cosine to the
// context sentences is below the threshold. It reports whether it ran.
func (d *Detector) similarity(ctx context.Context, emb Embedder, claims []claim, ctxSents []string) (bool, error) {
	var texts []string
	var idx []int
	for i := range claims {
		if claims[i].specifics > 0 && claims[i].words >= 4 && len(texts) < maxEmbedClaims {
			texts = append(texts, claims[i].text)
			idx = append(idx, i)
		}
	}
	if len(texts) == 0 || len(ctxSents) == 0 {
		return false, nil
	}
	nq := len(texts)
	texts = append(texts, ctxSents...)
	vecs, err := emb.Embed(ctx, texts)
	if err != nil {
		return false, err
	}
	if len(vecs) != len(texts) {
		return false, errEmbedShape
	}
	for qi, ci := range idx {
		best := -1.0
		for _, cv := range vecs[nq:] {
			if s := cosine(vecs[qi], cv); s > best {
				best = s
			}
		}
		c := &claims[ci]
		c.cosine = best
		if best < d.threshold && c.reason == "" {
			c.reason, c.score = ReasonLowSimilarity, max(best, 0)
		}
	}
	return true, nil
}

func cosine(a, b []float32) float64 {
	if len(a) != len(b) {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / (math.Sqrt(na) * math.Sqrt(nb))
}
