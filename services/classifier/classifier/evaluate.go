package classifier

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/classifier/described"
	"github.com/semrouter/semrouter/services/classifier/domain"
	"github.com/semrouter/semrouter/services/classifier/heuristic"
	"github.com/semrouter/semrouter/services/classifier/kb"
	"github.com/semrouter/semrouter/services/classifier/llmlabel"
	"github.com/semrouter/semrouter/services/classifier/semantic"
	"github.com/semrouter/semrouter/services/classifier/signal"
)

// profile is the compiled signal families of one routing profile (the
// top-level routing block or one recipe).
type profile struct {
	heur *heuristic.Evaluator // nil when the profile has no heuristic rules

	emb        *semantic.EmbeddingFamily // nil when no embedding rules
	complexity []semantic.ComplexityRule
	reasks     []semantic.ReaskRule
	prefs      []semantic.PreferenceRule
	dom        *domain.Family // nil when no domain rules
	// facts and feedback are the fact_check and user_feedback families
	// (nil when the profile has no such rules or their exemplars could not
	// be embedded; hasFacts/hasFeedback record that rules exist).
	facts, feedback       *described.Family
	hasFacts, hasFeedback bool
	// kb is the kb family (nil when the profile has no kb rules and no
	// projection reads a kb metric, or the examples could not be
	// embedded; hasKB records that it is needed).
	kb    *kb.Family
	hasKB bool
	// semErr is set when candidate banks could not be built (no Embedder
	// or it failed): every embedding-based family reports it.
	semErr error
	// hasEmb, hasComplexity, hasPrefs record that rules exist even when
	// their banks could not be built.
	hasEmb, hasComplexity, hasPrefs bool
	// llm is the classifiers family: the classifiers the profile's
	// decisions reference (nil when none).
	llm *llmlabel.Family
}

func (p *profile) needsQuery() bool {
	return p.hasEmb || p.hasComplexity || p.hasPrefs || len(p.reasks) > 0 || p.dom != nil || p.hasFacts || p.hasFeedback || p.hasKB
}

// evaluateSignals runs every family of p for req and records the outcomes
// in res. It returns the signal set and the normalised query (nil when
// missing or unusable).
func (c *Classifier) evaluateSignals(ctx context.Context, p *profile, req *Request, res *Result) (*signal.Set, []float32) {
	set := signal.NewSet()
	add := func(o signal.Outcome) {
		set.Add(o)
		c.record(res, o, req.IncludeUnmatched)
	}

	// The classifiers family calls external models: it runs alongside
	// every other family and is joined before complexity.
	waitClassifiers := startClassifiers(ctx, p, req)
	joinClassifiers := func() {
		if waitClassifiers == nil {
			return
		}
		t := time.Now()
		add(waitClassifiers())
		waitClassifiers = nil
		res.Timings = append(res.Timings, StageTiming{Stage: "signals/classifiers", Duration: time.Since(t)})
	}
	defer joinClassifiers()

	t0 := time.Now()
	if p.heur != nil {
		hctx, cancel := context.WithTimeout(ctx, c.timeout)
		hreq := heuristic.Request{
			Messages:        req.Messages,
			ToolDefinitions: req.ToolDefinitions,
			ToolChoice:      req.ToolChoice,
			User:            req.User,
			Groups:          req.Groups,
			Metadata:        req.Metadata,
		}
		for _, o := range p.heur.Evaluate(hctx, hreq.Prepare()) {
			add(o)
		}
		cancel()
		res.Timings = append(res.Timings, StageTiming{Stage: "signals/heuristic", Duration: time.Since(t0)})
	}

	query, qerr := c.query(req.Query)
	if !p.needsQuery() {
		return set, query
	}
	t1 := time.Now()
	semErr := p.semErr
	if semErr == nil {
		semErr = qerr
	}
	if p.hasEmb {
		if semErr != nil {
			add(signal.Outcome{Family: signal.Embedding, Err: semErr})
		} else {
			add(p.emb.Evaluate(query))
		}
	}
	if p.dom != nil {
		var o signal.Outcome
		switch {
		case p.dom.Head == nil:
			o, _ = p.dom.Evaluate(query, nil)
		case qerr != nil:
			o = signal.Outcome{Family: signal.Domain, Err: qerr}
		default:
			var probs [32]float64
			o, res.Domain = p.dom.Evaluate(query, probs[:])
		}
		add(o)
	}
	if len(p.reasks) > 0 {
		if qerr != nil {
			add(signal.Outcome{Family: signal.Reask, Err: qerr})
		} else {
			add(semantic.EvaluateReasks(p.reasks, query, c.history(req.History)))
		}
	}
	if p.hasPrefs {
		if semErr != nil {
			add(signal.Outcome{Family: signal.Preference, Err: semErr})
		} else {
			add(semantic.EvaluatePreferences(p.prefs, query))
		}
	}
	if p.hasFacts || p.hasFeedback {
		c.evaluateDescribed(p, req, query, semErr, add)
	}
	if p.hasKB {
		switch {
		case semErr != nil:
			add(signal.Outcome{Family: signal.KB, Err: semErr})
		case p.kb == nil:
			add(signal.Outcome{Family: signal.KB, Err: ErrNoCandidateEmbeddings})
		default:
			add(p.kb.Evaluate(query))
		}
	}
	joinClassifiers()
	// Complexity runs last: its composers read the other families.
	if p.hasComplexity {
		if semErr != nil {
			add(signal.Outcome{Family: signal.Complexity, Err: semErr})
		} else {
			add(semantic.EvaluateComplexity(p.complexity, query, set))
		}
	}
	res.Timings = append(res.Timings, StageTiming{Stage: "signals/embedding", Duration: time.Since(t1)})
	return set, query
}

