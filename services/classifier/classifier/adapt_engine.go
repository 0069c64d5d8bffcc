package classifier

import (
	"encoding/json"
	"fmt"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/classifier/engine"
	"github.com/semrouter/semrouter/services/classifier/engine/selection"
	"github.com/semrouter/semrouter/services/classifier/signal"
)

// engineSpec maps the config to the decision engine's Spec. tree is the
// config's canonical JSON form, from which plugin configurations are read
// as plain maps. sel is shared by every decision (hybrid.go).
func engineSpec(cfg *config.Config, tree map[string]any, sel *selectionData) engine.Spec {
	spec := engine.Spec{DefaultModel: cfg.Providers.Defaults.DefaultModel}
	strategy := cfg.Routing.Strategy
	if strategy == "" {
		strategy = cfg.Global.Router.Strategy
	}
	spec.Routing = routingSpec(&cfg.Routing, &cfg.Routing.Signals, strategy, lookup(tree, "routing"), sel)
	for i := range cfg.Recipes {
		rc := &cfg.Recipes[i]
		rt := lookup(tree, "recipes", i, "routing")
		spec.Recipes = append(spec.Recipes, engine.Recipe{
			Name:    rc.Name,
			Routing: routingSpec(&rc.Routing, &rc.Routing.Signals, rc.Routing.Strategy, rt, sel),
		})
	}
	for _, ep := range cfg.Entrypoints {
		spec.Entrypoints = append(spec.Entrypoints, engine.Entrypoint{ModelNames: ep.ModelNames, Recipe: ep.Recipe})
	}
	spec.Models = modelInfos(cfg)
	return spec
}

func routingSpec(r *config.Routing, sig *config.Signals, strategy string, tree any, sel *selectionData) engine.Routing {
	out := engine.Routing{Strategy: strategy, Signals: signalDecls(sig)}
	for _, p := range r.Projections.Partitions {
		out.Projections.Partitions = append(out.Projections.Partitions, engine.Partition{
			Name: p.Name, Semantics: p.Semantics, Temperature: p.Temperature, Members: p.Members, Default: p.Default,
		})
	}
	for _, s := range r.Projections.Scores {
		es := engine.Score{Name: s.Name, Method: s.Method}
		for _, in := range s.Inputs {
			ei := engine.ScoreInput{Type: in.Type, Name: in.Name, KB: in.KB, Metric: in.Metric, Weight: in.Weight, ValueSource: in.ValueSource, Match: in.Match}
			if in.Miss != nil {
				ei.Miss = *in.Miss
			}
			es.Inputs = append(es.Inputs, ei)
		}
		out.Projections.Scores = append(out.Projections.Scores, es)
	}
	for _, m := range r.Projections.Mappings {
		em := engine.Mapping{Name: m.Name, Source: m.Source, Method: m.Method}
		if m.Calibration != nil {
			em.Calibration = &engine.Calibration{Method: m.Calibration.Method, Slope: m.Calibration.Slope}
		}
		for _, b := range m.Outputs {
			em.Outputs = append(em.Outputs, engine.Band{Name: b.Name, GT: b.GT, GTE: b.GTE, LT: b.LT, LTE: b.LTE})
		}
		out.Projections.Mappings = append(out.Projections.Mappings, em)
	}
	for i := range r.Decisions {
		out.Decisions = append(out.Decisions, decisionSpec(&r.Decisions[i], lookup(tree, "decisions", i), sel))
	}
	return out
}

// signalDecls lists every declared rule of every family. Role bindings
// are declared under both their name and their role (conditions name the
// role); domains carry their mmlu_categories.
func signalDecls(s *config.Signals) []engine.SignalDecl {
	var out []engine.SignalDecl
	for _, f := range config.SignalFamilies() {
		fam := signal.Family(f.ConditionType)
		for _, n := range s.Names(f) {
			out = append(out, engine.SignalDecl{Family: fam, Name: n})
		}
	}
	for i := range out {
		if out[i].Family != signal.Domain {
			continue
		}
		for _, d := range s.Domains {
			if d.Name == out[i].Name {
				out[i].MMLUCategories = d.MMLUCategories
			}
		}
	}
	for _, b := range s.RoleBindings {
		if b.Role != "" && b.Role != b.Name {
			out = append(out, engine.SignalDecl{Family: signal.Authz, Name: b.Role})
		}
	}
	return out
}

