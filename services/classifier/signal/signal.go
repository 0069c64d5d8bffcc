// Package signal holds the vocabulary shared by every signal family and the
// decision engine: what a family reports for one request.
package signal

// Family names a signal family as decisions refer to it (`type:` in a rule
// condition).
type Family string

// The families a decision condition can name.
const (
	Keyword      Family = "keyword"
	Embedding    Family = "embedding"
	Domain       Family = "domain"
	Complexity   Family = "complexity"
	Structure    Family = "structure"
	Context      Family = "context"
	Language     Family = "language"
	Jailbreak    Family = "jailbreak"
	PII          Family = "pii"
	Conversation Family = "conversation"
	Metadata     Family = "metadata"
	Authz        Family = "authz"
	Modality     Family = "modality"
	Reask        Family = "reask"
	Preference   Family = "preference"
	FactCheck    Family = "fact_check"
	UserFeedback Family = "user_feedback"
	KB           Family = "kb"
	Event        Family = "event"
	Classifier   Family = "classifier"
	Projection   Family = "projection"
)

// Match is one rule of a family that fired for a request.
type Match struct {
	Family     Family
	Name       string  // rule name; complexity rules report "name:hard" etc.
	Confidence float64 // in [0,1]
	Value      float64 // the raw measurement behind the match (score, count, density, tokens…)
}

// Outcome is what one family produced for one request. Err is set when the
// family could not be evaluated (missing embedding, timeout, model error);
// decisions then apply their on_error policy.
type Outcome struct {
	Family  Family
	Matches []Match
	// Scores holds raw values for rules that were evaluated but did not
	// match, so projections can still use them (name → value).
	Scores map[string]float64
	Err    error
}

// Set is the full signal picture for a request, consumed by projections and
// decisions.
type Set struct {
	byKey  map[key]Match
	errs   map[Family]error
	scores map[key]float64
}

type key struct {
	family Family
	name   string
}

// NewSet builds a Set from family outcomes.
func NewSet(outcomes ...Outcome) *Set {
	s := &Set{}
	for _, o := range outcomes {
		s.Add(o)
	}
	return s
}

// Add merges one family outcome into the set.
func (s *Set) Add(o Outcome) {
	if o.Err != nil {
		if s.errs == nil {
			s.errs = make(map[Family]error)
		}
		s.errs[o.Family] = o.Err
	}
	for _, m := range o.Matches {
		if s.byKey == nil {
			s.byKey = make(map[key]Match, len(o.Matches))
		}
		k := key{o.Family, m.Name}
		if prev, ok := s.byKey[k]; !ok || m.Confidence > prev.Confidence {
			m.Family = o.Family
			s.byKey[k] = m
		}
	}
	for n, v := range o.Scores {
		if s.scores == nil {
			s.scores = make(map[key]float64, len(o.Scores))
		}
		s.scores[key{o.Family, n}] = v
	}
}

// Lookup reports whether rule name of family matched and with what.
func (s *Set) Lookup(f Family, name string) (Match, bool) {
	m, ok := s.byKey[key{f, name}]
	return m, ok
}

// Score returns the raw value recorded for a rule, matched or not.
func (s *Set) Score(f Family, name string) (float64, bool) {
	if m, ok := s.byKey[key{f, name}]; ok {
		return m.Value, true
	}
	v, ok := s.scores[key{f, name}]
	return v, ok
}

// Err returns the evaluation error of a family, if any.
func (s *Set) Err(f Family) error { return s.errs[f] }

// Matches lists every match of one family (order unspecified).
func (s *Set) Matches(f Family) []Match {
	var out []Match
	for k, m := range s.byKey {
		if k.family == f {
			out = append(out, m)
		}
	}
	return out
}

// All lists every match in the set (order unspecified).
func (s *Set) All() []Match {
	out := make([]Match, 0, len(s.byKey))
	for _, m := range s.byKey {
		out = append(out, m)
	}
	return out
}
