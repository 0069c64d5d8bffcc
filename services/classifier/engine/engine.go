package engine

import (
	"errors"
	"fmt"
	"math"

	"github.com/semrouter/semrouter/services/classifier/engine/selection"
	"github.com/semrouter/semrouter/services/classifier/signal"
)

// ErrDecisionUnresolved is returned (wrapped) when a decision with
// `on_unknown: fail_request` could not be resolved because a family failed.
var ErrDecisionUnresolved = errors.New("decision unresolved")

// Engine is a compiled, immutable routing configuration. It is safe for
// concurrent use.
type Engine struct {
	def          *routing
	recipes      map[string]*routing
	byModel      map[string]*routing
	defaultModel string
}

// Request is what varies per request besides the signals.
type Request struct {
	// Model is the requested model name; an entrypoint name selects its
	// recipe's routing, anything else the top-level routing.
	Model string
	// Selection feeds the model-selection algorithm.
	Selection selection.Input
}

// ProjectionHit is one projection output that matched.
type ProjectionHit struct {
	Name       string
	Confidence float64
}

// ScoreValue is one projection score.
type ScoreValue struct {
	Name    string
	Value   float64
	Unknown bool // an input family failed; the score has no value
}

// ModelScore is the score the selection algorithm gave one modelRef.
type ModelScore struct {
	Model string
	Score float64
}

// Result is the engine's answer. Reuse one Result across calls to avoid
// allocations; slices are overwritten. Plugins is shared with the engine
// and must not be modified.
type Result struct {
	Matched    bool   // a decision matched; false means DefaultModel
	Recipe     string // recipe whose routing was used; empty for top level
	Decision   string
	Confidence float64
	Tier       int
	Priority   int
	CatchAll   bool // the decision has no conditions

	Model           string
	UseReasoning    bool
	ReasoningEffort string
	LoRAName        string
	Plugins         []Plugin

	// MatchedConditions lists "type:name" of the conditions that made the
	// decision match (for debug headers).
	MatchedConditions []string
	// Algorithm is the selection algorithm that chose Model; Fallback says
	// why a simpler rule chose instead of the configured one.
	Algorithm      string
	Fallback       string
	SelectionScore float64
	// SelectionDetail is what the algorithm based the choice on (hybrid:
	// the components that scored, e.g. "experience+router_dc+cost").
	SelectionDetail string
	// ModelScores are the selection algorithm's scores of the decision's
	// modelRefs, in modelRefs order, on the scale it compares them (higher
	// is better; see selection.Choice.Scores). Empty when it computes none
	// or fell back to a simpler rule; a modelRef it could not score is
	// left out.
	ModelScores []ModelScore

	Projections []ProjectionHit
	Scores      []ScoreValue
}

func (res *Result) reset() {
	*res = Result{
		MatchedConditions: res.MatchedConditions[:0],
		ModelScores:       res.ModelScores[:0],
		Projections:       res.Projections[:0],
		Scores:            res.Scores[:0],
	}
}

