// Package described evaluates the signal families whose rules are declared
// by a name and a description only: fact_check (does the prompt make or ask
// about verifiable factual claims?) and user_feedback (what does the latest
// user turn say about the previous answer?).
//
// Every rule becomes a class. A class whose name the family knows (for
// example needs_fact_check or wrong_answer, see FactCheck and UserFeedback)
// brings built-in exemplar prompts and cue patterns; any other name is
// scored by its description alone. The built-in classes a config does not
// declare still take part as silent competitors (they can win, but never
// match), and so does each family's implicit "neither" class; that is what
// keeps needs_fact_check from matching every prompt when a config declares
// it alone.
//
// The score of a class for one request is
//
//	score = w·best + (1−w)·mean(top m)     similarity of the query embedding
//	                                       to the class's exemplars (+ description)
//	      + CueWeight · cue                cue ∈ [0,1], the strongest cue pattern
//	                                       of the class found in the text
//
// and a description-only class scores cos(query, description) +
// DescriptionOffset (a rule of an unknown name without a description is
// compared with its name in words). The classes of a family are mutually
// exclusive: at most one rule matches, the best-scoring class, when it is a
// declared rule, its score reaches Threshold and it leads the runner-up by
// at least Margin. Two rules naming the same built-in class therefore tie
// and neither matches: declare each class once.
//
// Exemplars are embedded once per config revision; a request costs one dot
// product per exemplar and the cue scan of the lowercased turn (each pattern
// runs only when the turn holds a literal its matches need).
package described

import (
	"errors"
	"fmt"
	"strings"

	"github.com/semrouter/semrouter/services/classifier/semantic"
	"github.com/semrouter/semrouter/services/classifier/signal"
)

// ErrNoQuery is the family error when the request has no query embedding.
var ErrNoQuery = semantic.ErrNoQuery

// Cue is a regular expression (matched against the lowercased text) whose
// presence is evidence for a class, with its strength in (0,1].
type Cue struct {
	Pattern string
	Weight  float64
}

// Class is built-in knowledge of one well-known rule name.
type Class struct {
	Name string
	// Aliases are other names a config may give the same class.
	Aliases []string
	// Exemplars are example turns of the class, in our own words.
	Exemplars []string
	Cues      []Cue
}

// Knowledge is what a family knows before any config: its built-in classes
// and its default scoring settings.
type Knowledge struct {
	Family signal.Family
	// Classes are the well-known rule names.
	Classes []Class
	// Neither is the implicit class for turns that belong to no rule (a
	// new question rather than feedback); it never matches. Empty when the
	// built-in classes cover every turn (fact_check).
	Neither *Class
	// NeedsAnswer: the family only applies to a user turn that follows an
	// assistant answer (user feedback).
	NeedsAnswer bool
	Settings    Settings
}

// Settings tune how a family decides.
type Settings struct {
	// Threshold is the least score the winning class needs.
	Threshold float64
	// Margin is the least lead of the winner over the runner-up.
	Margin float64
	// CueWeight scales the cue evidence added to the embedding score.
	CueWeight float64
	// DescriptionOffset is added to a description-only class's similarity:
	// a description is phrased unlike a prompt, so its raw cosine runs lower
	// than an exemplar's.
	DescriptionOffset float64
	// BestWeight and TopM shape the exemplar score (see the package doc).
	BestWeight float64
	TopM       int
}

// Rule is one declared rule of the family.
type Rule struct {
	Name        string
	Description string
}

// Texts lists every text the family needs embedded for rules: the
// descriptions and the exemplars of every built-in class (declared or not).
func (k *Knowledge) Texts(rules []Rule) []string {
	var out []string
	for _, r := range rules {
		if _, known := k.Lookup(r.Name); known {
			if strings.TrimSpace(r.Description) != "" {
				out = append(out, r.Description)
			}
			continue
		}
		out = append(out, describe(r))
	}
	for _, c := range k.all() {
		out = append(out, c.Exemplars...)
	}
	return out
}

func (k *Knowledge) all() []*Class {
	out := make([]*Class, 0, len(k.Classes)+1)
	for i := range k.Classes {
		out = append(out, &k.Classes[i])
	}
	if k.Neither != nil {
		out = append(out, k.Neither)
	}
	return out
}

// Lookup returns the built-in class a rule name refers to (by name or
// alias; case, dashes and spaces are ignored).
func (k *Knowledge) Lookup(name string) (*Class, bool) {
	n := canonical(name)
	for i := range k.Classes {
		c := &k.Classes[i]
		if canonical(c.Name) == n {
			return c, true
		}
		for _, a := range c.Aliases {
			if canonical(a) == n {
				return c, true
			}
		}
	}
	return nil, false
}

// describe is the text a rule of an unknown name is compared with: its
// description, or its name in words when it has none.
func describe(r Rule) string {
	if d := strings.TrimSpace(r.Description); d != "" {
		return r.Description
	}
	return strings.NewReplacer("_", " ", "-", " ").Replace(r.Name)
}

func canonical(s string) string {
	return strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToLower(strings.TrimSpace(s)))
}

// class is one compiled class.
type class struct {
	name     string // the rule name; the built-in name for silent classes
	declared bool
	bank     *semantic.Bank
	offset   float64
	cues     []cue
}

