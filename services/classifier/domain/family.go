package domain

import (
	"errors"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

// Rule is one `routing.signals.domains[]` entry: it matches when the
// predicted category is its name or one of its mmlu_categories.
type Rule struct {
	Name       string
	Categories []string
}

// Family evaluates the domain rules of a config with one head.
type Family struct {
	Head      *Head
	Rules     []Rule
	Threshold float64 // below it the prediction becomes Fallback
	Fallback  string  // default "other"
	// byLabel maps a head label to the rules it satisfies (built by Compile).
	byLabel map[string][]int
}

// ErrNoHead means no trained head exists for the active embedding model.
var ErrNoHead = errors.New("no domain head for this embedding model")

// Compile indexes the rules by the labels they accept.
func (f *Family) Compile() {
	if f.Fallback == "" {
		f.Fallback = "other"
	}
	f.byLabel = make(map[string][]int)
	for i, r := range f.Rules {
		seen := map[string]bool{}
		for _, l := range append([]string{r.Name}, r.Categories...) {
			if !seen[l] {
				seen[l] = true
				f.byLabel[l] = append(f.byLabel[l], i)
			}
		}
	}
}

// Evaluate classifies the query and reports the matching rules. The raw
// value of a match is the head's probability for the predicted label.
func (f *Family) Evaluate(query []float32, probs []float64) (signal.Outcome, Prediction) {
	out := signal.Outcome{Family: signal.Domain}
	if len(f.Rules) == 0 {
		return out, Prediction{}
	}
	if f.Head == nil {
		out.Err = ErrNoHead
		return out, Prediction{}
	}
	if query == nil {
		out.Err = errors.New("no query embedding")
		return out, Prediction{}
	}
	p, err := f.Head.Predict(query, probs)
	if err != nil {
		out.Err = err
		return out, p
	}
	if p.Prob < f.Threshold {
		p.Label = f.Fallback
	}
	for _, i := range f.byLabel[p.Label] {
		out.Matches = append(out.Matches, signal.Match{Family: signal.Domain, Name: f.Rules[i].Name, Confidence: p.Prob, Value: p.Prob})
	}
	return out, p
}
