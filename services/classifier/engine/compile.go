package engine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/semrouter/semrouter/services/classifier/engine/selection"
	"github.com/semrouter/semrouter/services/classifier/signal"
)

// Options carries runtime collaborators the selectors need.
type Options struct {
	// Latency answers TTFT/TPOT percentiles (latency_aware, multi_factor).
	// A *selection.Window fed by the gateway's observations fits.
	Latency selection.LatencyStats
	// Load answers in-flight counts (multi_factor); optional.
	Load selection.LoadSource
	// ModelEmbeddings maps a model name to the embedding of its
	// description (router_dc); the caller computes them at config load.
	ModelEmbeddings map[string][]float32
}

// problems collects compile errors, each prefixed with its YAML path.
type problems struct{ errs []error }

func (p *problems) add(path, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
}

func (p *problems) err() error { return errors.Join(p.errs...) }

// knownFamilies are the families a condition may name.
var knownFamilies = []signal.Family{
	signal.Keyword, signal.Embedding, signal.Domain, signal.Complexity, signal.Structure,
	signal.Context, signal.Language, signal.Jailbreak, signal.PII, signal.Conversation,
	signal.Metadata, signal.Authz, signal.Modality, signal.Reask, signal.Preference,
	signal.FactCheck, signal.UserFeedback, signal.KB, signal.Event, signal.Classifier,
}

func isFamily(f signal.Family) bool {
	for _, k := range knownFamilies {
		if k == f {
			return true
		}
	}
	return false
}

// catalog indexes declared signals for one routing block.
type catalog struct {
	byFamily map[signal.Family]map[string]SignalDecl
	byName   map[string][]SignalDecl
}

func newCatalog(layers ...[]SignalDecl) *catalog {
	c := &catalog{byFamily: map[signal.Family]map[string]SignalDecl{}, byName: map[string][]SignalDecl{}}
	for _, decls := range layers {
		for _, d := range decls {
			m := c.byFamily[d.Family]
			if m == nil {
				m = map[string]SignalDecl{}
				c.byFamily[d.Family] = m
			}
			if _, dup := m[d.Name]; !dup {
				c.byName[d.Name] = append(c.byName[d.Name], d)
			}
			m[d.Name] = d
		}
	}
	return c
}

func (c *catalog) empty() bool { return len(c.byFamily) == 0 }

// declared reports whether name is a declared rule of family. Complexity
// conditions carry a level suffix ("rule:hard"); the rule part is checked.
func (c *catalog) declared(f signal.Family, name string) bool {
	if c.empty() {
		return true
	}
	m := c.byFamily[f]
	if _, ok := m[name]; ok {
		return true
	}
	if f == signal.Complexity {
		if base, _, found := strings.Cut(name, ":"); found {
			_, ok := m[base]
			return ok
		}
	}
	return false
}

func (c *catalog) probe(f signal.Family, key string) probe {
	p := probe{family: f, key: key}
	if f == signal.Domain {
		for _, cat := range c.byFamily[f][key].MMLUCategories {
			if cat != key {
				p.cats = append(p.cats, cat)
			}
		}
	}
	return p
}