// Evaluate runs projections and decisions over set and selects the model.
// It writes into res (reusing its slices) and returns an error only for
// `on_unknown: fail_request` or a selector that refuses (multi_factor with
// on_no_candidates: fail).
func (e *Engine) Evaluate(set *signal.Set, req Request, res *Result) error {
	r := e.def
	if rt, ok := e.byModel[req.Model]; ok {
		r = rt
	}
	res.reset()
	res.Recipe = r.recipe
	if set == nil {
		set = signal.NewSet()
	}
	sc := r.getScratch()
	defer r.pool.Put(sc)

	r.projectPartitions(set, sc)
	r.projectScores(set, sc)
	r.projectMappings(sc)
	r.reportProjections(sc, res)

	sc.matched = sc.matched[:0]
	tiered := false
	for i := range r.decisions {
		d := &r.decisions[i]
		st, conf := r.evalNode(d.root, set, sc)
		if st == stUnknown {
			switch d.onUnknown {
			case onUnknownMatch:
				st, conf = stTrue, 1
			case onUnknownFail:
				return fmt.Errorf("decision %q: a signal family failed: %w", d.name, ErrDecisionUnresolved)
			default:
				continue
			}
		}
		if st != stTrue {
			continue
		}
		sc.matched = append(sc.matched, matchedDecision{idx: int32(i), conf: conf})
		if d.tier > 0 {
			tiered = true
		}
	}
	if len(sc.matched) == 0 {
		res.Model = e.defaultModel
		return nil
	}
	best := sc.matched[0]
	for _, m := range sc.matched[1:] {
		if r.better(m, best, tiered) {
			best = m
		}
	}
	d := &r.decisions[best.idx]
	res.Matched = true
	res.Decision = d.name
	res.Confidence = best.conf
	res.Tier, res.Priority, res.CatchAll = d.tier, d.priority, d.catchAll
	res.Plugins = d.plugins
	res.MatchedConditions = r.explain(d.root, set, sc, res.MatchedConditions)

	in := req.Selection
	in.Scores = sc.selScores
	choice, err := d.selector.Select(in)
	if err != nil {
		return fmt.Errorf("select model for decision %q: %w", d.name, err)
	}
	ref := d.refs[choice.Index]
	res.Model, res.UseReasoning, res.ReasoningEffort, res.LoRAName = ref.Model, ref.UseReasoning, ref.ReasoningEffort, ref.LoRAName
	res.Algorithm, res.Fallback, res.SelectionScore, res.SelectionDetail = choice.Algorithm, choice.Fallback, choice.Score, choice.Detail
	if len(choice.Scores) == len(d.refs) {
		for i, v := range choice.Scores {
			if !math.IsNaN(v) {
				res.ModelScores = append(res.ModelScores, ModelScore{Model: d.refs[i].Model, Score: v})
			}
		}
	}
	return nil
}

// better reports whether a outranks b: a lower tier first (when any matched
// decision is tiered), a real match before a catch-all, then by strategy —
// priority: priority, confidence; confidence: confidence, priority — and
// finally the decision name for determinism.
func (r *routing) better(a, b matchedDecision, tiered bool) bool {
	da, db := &r.decisions[a.idx], &r.decisions[b.idx]
	if tiered && da.tier != db.tier {
		return da.tier < db.tier
	}
	if da.catchAll != db.catchAll {
		return db.catchAll
	}
	if r.strategyConfidence {
		if a.conf != b.conf {
			return a.conf > b.conf
		}
		if da.priority != db.priority {
			return da.priority > db.priority
		}
	} else {
		if da.priority != db.priority {
			return da.priority > db.priority
		}
		if a.conf != b.conf {
			return a.conf > b.conf
		}
	}
	return da.name < db.name
}

func (r *routing) reportProjections(sc *scratch, res *Result) {
	for i := range r.partitions {
		for _, m := range r.partitions[i].members {
			if s := sc.members[m.slot]; s.st == stTrue {
				res.Projections = append(res.Projections, ProjectionHit{Name: m.name, Confidence: s.conf})
			}
		}
	}
	for slot, s := range sc.outputs {
		if s.st == stTrue {
			res.Projections = append(res.Projections, ProjectionHit{Name: r.outputNames[slot], Confidence: s.conf})
		}
	}
	for i, s := range sc.scores {
		res.Scores = append(res.Scores, ScoreValue{Name: r.scores[i].name, Value: s.v, Unknown: s.unknown})
	}
}

// DefaultModel is the model used when no decision matches.
func (e *Engine) DefaultModel() string { return e.defaultModel }

// Recipe reports which recipe an entrypoint model name selects ("" for the
// top-level routing) and whether the name is an entrypoint at all.
func (e *Engine) Recipe(model string) (string, bool) {
	r, ok := e.byModel[model]
	if !ok {
		return "", false
	}
	return r.recipe, true
}
