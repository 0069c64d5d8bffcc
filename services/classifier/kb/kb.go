// Package kb evaluates knowledge-base signals: a knowledge base is a
// directory of labelled example texts (see Manifest). Its examples are
// embedded once per config revision and condensed into per-label
// prototypes; a request is scored per label as
// best_weight·best + (1−best_weight)·mean(top_m) over the label's
// prototypes, a group scores as its best member label, and kb rules match
// a label or group either as the query's best (match: best) or by
// threshold (match: threshold). Metrics (group_margin) turn group scores
// into numbers for projections.
package kb

import (
	"errors"
	"fmt"
	"sort"

	"github.com/semrouter/semrouter/services/classifier/semantic"
)

// Options are a knowledge base's scoring settings from the config.
type Options struct {
	// Threshold is the score a label needs to count as present.
	Threshold float64
	// LabelThresholds override Threshold per label.
	LabelThresholds map[string]float64
	// Groups name sets of labels.
	Groups map[string][]string
	// Metrics derive numbers from group scores.
	Metrics []Metric
	// Prototypes controls prototype reduction and per-label scoring.
	Prototypes semantic.PrototypeOptions
	// Margin is how far the best label must lead the best competing label
	// for a match: best rule to match (0: no margin needed).
	Margin float64
}

// Metric is a group_margin metric: the positive group's score minus the
// negative group's.
type Metric struct {
	Name     string
	Type     string
	Positive string
	Negative string
}

// GroupMargin is the only metric type.
const GroupMargin = "group_margin"

// FieldError is a problem with one setting of a knowledge base; Field is
// the YAML path below the knowledge base ("groups.money").
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// Base is one compiled knowledge base. It is immutable and safe for
// concurrent use.
type Base struct {
	name       string
	labels     []string
	labelIdx   map[string]int
	banks      []*semantic.Bank
	thresholds []float64
	groups     []string
	groupIdx   map[string]int
	members    [][]int // group → label indices
	inGroup    [][]bool
	metrics    []metric
	margin     float64
	dims       int
}

type metric struct {
	key      string // "<kb>:<metric>"
	pos, neg int
}

// New builds the knowledge base name from its loaded source, settings and
// the embeddings of every example (vecs maps text → vector). All problems
// are returned together, each a *FieldError.
func New(name string, src *Source, o Options, vecs map[string][]float32) (*Base, error) {
	b := &Base{name: name, labelIdx: map[string]int{}, groupIdx: map[string]int{}, margin: o.Margin}
	var errs []error
	fail := func(field string, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
	}
	for _, l := range src.Labels {
		vs := make([][]float32, 0, len(l.Examples))
		for _, x := range l.Examples {
			v, ok := vecs[x]
			if !ok {
				return nil, fmt.Errorf("knowledge base %q label %q: example %q was not embedded", name, l.Name, x)
			}
			vs = append(vs, v)
		}
		bank, err := semantic.NewBank(vs, o.Prototypes)
		if err != nil {
			return nil, fmt.Errorf("knowledge base %q label %q: %w", name, l.Name, err)
		}
		if b.dims != 0 && bank.Dims() != b.dims {
			return nil, fmt.Errorf("knowledge base %q label %q: %w", name, l.Name, semantic.ErrDims)
		}
		b.dims = bank.Dims()
		th := o.Threshold
		if t, ok := o.LabelThresholds[l.Name]; ok {
			th = t
		}
		b.labelIdx[l.Name] = len(b.labels)
		b.labels = append(b.labels, l.Name)
		b.banks = append(b.banks, bank)
		b.thresholds = append(b.thresholds, th)
	}
	for _, l := range sortedKeys(o.LabelThresholds) {
		if _, ok := b.labelIdx[l]; !ok {
			fail("label_thresholds."+l, "label %q is not in the knowledge base%s", l, knownList(b.labels))
		}
	}
	for _, g := range sortedKeys(o.Groups) {
		var idx []int
		in := make([]bool, len(b.labels))
		for _, l := range o.Groups[g] {
			i, ok := b.labelIdx[l]
			if !ok {
				fail("groups."+g, "label %q is not in the knowledge base%s", l, knownList(b.labels))
				continue
			}
			if !in[i] {
				idx = append(idx, i)
				in[i] = true
			}
		}
		b.groupIdx[g] = len(b.groups)
		b.groups = append(b.groups, g)
		b.members = append(b.members, idx)
		b.inGroup = append(b.inGroup, in)
	}
	for i, m := range o.Metrics {
		field := fmt.Sprintf("metrics[%d]", i)
		if m.Type != GroupMargin {
			fail(field+".type", "unknown metric type %q (want %s)", m.Type, GroupMargin)
			continue
		}
		pos, okp := b.groupIdx[m.Positive]
		neg, okn := b.groupIdx[m.Negative]
		if !okp {
			fail(field+".positive_group", "group %q is not defined", m.Positive)
		}
		if !okn {
			fail(field+".negative_group", "group %q is not defined", m.Negative)
		}
		if okp && okn {
			b.metrics = append(b.metrics, metric{key: name + ":" + m.Name, pos: pos, neg: neg})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return b, nil
}

// Name is the knowledge base's name.
func (b *Base) Name() string { return b.name }

// Labels lists the labels, sorted.
func (b *Base) Labels() []string { return append([]string(nil), b.labels...) }

// Prototypes is the number of prototypes label's examples condensed into
// (0 for an unknown label).
func (b *Base) Prototypes(label string) int {
	i, ok := b.labelIdx[label]
	if !ok {
		return 0
	}
	return b.banks[i].Prototypes()
}

// Dims is the embedding dimension the knowledge base expects.
func (b *Base) Dims() int { return b.dims }

// Scores are one query's scores against one knowledge base.
type Scores struct {
	Label []float64 // by label index
	Group []float64 // by group index: the best member label's score
}

// NewScores returns scores sized for b.
func (b *Base) NewScores() *Scores {
	buf := make([]float64, len(b.labels)+len(b.groups))
	return &Scores{Label: buf[:len(b.labels):len(b.labels)], Group: buf[len(b.labels):]}
}

// Score fills s (from NewScores) for the normalised query q.
func (b *Base) Score(q []float32, s *Scores) {
	for i, bank := range b.banks {
		s.Label[i] = bank.Score(q, semantic.AggMax)
	}
	for g, idx := range b.members {
		best := 0.0
		for k, i := range idx {
			if k == 0 || s.Label[i] > best {
				best = s.Label[i]
			}
		}
		s.Group[g] = best
	}
}

// LabelScores returns every label's score for the normalised query q
// (label → score), for inspection and tests.
func (b *Base) LabelScores(q []float32) map[string]float64 {
	s := b.NewScores()
	b.Score(q, s)
	out := make(map[string]float64, len(b.labels))
	for i, l := range b.labels {
		out[l] = s.Label[i]
	}
	return out
}

// GroupScores returns every group's score for the normalised query q.
func (b *Base) GroupScores(q []float32) map[string]float64 {
	s := b.NewScores()
	b.Score(q, s)
	out := make(map[string]float64, len(b.groups))
	for i, g := range b.groups {
		out[g] = s.Group[i]
	}
	return out
}

// passes reports whether label i reaches its threshold.
func (b *Base) passes(s *Scores, i int) bool { return s.Label[i] >= b.thresholds[i] }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func knownList(names []string) string {
	if len(names) == 0 {
		return ""
	}
	s := " (known: "
	for i, n := range names {
		if i == 8 {
			s += ", …"
			break
		}
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s + ")"
}