// evaluateDescribed runs the fact_check and user_feedback families on the
// current user turn. user_feedback only applies to a turn that follows an
// assistant answer; before that it reports nothing (and no error).
func (c *Classifier) evaluateDescribed(p *profile, req *Request, query []float32, semErr error, add func(signal.Outcome)) {
	text, afterAnswer := currentTurn(req.Messages)
	in := described.Input{Text: text, Query: query, AfterAnswer: afterAnswer}
	run := func(has bool, f *described.Family, fam signal.Family, needsAnswer bool) {
		switch {
		case !has || (needsAnswer && !afterAnswer):
		case semErr != nil:
			add(signal.Outcome{Family: fam, Err: semErr})
		default:
			add(f.Evaluate(in))
		}
	}
	run(p.hasFacts, p.facts, signal.FactCheck, false)
	run(p.hasFeedback, p.feedback, signal.UserFeedback, true)
}

// currentTurn returns the last user message and whether an assistant
// message precedes it.
func currentTurn(msgs []heuristic.Message) (string, bool) {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role != heuristic.RoleUser {
			continue
		}
		for j := i - 1; j >= 0; j-- {
			if msgs[j].Role == heuristic.RoleAssistant {
				return msgs[i].Text, true
			}
		}
		return msgs[i].Text, false
	}
	return "", false
}

// query validates and normalises the request's query embedding.
func (c *Classifier) query(q []float32) ([]float32, error) {
	if q == nil {
		return nil, semantic.ErrNoQuery
	}
	if c.dims > 0 && len(q) != c.dims {
		return nil, fmt.Errorf("query embedding has %d dimensions, the %q candidates have %d: %w", len(q), c.embedModel, c.dims, semantic.ErrDims)
	}
	return semantic.Normalize(q), nil
}

func (c *Classifier) history(h [][]float32) [][]float32 {
	out := make([][]float32, 0, len(h))
	for _, v := range h {
		if c.dims > 0 && len(v) != c.dims {
			continue
		}
		out = append(out, semantic.Normalize(v))
	}
	return out
}

// record appends one family outcome to the result.
func (c *Classifier) record(res *Result, o signal.Outcome, unmatched bool) {
	if o.Err != nil {
		res.Degraded = append(res.Degraded, Degradation{Stage: "signals", Family: o.Family, Err: o.Err.Error()})
	}
	for _, m := range o.Matches {
		res.Signals = append(res.Signals, SignalResult{Family: o.Family, Name: m.Name, Matched: true, Confidence: m.Confidence, Value: m.Value})
	}
	if !unmatched {
		return
	}
	for name, v := range o.Scores {
		if matchedName(o.Matches, name) {
			continue
		}
		res.Signals = append(res.Signals, SignalResult{Family: o.Family, Name: name, Value: v})
	}
}

func matchedName(ms []signal.Match, name string) bool {
	for _, m := range ms {
		if m.Name == name || strings.HasPrefix(m.Name, name+":") {
			return true
		}
	}
	return false
}

// composerGate compiles a complexity composer (a rule tree over the other
// families' matches) into a gate. Projection leaves never hold: projections
// are computed after the signals.
func composerGate(n *config.RuleNode) semantic.Gate {
	if n == nil {
		return nil
	}
	node := *n
	return func(set *signal.Set) bool { return evalComposer(&node, set) }
}

func evalComposer(n *config.RuleNode, set *signal.Set) bool {
	if n.IsLeaf() {
		if set == nil || n.Type == config.ConditionProjection {
			return false
		}
		name := n.Name
		if n.Label != "" {
			name += ":" + n.Label
		}
		_, ok := set.Lookup(signal.Family(strings.ToLower(n.Type)), name)
		return ok
	}
	switch strings.ToUpper(n.Operator) {
	case "OR":
		for i := range n.Conditions {
			if evalComposer(&n.Conditions[i], set) {
				return true
			}
		}
		return false
	case "NOT":
		for i := range n.Conditions {
			if evalComposer(&n.Conditions[i], set) {
				return false
			}
		}
		return true
	default: // AND, and an empty node
		for i := range n.Conditions {
			if !evalComposer(&n.Conditions[i], set) {
				return false
			}
		}
		return true
	}
}
