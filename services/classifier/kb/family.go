package kb

import (
	"fmt"
	"math"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

// Target kinds and match modes of a kb rule.
const (
	KindLabel = "label"
	KindGroup = "group"

	MatchBest      = "best"
	MatchThreshold = "threshold"
)

// Target is a label or group of one knowledge base, resolved.
type Target struct {
	group bool
	index int
}

// Target resolves kind ("label" or "group") and value against b.
func (b *Base) Target(kind, value string) (Target, error) {
	switch kind {
	case KindLabel:
		i, ok := b.labelIdx[value]
		if !ok {
			return Target{}, fmt.Errorf("label %q is not in knowledge base %q%s", value, b.name, knownList(b.labels))
		}
		return Target{index: i}, nil
	case KindGroup:
		i, ok := b.groupIdx[value]
		if !ok {
			return Target{}, fmt.Errorf("group %q is not defined in knowledge base %q%s", value, b.name, knownList(b.groups))
		}
		return Target{group: true, index: i}, nil
	}
	return Target{}, fmt.Errorf("unknown target kind %q (want label or group)", kind)
}

// Rule is one compiled kb signal rule.
type Rule struct {
	Name   string
	Base   *Base
	Target Target
	// Threshold selects match: threshold; false is match: best.
	Threshold bool
}

// Family is the kb rules of one routing profile and the knowledge bases a
// request must be scored against (those the rules name and those whose
// metrics projections read). It is immutable and safe for concurrent use.
type Family struct {
	bases []*Base
	rules []rule
}

type rule struct {
	Rule
	base int // index into bases
}

// NewFamily builds a family from its rules; extra are knowledge bases
// scored for their metrics even when no rule names them.
func NewFamily(rules []Rule, extra ...*Base) *Family {
	f := &Family{}
	index := func(b *Base) int {
		for i, x := range f.bases {
			if x == b {
				return i
			}
		}
		f.bases = append(f.bases, b)
		return len(f.bases) - 1
	}
	for _, r := range rules {
		f.rules = append(f.rules, rule{Rule: r, base: index(r.Base)})
	}
	for _, b := range extra {
		index(b)
	}
	return f
}

// Evaluate scores the normalised query q against every knowledge base of
// the family and reports matched rules (confidence and value: the
// target's score), the scores of unmatched rules, and every metric under
// "<kb>:<metric>".
func (f *Family) Evaluate(q []float32) signal.Outcome {
	out := signal.Outcome{Family: signal.KB}
	n := 0
	for _, b := range f.bases {
		n += len(b.labels) + len(b.groups)
	}
	var stack [64]float64
	buf := stack[:0]
	if n > len(stack) {
		buf = make([]float64, 0, n)
	}
	var sstack [4]Scores
	scores := sstack[:0]
	for _, b := range f.bases {
		if len(q) != b.dims {
			out.Err = fmt.Errorf("knowledge base %q: query has %d dimensions, the examples %d", b.name, len(q), b.dims)
			return out
		}
		start := len(buf)
		buf = buf[:start+len(b.labels)+len(b.groups)]
		s := Scores{Label: buf[start : start+len(b.labels)], Group: buf[start+len(b.labels) : start+len(b.labels)+len(b.groups)]}
		b.Score(q, &s)
		scores = append(scores, s)
	}
	for _, r := range f.rules {
		b, s := f.bases[r.base], &scores[r.base]
		v, ok := r.evaluate(b, s)
		if ok {
			out.Matches = append(out.Matches, signal.Match{Family: signal.KB, Name: r.Name, Confidence: clamp01(v), Value: v})
			continue
		}
		if out.Scores == nil {
			out.Scores = make(map[string]float64, len(f.rules))
		}
		out.Scores[r.Name] = v
	}
	for i, b := range f.bases {
		for _, m := range b.metrics {
			if out.Scores == nil {
				out.Scores = make(map[string]float64, len(b.metrics))
			}
			out.Scores[m.key] = scores[i].Group[m.pos] - scores[i].Group[m.neg]
		}
	}
	return out
}

// evaluate returns the target's score and whether the rule matches.
func (r *rule) evaluate(b *Base, s *Scores) (float64, bool) {
	t := r.Target
	if !t.group {
		v := s.Label[t.index]
		if r.Threshold {
			return v, b.passes(s, t.index)
		}
		best, runner := b.bestLabel(s, nil)
		return v, best == t.index && b.leads(s, best, runner)
	}
	v := s.Group[t.index]
	if r.Threshold {
		for _, i := range b.members[t.index] {
			if b.passes(s, i) {
				return v, true
			}
		}
		return v, false
	}
	best, runner := b.bestLabel(s, b.inGroup[t.index])
	return v, best >= 0 && b.inGroup[t.index][best] && b.leads(s, best, runner)
}

// bestLabel returns the best-scoring label that reaches its threshold (-1
// when none does) and the best score among the competing labels: every
// other label, or, when in is set (a group target), every label outside
// the group. A missing competitor counts as −1.
func (b *Base) bestLabel(s *Scores, in []bool) (int, float64) {
	best := -1
	for i, v := range s.Label {
		if b.passes(s, i) && (best < 0 || v > s.Label[best]) {
			best = i
		}
	}
	if best < 0 {
		return -1, 0
	}
	runner := -1.0
	for i, v := range s.Label {
		if i == best || (in != nil && in[best] && in[i]) {
			continue
		}
		runner = math.Max(runner, v)
	}
	return best, runner
}

// leads applies margin_threshold: with a positive margin the best label
// must lead its best competitor by at least that much.
func (b *Base) leads(s *Scores, best int, runner float64) bool {
	return b.margin <= 0 || s.Label[best]-runner >= b.margin
}

func clamp01(v float64) float64 { return math.Min(1, math.Max(0, v)) }