func decisionSpec(d *config.Decision, tree any, sel *selectionData) engine.Decision {
	out := engine.Decision{
		Name: d.Name, Description: d.Description, Priority: d.Priority, Tier: d.Tier,
		Rules: ruleSpec(&d.Rules),
	}
	for _, m := range d.ModelRefs {
		ref := engine.ModelRef{Model: m.Model, ReasoningEffort: m.ReasoningEffort, LoRAName: m.LoRAName, Weight: m.Weight}
		if m.UseReasoning != nil {
			ref.UseReasoning = *m.UseReasoning
		}
		out.ModelRefs = append(out.ModelRefs, ref)
	}
	if a := d.Algorithm; a != nil {
		ea := &engine.Algorithm{Type: a.Type}
		if la := a.LatencyAware; la != nil {
			ea.LatencyAware = &selection.LatencyAwareConfig{TTFTPercentile: float64(la.TTFTPercentile), TPOTPercentile: float64(la.TPOTPercentile)}
		}
		if mf := a.MultiFactor; mf != nil {
			c := &selection.MultiFactorConfig{
				Weights:           selection.FactorWeights{Quality: mf.Weights.Quality, Latency: mf.Weights.Latency, Cost: mf.Weights.Cost, Load: mf.Weights.Load},
				LatencyPercentile: float64(mf.LatencyPercentile),
				OnNoCandidates:    mf.OnNoCandidates,
			}
			if mf.SLO != nil {
				c.SLO = selection.SLO{MaxTPOTms: mf.SLO.MaxTPOTMs, MaxTTFTms: mf.SLO.MaxTTFTMs, MaxCostPer1M: mf.SLO.MaxCostPer1M, MaxInflight: mf.SLO.MaxInflight}
			}
			ea.MultiFactor = c
		}
		if rd := a.RouterDC; rd != nil {
			ea.RouterDC = &selection.RouterDCConfig{Temperature: rd.Temperature, MinSimilarity: rd.MinSimilarity}
		}
		switch a.Type {
		case selection.KNN:
			ea.KNN = sel.knn
		case selection.Hybrid:
			ea.Hybrid = sel.hybrid(d)
		}
		out.Algorithm = ea
	}
	for i, p := range d.Plugins {
		cfgMap, _ := lookup(tree, "plugins", i, "configuration").(map[string]any)
		out.Plugins = append(out.Plugins, engine.Plugin{Type: p.Type, Configuration: cfgMap})
	}
	return out
}

func ruleSpec(n *config.RuleNode) engine.Rule {
	r := engine.Rule{Operator: n.Operator, Type: n.Type, Name: n.Name, Label: n.Label, OnError: n.OnError}
	if n.Type == string(signal.Classifier) && n.OnError == "" {
		r.OnError = "no_match" // the documented default of classifier conditions
	}
	if p := n.Predicate; p != nil {
		r.Predicate = &engine.Predicate{GT: p.GT, GTE: p.GTE, LT: p.LT, LTE: p.LTE}
	}
	for i := range n.Conditions {
		r.Conditions = append(r.Conditions, ruleSpec(&n.Conditions[i]))
	}
	return r
}

// modelInfos merges model cards (top level, then recipes) with provider
// pricing.
func modelInfos(cfg *config.Config) []engine.ModelInfo {
	byName := map[string]*engine.ModelInfo{}
	var order []string
	get := func(name string) *engine.ModelInfo {
		if m, ok := byName[name]; ok {
			return m
		}
		m := &engine.ModelInfo{Name: name}
		byName[name] = m
		order = append(order, name)
		return m
	}
	cards := append([]config.ModelCard(nil), cfg.Routing.ModelCards...)
	for _, rc := range cfg.Recipes {
		cards = append(cards, rc.Routing.ModelCards...)
	}
	for _, c := range cards {
		if c.QualityScore != 0 {
			q := c.QualityScore
			get(c.Name).QualityScore = &q
		}
	}
	for _, m := range cfg.Providers.Models {
		if m.Pricing != nil {
			mi := get(m.Name)
			mi.PromptPer1M, mi.CompletionPer1M, mi.HasPricing = m.Pricing.PromptPer1M, m.Pricing.CompletionPer1M, true
		}
	}
	out := make([]engine.ModelInfo, 0, len(order))
	for _, n := range order {
		out = append(out, *byName[n])
	}
	return out
}

// usesRouterDC reports whether any decision compares the query with model
// descriptions: router_dc, or hybrid with a router_dc weight.
func usesRouterDC(cfg *config.Config) bool {
	return cfg.AnyDecision(func(d *config.Decision) bool {
		return d.Algorithm != nil && d.Algorithm.Type == selection.RouterDC
	}) || hybridUses(cfg, func(h config.HybridConfig) float64 { return h.RouterDCWeight })
}

// configTree returns the canonical JSON form of cfg as nested maps.
func configTree(cfg *config.Config) (map[string]any, error) {
	data, err := cfg.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	var tree map[string]any
	if err := json.Unmarshal(data, &tree); err != nil {
		return nil, fmt.Errorf("decode canonical config: %w", err)
	}
	return tree, nil
}

// lookup walks a decoded JSON tree by map keys and slice indices; nil when
// any step is missing.
func lookup(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			s, ok := v.([]any)
			if !ok || k < 0 || k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}