// Compile validates spec and builds an Engine. All problems are returned
// together, each naming its YAML path.
func Compile(spec Spec, opts Options) (*Engine, error) {
	var p problems
	models := make(map[string]ModelInfo, len(spec.Models))
	for _, m := range spec.Models {
		models[m.Name] = m
	}
	c := compiler{p: &p, opts: opts, models: models}
	e := &Engine{defaultModel: spec.DefaultModel, recipes: map[string]*routing{}, byModel: map[string]*routing{}}
	e.def = c.routing("routing", "", spec.Routing, newCatalog(spec.Routing.Signals))
	for i, rc := range spec.Recipes {
		path := fmt.Sprintf("recipes[%d]", i)
		if rc.Name == "" {
			p.add(path+".name", "recipe name is empty")
			continue
		}
		if _, dup := e.recipes[rc.Name]; dup || rc.Name == "default" {
			p.add(path+".name", "recipe %q is defined twice (\"default\" is the top-level routing)", rc.Name)
			continue
		}
		rt := rc.Routing
		if rt.Strategy == "" {
			rt.Strategy = spec.Routing.Strategy
		}
		e.recipes[rc.Name] = c.routing(path+".routing", rc.Name, rt, newCatalog(spec.Routing.Signals, rc.Routing.Signals))
	}
	for i, ep := range spec.Entrypoints {
		path := fmt.Sprintf("entrypoints[%d]", i)
		target := e.def
		if ep.Recipe != "default" {
			r, ok := e.recipes[ep.Recipe]
			if !ok {
				p.add(path+".recipe", "unknown recipe %q", ep.Recipe)
				continue
			}
			target = r
		}
		if len(ep.ModelNames) == 0 {
			p.add(path+".model_names", "entrypoint names no model")
		}
		for j, name := range ep.ModelNames {
			if _, dup := e.byModel[name]; dup {
				p.add(fmt.Sprintf("%s.model_names[%d]", path, j), "model name %q is used by two entrypoints", name)
				continue
			}
			e.byModel[name] = target
		}
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return e, nil
}

type compiler struct {
	p      *problems
	opts   Options
	models map[string]ModelInfo
}

func (c *compiler) routing(path, recipe string, spec Routing, cat *catalog) *routing {
	r := &routing{recipe: recipe}
	switch spec.Strategy {
	case "", "priority":
	case "confidence":
		r.strategyConfidence = true
	default:
		c.p.add(path+".strategy", "unknown strategy %q: want priority or confidence", spec.Strategy)
	}
	pc := projCompiler{c: c, r: r, cat: cat, path: path + ".projections"}
	pc.compile(spec.Projections)
	names := make(map[string]bool, len(spec.Decisions))
	for i, d := range spec.Decisions {
		dp := fmt.Sprintf("%s.decisions[%d]", path, i)
		if d.Name == "" {
			c.p.add(dp+".name", "decision name is empty")
		} else if names[d.Name] {
			c.p.add(dp+".name", "decision %q is defined twice", d.Name)
		}
		names[d.Name] = true
		r.decisions = append(r.decisions, c.decision(dp, d, &pc))
	}
	return r
}

func (c *compiler) decision(path string, d Decision, pc *projCompiler) decision {
	out := decision{name: d.Name, priority: d.Priority, tier: d.Tier, refs: d.ModelRefs, plugins: d.Plugins}
	if d.Tier < 0 {
		c.p.add(path+".tier", "tier %d is negative", d.Tier)
	}
	rules := d.Rules
	switch strings.ToLower(rules.OnUnknown) {
	case "", "no_match":
	case "match":
		out.onUnknown = onUnknownMatch
	case "fail_request":
		out.onUnknown = onUnknownFail
	default:
		c.p.add(path+".rules.on_unknown", "unknown on_unknown %q: want no_match, match or fail_request", rules.OnUnknown)
	}
	if rules.Operator == "" && rules.Type == "" && len(rules.Conditions) == 0 {
		rules.Operator = "AND" // omitted rules: a catch-all
	}
	out.catchAll = strings.EqualFold(rules.Operator, "AND") && len(rules.Conditions) == 0 && rules.Type == ""
	firstLeaf := len(pc.r.leaves)
	out.root = pc.rule(path+".rules", rules, true)
	for _, l := range pc.r.leaves[firstLeaf:] {
		if l.onError == onErrorFail {
			out.onUnknown = onUnknownFail
		}
	}
	if len(d.ModelRefs) == 0 {
		c.p.add(path+".modelRefs", "decision has no modelRefs")
	}
	for i, ref := range d.ModelRefs {
		if ref.Model == "" {
			c.p.add(fmt.Sprintf("%s.modelRefs[%d].model", path, i), "model is empty")
		}
	}
	out.selector = c.selector(path+".algorithm", d)
	return out
}

// upstreamOnly are upstream algorithm types semrouter does not implement;
// they run as static and the result says so. Any other unknown type is a
// config error.
var upstreamOnly = []string{
	"confidence", "ratings", "remom", "fusion", "workflows", "automix",
	"kmeans", "svm", "mlp", "prompt", "elo", "rl_driven", "gmtrouter",
}

// unsupportedReason is built once at compile time so evaluation does not
// format strings.
func unsupportedReason(t string) string {
	return fmt.Sprintf("algorithm %q is not supported; used static (first modelRef)", t)
}

func (c *compiler) selector(path string, d Decision) selection.Selector {
	if d.Algorithm == nil || d.Algorithm.Type == "" || d.Algorithm.Type == selection.Static || len(d.ModelRefs) == 0 {
		return selection.StaticSelector{}
	}
	a := d.Algorithm
	refs := d.ModelRefs
	switch a.Type {
	case selection.Weighted:
		w := make([]float64, len(refs))
		for i, r := range refs {
			if r.Weight < 0 {
				c.p.add(fmt.Sprintf("%s.modelRefs[%d].weight", strings.TrimSuffix(path, ".algorithm"), i), "weight %v is negative", r.Weight)
			}
			w[i] = r.Weight
		}
		return selection.NewWeightedSelector(w)
	case selection.LatencyAware:
		var cfg selection.LatencyAwareConfig
		if a.LatencyAware != nil {
			cfg = *a.LatencyAware
		}
		if cfg.TPOTPercentile < 0 || cfg.TPOTPercentile > 100 || cfg.TTFTPercentile < 0 || cfg.TTFTPercentile > 100 {
			c.p.add(path+".latency_aware", "percentiles must be within 1..100")
		}
		return selection.NewLatencyAwareSelector(cfg, refModels(refs), c.opts.Latency)
	case selection.MultiFactor:
		var cfg selection.MultiFactorConfig
		if a.MultiFactor != nil {
			cfg = *a.MultiFactor
		}
		cands := make([]selection.Candidate, len(refs))
		for i, r := range refs {
			cands[i].Model = r.Model
			if m, ok := c.models[r.Model]; ok {
				if m.QualityScore != nil {
					cands[i].Quality, cands[i].HasQuality = *m.QualityScore, true
				}
				cands[i].PromptPer1M, cands[i].CompletionPer1M, cands[i].HasPricing = m.PromptPer1M, m.CompletionPer1M, m.HasPricing
			}
		}
		s, err := selection.NewMultiFactorSelector(cfg, cands, c.opts.Latency, c.opts.Load)
		if err != nil {
			c.p.add(path+".multi_factor", "%v", err)
			return selection.StaticSelector{}
		}
		return s
	case selection.RouterDC:
		var cfg selection.RouterDCConfig
		if a.RouterDC != nil {
			cfg = *a.RouterDC
		}
		desc := make([][]float32, len(refs))
		for i, r := range refs {
			desc[i] = c.opts.ModelEmbeddings[r.Model]
		}
		return selection.NewRouterDCSelector(cfg, desc)
	case selection.KNN:
		var cfg selection.KNNConfig
		if a.KNN != nil {
			cfg = *a.KNN
		}
		cands := make([]selection.KNNCandidate, len(refs))
		for i, r := range refs {
			cands[i].Model = r.Model
			if m, ok := c.models[r.Model]; ok && m.HasPricing {
				cands[i].Cost, cands[i].HasCost = m.PromptPer1M+m.CompletionPer1M, true
			}
		}
		return selection.NewKNNSelector(cfg, cands)
	case selection.Hybrid:
		return c.hybridSelector(path, a, refs)
	default:
		for _, t := range upstreamOnly {
			if t == a.Type {
				return selection.StaticSelector{Reason: unsupportedReason(a.Type)}
			}
		}
		c.p.add(path+".type", "unknown algorithm %q", a.Type)
		return selection.StaticSelector{}
	}
}

func refModels(refs []ModelRef) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.Model
	}
	return out
}
