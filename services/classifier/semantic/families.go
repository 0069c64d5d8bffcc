package semantic

import (
	"errors"
	"sort"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

// ErrNoQuery is the family error when the request has no query embedding
// (the embedder was missing or late): embedding-dependent rules do not match.
var ErrNoQuery = errors.New("no query embedding")

// Rule is one embedding similarity rule (`routing.signals.embeddings[]`).
type Rule struct {
	Name        string
	Threshold   float64
	Aggregation Aggregation
	Bank        *Bank
}

// EmbeddingFamily evaluates every embedding rule of a config.
type EmbeddingFamily struct {
	Rules []Rule
	// TopK keeps only the K best matches (default 1).
	TopK int
	// SoftMatching lets the best rules under their hard threshold match
	// when nothing matched hard and they reach MinScore.
	SoftMatching bool
	MinScore     float64
}

type scored struct {
	idx   int
	score float64
}

// Evaluate scores the query against every rule. query must be normalised.
func (f *EmbeddingFamily) Evaluate(query []float32) signal.Outcome {
	out := signal.Outcome{Family: signal.Embedding}
	if len(f.Rules) == 0 {
		return out
	}
	if query == nil {
		out.Err = ErrNoQuery
		return out
	}
	out.Scores = make(map[string]float64, len(f.Rules))
	hard := make([]scored, 0, len(f.Rules))
	var all []scored
	for i := range f.Rules {
		r := &f.Rules[i]
		if r.Bank.Dims() != len(query) {
			out.Err = ErrDims
			return out
		}
		s := r.Bank.Score(query, r.Aggregation)
		out.Scores[r.Name] = s
		if s >= r.Threshold {
			hard = append(hard, scored{i, s})
		}
		all = append(all, scored{i, s})
	}
	picked := hard
	if len(picked) == 0 && f.SoftMatching {
		for _, c := range all {
			if c.score >= f.MinScore {
				picked = append(picked, c)
			}
		}
	}
	out.Matches = f.top(picked)
	return out
}

func (f *EmbeddingFamily) top(c []scored) []signal.Match {
	sort.SliceStable(c, func(i, j int) bool {
		if c[i].score != c[j].score {
			return c[i].score > c[j].score
		}
		return f.Rules[c[i].idx].Name < f.Rules[c[j].idx].Name
	})
	k := f.TopK
	if k <= 0 {
		k = 1
	}
	if len(c) > k {
		c = c[:k]
	}
	ms := make([]signal.Match, len(c))
	for i, x := range c {
		ms[i] = signal.Match{Family: signal.Embedding, Name: f.Rules[x.idx].Name, Confidence: clamp01(x.score), Value: x.score}
	}
	return ms
}

// Level is the outcome of a complexity rule.
type Level string

// Complexity levels, reported as "<rule>:<level>".
const (
	Hard   Level = "hard"
	Medium Level = "medium"
	Easy   Level = "easy"
)

// Gate decides whether a complexity rule's composer lets it fire, given
// the other families' results. A nil Gate always passes.
type Gate func(set *signal.Set) bool

// ComplexityRule compares a query with hard and easy candidate banks.
type ComplexityRule struct {
	Name      string
	Threshold float64 // the margin hard−easy that separates the levels
	Hard      *Bank
	Easy      *Bank
	Composer  Gate
}

// Classify returns the level and its confidence for a normalised query.
// margin = score(hard) − score(easy): above +threshold is hard, below
// −threshold is easy, in between medium. Confidence grows with the
// distance from the nearest boundary.
func (r *ComplexityRule) Classify(query []float32) (Level, float64, float64) {
	margin := r.Hard.Score(query, AggMax) - r.Easy.Score(query, AggMax)
	t := r.Threshold
	switch {
	case margin > t:
		return Hard, clamp01(0.5 + (margin - t)), margin
	case margin < -t:
		return Easy, clamp01(0.5 + (-t - margin)), margin
	default:
		if t == 0 {
			return Medium, 0.5, margin
		}
		d := t - abs(margin)
		return Medium, clamp01(0.5 + 0.5*d/t), margin
	}
}

// EvaluateComplexity runs every complexity rule. set holds the other
// families' results for the composers; it may be nil when no rule has one.
func EvaluateComplexity(rules []ComplexityRule, query []float32, set *signal.Set) signal.Outcome {
	out := signal.Outcome{Family: signal.Complexity}
	if len(rules) == 0 {
		return out
	}
	if query == nil {
		out.Err = ErrNoQuery
		return out
	}
	out.Scores = make(map[string]float64, len(rules))
	for i := range rules {
		r := &rules[i]
		if r.Hard.Dims() != len(query) || r.Easy.Dims() != len(query) {
			out.Err = ErrDims
			return out
		}
		lvl, conf, margin := r.Classify(query)
		out.Scores[r.Name] = margin
		if r.Composer != nil && !r.Composer(set) {
			continue
		}
		out.Matches = append(out.Matches, signal.Match{Family: signal.Complexity, Name: r.Name + ":" + string(lvl), Confidence: conf, Value: margin})
	}
	return out
}

// ReaskRule matches when the current user turn closely repeats each of the
// previous LookbackTurns user turns.
type ReaskRule struct {
	Name          string
	Threshold     float64
	LookbackTurns int
}

// EvaluateReasks compares the current turn with earlier user turns, most
// recent first. All vectors must be normalised.
func EvaluateReasks(rules []ReaskRule, current []float32, previous [][]float32) signal.Outcome {
	out := signal.Outcome{Family: signal.Reask}
	if len(rules) == 0 {
		return out
	}
	if current == nil {
		out.Err = ErrNoQuery
		return out
	}
	for _, r := range rules {
		n := r.LookbackTurns
		if n <= 0 {
			n = 1
		}
		if len(previous) < n {
			continue
		}
		minSim := 1.0
		for _, p := range previous[:n] {
			if s := dot(current, p); s < minSim {
				minSim = s
			}
		}
		if minSim >= r.Threshold {
			out.Matches = append(out.Matches, signal.Match{Family: signal.Reask, Name: r.Name, Confidence: clamp01(minSim), Value: minSim})
		}
	}
	return out
}

// PreferenceRule matches when the query is close to its examples.
type PreferenceRule struct {
	Name      string
	Threshold float64
	Examples  *Bank
}

// EvaluatePreferences scores the query against each preference's examples.
func EvaluatePreferences(rules []PreferenceRule, query []float32) signal.Outcome {
	out := signal.Outcome{Family: signal.Preference}
	if len(rules) == 0 {
		return out
	}
	if query == nil {
		out.Err = ErrNoQuery
		return out
	}
	for _, r := range rules {
		s := r.Examples.Score(query, AggMax)
		if s >= r.Threshold {
			out.Matches = append(out.Matches, signal.Match{Family: signal.Preference, Name: r.Name, Confidence: clamp01(s), Value: s})
		}
	}
	return out
}

func clamp01(x float64) float64 {
	if x < 0 {
		return 0
	}
	if x > 1 {
		return 1
	}
	return x
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