// Family is one compiled family: immutable, safe for concurrent use.
type Family struct {
	family      signal.Family
	needsAnswer bool
	set         Settings
	classes     []class
	dims        int
	declared    int
}

// Build compiles rules with the family's knowledge. vecs maps every text of
// k.Texts(rules) to its embedding. Errors name the rule they concern.
func Build(k *Knowledge, rules []Rule, vecs map[string][]float32) (*Family, error) {
	f := &Family{family: k.Family, needsAnswer: k.NeedsAnswer, set: k.Settings}
	po := semantic.PrototypeOptions{Enabled: false, BestWeight: k.Settings.BestWeight, TopM: k.Settings.TopM}
	bank := func(texts ...string) (*semantic.Bank, error) {
		vs := make([][]float32, 0, len(texts))
		for _, t := range texts {
			if strings.TrimSpace(t) == "" {
				continue
			}
			v, ok := vecs[t]
			if !ok {
				return nil, fmt.Errorf("no embedding for %q", t)
			}
			vs = append(vs, v)
		}
		return semantic.NewBank(vs, po)
	}
	var errs []error
	used := map[*Class]bool{}
	for _, r := range rules {
		bi, known := k.Lookup(r.Name)
		c := class{name: r.Name, declared: true}
		var b *semantic.Bank
		var err error
		switch {
		case known:
			used[bi] = true
			b, err = bank(append([]string{r.Description}, bi.Exemplars...)...)
			if err == nil {
				c.cues, err = compileCues(bi.Cues)
			}
		default:
			b, err = bank(describe(r))
			c.offset = k.Settings.DescriptionOffset
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %q: %w", r.Name, err))
			continue
		}
		c.bank = b
		f.classes = append(f.classes, c)
		f.declared++
	}
	for _, bi := range k.all() {
		if used[bi] {
			continue
		}
		b, err := bank(bi.Exemplars...)
		if err != nil {
			errs = append(errs, fmt.Errorf("built-in class %q: %w", bi.Name, err))
			continue
		}
		cs, err := compileCues(bi.Cues)
		if err != nil {
			errs = append(errs, fmt.Errorf("built-in class %q: %w", bi.Name, err))
			continue
		}
		f.classes = append(f.classes, class{name: bi.Name, bank: b, cues: cs})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i := range f.classes {
		d := f.classes[i].bank.Dims()
		if f.dims == 0 {
			f.dims = d
		}
		if d != f.dims {
			return nil, semantic.ErrDims
		}
	}
	return f, nil
}

// Family is the signal family the rules belong to.
func (f *Family) Family() signal.Family { return f.family }

// NeedsAnswer reports whether the family only applies after an assistant
// answer.
func (f *Family) NeedsAnswer() bool { return f.needsAnswer }

// maxCueText bounds the bytes of a turn scanned for cues.
const maxCueText = 4096

// Input is what the family reads of one request.
type Input struct {
	// Text is the current user turn.
	Text string
	// Query is the normalised embedding of Text.
	Query []float32
	// AfterAnswer: an assistant message precedes the current user turn.
	AfterAnswer bool
}

// Evaluate scores every class and reports at most one match.
func (f *Family) Evaluate(in Input) signal.Outcome {
	out := signal.Outcome{Family: f.family}
	if f.declared == 0 || (f.needsAnswer && !in.AfterAnswer) {
		return out
	}
	if in.Query == nil {
		out.Err = ErrNoQuery
		return out
	}
	if len(in.Query) != f.dims {
		out.Err = semantic.ErrDims
		return out
	}
	text := in.Text
	if len(text) > maxCueText {
		text = text[:maxCueText]
	}
	text = strings.ToLower(text)
	out.Scores = make(map[string]float64, f.declared)
	best, second := -1, -1
	var bestScore, secondScore float64
	for i := range f.classes {
		s := f.score(&f.classes[i], text, in.Query)
		if f.classes[i].declared {
			out.Scores[f.classes[i].name] = s
		}
		switch {
		case best < 0 || s > bestScore:
			second, secondScore = best, bestScore
			best, bestScore = i, s
		case second < 0 || s > secondScore:
			second, secondScore = i, s
		}
	}
	c := &f.classes[best]
	lead := bestScore - secondScore
	if second < 0 {
		lead = bestScore
	}
	if !c.declared || bestScore < f.set.Threshold || lead < f.set.Margin {
		return out
	}
	out.Matches = []signal.Match{{Family: f.family, Name: c.name, Confidence: confidence(lead), Value: bestScore}}
	return out
}

// Scores returns every class's score (silent classes included), for
// tests and diagnostics.
func (f *Family) Scores(in Input) map[string]float64 {
	text := strings.ToLower(in.Text)
	out := make(map[string]float64, len(f.classes))
	for i := range f.classes {
		out[f.classes[i].name] = f.score(&f.classes[i], text, in.Query)
	}
	return out
}

func (f *Family) score(c *class, text string, q []float32) float64 {
	s := c.bank.Score(q, semantic.AggMax) + c.offset
	var cw float64
	for i := range c.cues {
		if k := &c.cues[i]; k.weight > cw && k.match(text) {
			cw = k.weight
		}
	}
	return s + f.set.CueWeight*cw
}

// confidence maps the winner's lead to (0.5, 1]: a lead of 0.25 or more is
// full confidence.
func confidence(lead float64) float64 {
	c := 0.5 + 2*lead
	if c > 1 {
		return 1
	}
	return c
}
