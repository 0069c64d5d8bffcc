package config

import (
	"reflect"
	"strings"
)

// algorithmKinds says which algorithm types exist and which semrouter
// implements; the others fall back to static selection.
func algorithmKinds() map[string]bool {
	return map[string]bool{
		"static":        true,
		"weighted":      true, // semrouter: weighted random choice over modelRefs[].weight
		"latency_aware": true,
		"multi_factor":  true,
		"router_dc":     true,
		"confidence":    true, // semrouter: API-mode cascade over modelRefs scored by token logprobs (gateway looper)
		"ratings":       true, // semrouter: API-mode concurrent answers of every modelRef, one choice each (gateway looper)
		"remom":         true, // semrouter: API-mode rounds of parallel calls then a synthesis call (gateway looper)
		"fusion":        true, // semrouter: API-mode panel of analysis models then a synthesis call (gateway looper)
		"workflows":     false,
		"prompt":        false,
		"automix":       true, // semrouter: API-mode logprob-verified, cost-aware cascade (gateway looper)
		"hybrid":        true, // semrouter: weighted blend of knn experience, router_dc similarity, quality_score and cost
		"knn":           true, // semrouter: kernel-weighted neighbours of pretrained outcomes (ml.knn)
		"kmeans":        false,
		"svm":           false,
		"mlp":           false,
		"elo":           false,
		"gmtrouter":     false,
		"rl_driven":     false,
	}
}

// AlgorithmImplemented reports whether semrouter implements an algorithm
// type ("" means static).
func AlgorithmImplemented(typ string) bool {
	if typ == "" {
		return true
	}
	return algorithmKinds()[typ]
}

// PluginImplemented reports whether semrouter implements a plugin type.
func PluginImplemented(typ string) bool {
	return pluginKinds()[typ].implemented
}

func (v *validator) validateDecisions(p *profile) {
	dp := sub(p.path, "decisions")
	names := make([]string, len(p.r.Decisions))
	for i, d := range p.r.Decisions {
		names[i] = d.Name
	}
	v.uniqueNames(dp, "decision", names)
	for i := range p.r.Decisions {
		v.validateDecision(p, joinIndex(dp, i), &p.r.Decisions[i])
	}
}

func (v *validator) validateDecision(p *profile, dp string, d *Decision) {
	if d.Priority < 0 {
		v.errorf(sub(dp, "priority"), "must not be negative")
	}
	r := d.Rules
	if r.Operator == "" && r.Type == "" && len(r.Conditions) == 0 {
		v.warnf(dp, "decision %q has no rules; it matches every request", d.Name)
	} else {
		v.validateRule(p, sub(dp, "rules"), &d.Rules)
	}
	if len(d.ModelRefs) == 0 {
		v.errorf(sub(dp, "modelRefs"), "at least one model reference is required")
	}
	type refKey struct{ model, lora string }
	seen := map[refKey]bool{}
	for i, ref := range d.ModelRefs {
		rp := joinIndex(sub(dp, "modelRefs"), i)
		v.validateModelRef(p, rp, ref, true)
		k := refKey{ref.Model, ref.LoRAName}
		if seen[k] {
			v.errorf(rp, "model %q (lora %q) is listed twice", ref.Model, ref.LoRAName)
		}
		seen[k] = true
	}
	v.checkDecisionCurrencies(sub(dp, "modelRefs"), d) // validate_pricing.go
	for i, it := range d.CandidateIterations {
		for j, ref := range it.Models {
			v.validateModelRef(p, joinIndex(sub(joinIndex(sub(dp, "candidateIterations"), i), "models"), j), ref, false)
		}
	}
	if d.Algorithm != nil {
		v.validateAlgorithm(p, sub(dp, "algorithm"), d)
	}
	seenPlugins := map[string]string{}
	for i, pl := range d.Plugins {
		pp := joinIndex(sub(dp, "plugins"), i)
		v.validatePlugin(pp, pl)
		if f, dup := seenPlugins[pl.Type]; dup && pl.Type != "" {
			v.errorf(sub(pp, "type"), "plugin %q is already configured at %s", pl.Type, f)
		}
		seenPlugins[pl.Type] = pp
	}
}

func (v *validator) validateModelRef(p *profile, rp string, ref ModelRef, checkLoRA bool) {
	if ref.Model == "" {
		v.errorf(sub(rp, "model"), "required")
		return
	}
	if !v.models[ref.Model] {
		v.errorf(sub(rp, "model"), "model %q is not defined in providers.models%s", ref.Model, known(keys(v.models)))
		return
	}
	v.checkKnown(sub(rp, "reasoning_effort"), ref.ReasoningEffort, ReasoningEfforts()...)
	if ref.UseReasoning != nil && *ref.UseReasoning {
		if m := v.cfg.Model(ref.Model); m != nil && m.ReasoningFamily == "" {
			v.warnf(sub(rp, "use_reasoning"), "model %q has no reasoning_family, so use_reasoning has no effect", ref.Model)
		}
	}
	v.checkNonNegative(sub(rp, "weight"), ref.Weight)
	if ref.LoRAName != "" && checkLoRA {
		card := p.card(ref.Model)
		found := false
		var declared []string
		if card != nil {
			for _, l := range card.Loras {
				declared = append(declared, l.Name)
				found = found || l.Name == ref.LoRAName
			}
		}
		if !found {
			v.errorf(sub(rp, "lora_name"), "LoRA %q is not declared in routing.modelCards[%q].loras%s", ref.LoRAName, ref.Model, known(declared))
		}
	}
}

// validateRule checks an AND/OR/NOT tree and its references.
func (v *validator) validateRule(p *profile, rp string, n *RuleNode) {
	switch {
	case n.Operator != "" && n.Type != "":
		v.errorf(rp, "a condition has either operator+conditions or type+name, not both")
	case n.Operator != "":
		switch n.Operator {
		case "AND", "OR":
		case "NOT":
			if len(n.Conditions) != 1 {
				v.errorf(sub(rp, "conditions"), "NOT takes exactly one condition, got %d", len(n.Conditions))
			}
		default:
			hint := ""
			if u := strings.ToUpper(n.Operator); u == "AND" || u == "OR" || u == "NOT" {
				hint = " (write it in upper case: " + u + ")"
			}
			v.errorf(sub(rp, "operator"), "unknown operator %q; use AND, OR or NOT%s", n.Operator, hint)
		}
		for i := range n.Conditions {
			v.validateRule(p, joinIndex(sub(rp, "conditions"), i), &n.Conditions[i])
		}
		return
	case n.Type == "":
		v.errorf(rp, "a condition needs type and name (or operator and conditions)")
		return
	}
	if len(n.Conditions) > 0 {
		v.errorf(sub(rp, "conditions"), "a %s condition cannot have sub-conditions", n.Type)
	}
	v.checkReference(p, rp, n.Type, n.Name)
	if n.Type == "classifier" {
		v.validateClassifierCondition(p, rp, n)
	} else if n.Label != "" || n.Predicate != nil || n.OnError != "" {
		v.errorf(rp, "label, predicate and on_error apply only to classifier conditions")
	}
}

func (v *validator) validateAlgorithm(p *profile, ap string, d *Decision) {
	a := d.Algorithm
	kinds := algorithmKinds()
	implemented, ok := kinds[a.Type]
	switch {
	case !ok:
		v.errorf(sub(ap, "type"), "unknown algorithm type %q%s", a.Type, known(keys(kinds)))
	case !implemented:
		v.warnf(sub(ap, "type"), "algorithm %q is not supported by semrouter yet; falls back to static", a.Type)
	}
	v.checkKnown(sub(ap, "on_error"), a.OnError, "fallback", "fail", "skip")
	// blocks for other types are ignored
	rv := reflect.ValueOf(a).Elem()
	for _, f := range typeInfo(rv.Type()).fields {
		if f.inline || f.name == "type" || f.name == "on_error" {
			continue
		}
		if !rv.Field(f.index).IsNil() && f.name != a.Type {
			v.warnf(sub(ap, f.name), "block %q is ignored: algorithm type is %q", f.name, a.Type)
		}
	}
	for _, k := range keys(a.Extra) {
		if k == a.Type {
			continue // a settings block for a type without a schema here; kept as written
		}
		v.errorf(sub(ap, k), "unknown field")
	}
	switch a.Type {
	case "hybrid":
		v.validateHybrid(p, ap, d) // hybrid.go
	case "router_dc":
		v.validateRouterDC(sub(ap, "router_dc"), a.RouterDC)
		if a.RouterDC != nil && a.RouterDC.RequireDescriptions {
			for i, ref := range d.ModelRefs {
				if c := p.card(ref.Model); v.models[ref.Model] && (c == nil || c.Description == "") {
					v.errorf(sub(joinIndex(sub(strings.TrimSuffix(ap, ".algorithm"), "modelRefs"), i), "model"), "router_dc.require_descriptions needs a description in the model card of %q", ref.Model)
				}
			}
		}
	case "latency_aware":
		if la := a.LatencyAware; la != nil {
			for name, pc := range map[string]int{"tpot_percentile": la.TPOTPercentile, "ttft_percentile": la.TTFTPercentile} {
				if pc < 1 || pc > 100 {
					v.errorf(sub(sub(ap, "latency_aware"), name), "percentile must be between 1 and 100, got %d", pc)
				}
			}
		}
	case "multi_factor":
		if mf := a.MultiFactor; mf != nil {
			mp := sub(ap, "multi_factor")
			w := mf.Weights
			for name, x := range map[string]float64{"quality": w.Quality, "latency": w.Latency, "cost": w.Cost, "load": w.Load} {
				v.checkNonNegative(sub(sub(mp, "weights"), name), x)
			}
			if w.Quality+w.Latency+w.Cost+w.Load <= 0 {
				v.errorf(sub(mp, "weights"), "at least one weight must be positive")
			}
			if mf.LatencyPercentile != 0 && (mf.LatencyPercentile < 1 || mf.LatencyPercentile > 100) {
				v.errorf(sub(mp, "latency_percentile"), "percentile must be between 1 and 100, got %d", mf.LatencyPercentile)
			}
			v.checkKnown(sub(mp, "on_no_candidates"), mf.OnNoCandidates, "cheapest", "fastest", "default", "fail", "static")
		}
	case "weighted":
		total := 0.0
		for _, ref := range d.ModelRefs {
			total += ref.Weight
		}
		if total <= 0 && len(d.ModelRefs) > 0 {
			v.errorf(sub(strings.TrimSuffix(ap, ".algorithm"), "modelRefs"), "algorithm weighted needs a positive weight on at least one modelRef")
		}
	case "confidence":
		if c := a.Confidence; c != nil {
			v.checkUnit(sub(ap, "confidence.threshold"), c.Threshold)
			v.checkUnit(sub(ap, "confidence.cost_quality_tradeoff"), c.CostQualityTradeoff)
		}
	case "automix":
		if c := a.AutoMix; c != nil {
			v.checkUnit(sub(ap, "automix.verification_threshold"), c.VerificationThreshold)
			v.checkUnit(sub(ap, "automix.cost_quality_tradeoff"), c.CostQualityTradeoff)
		}
	case "ratings":
		if c := a.Ratings; c != nil {
			if c.MaxConcurrent < 0 {
				v.errorf(sub(ap, "ratings.max_concurrent"), "max_concurrent must not be negative (0: every modelRef at once), got %d", c.MaxConcurrent)
			}
			v.checkOneOf(sub(ap, "ratings.on_error"), c.OnError, "skip", "fail")
		}
	}
	// models named inside algorithm blocks must exist
	modelAt := func(path, name string) {
		if name != "" && !v.models[name] {
			v.errorf(path, "model %q is not defined in providers.models", name)
		}
	}
	if a.ReMoM != nil {
		modelAt(sub(ap, "remom.synthesis_model"), a.ReMoM.SynthesisModel)
	}
	if a.Fusion != nil {
		modelAt(sub(ap, "fusion.model"), a.Fusion.Model)
		for i, m := range a.Fusion.AnalysisModels {
			modelAt(joinIndex(sub(ap, "fusion.analysis_models"), i), m)
		}
		for i, o := range a.Fusion.AnalysisOverrides {
			modelAt(sub(joinIndex(sub(ap, "fusion.analysis_overrides"), i), "model"), o.Model)
		}
	}
	if a.Workflows != nil && a.Workflows.Planner != nil {
		modelAt(sub(ap, "workflows.planner.model"), a.Workflows.Planner.Model)
	}
	if a.Prompt != nil {
		modelAt(sub(ap, "prompt.model"), a.Prompt.Model)
	}
}

func (v *validator) validateRouterDC(p string, c *RouterDCConfig) {
	if c == nil {
		return
	}
	v.checkUnit(sub(p, "min_similarity"), c.MinSimilarity)
	v.checkNonNegative(sub(p, "temperature"), c.Temperature)
	if c.DimensionSize < 0 {
		v.errorf(sub(p, "dimension_size"), "must not be negative")
	}
}

func (v *validator) validatePlugin(pp string, pl Plugin) {
	kinds := pluginKinds()
	kind, ok := kinds[pl.Type]
	switch {
	case pl.Type == "":
		v.errorf(sub(pp, "type"), "required")
		return
	case !ok:
		v.errorf(sub(pp, "type"), "unknown plugin type %q%s", pl.Type, known(keys(kinds)))
		return
	case !kind.implemented:
		v.warnf(sub(pp, "type"), "plugin %q is accepted and kept, but semrouter does not run it yet; it has no effect", pl.Type)
	case pl.Type == PluginSemanticCache || pl.Type == PluginSemanticCacheAlias:
		v.warnf(sub(pp, "type"), "legacy plugin name %q; use %q", pl.Type, PluginResponseCache)
	}
	cp := sub(pp, "configuration")
	switch c := pl.Configuration.(type) {
	case *SystemPromptPlugin:
		if c.IsEnabled() && strings.TrimSpace(c.SystemPrompt) == "" {
			v.errorf(sub(cp, "system_prompt"), "required when the plugin is enabled")
		}
		v.checkOneOf(sub(cp, "mode"), c.Mode, "replace", "insert")
	case *HeaderMutationPlugin:
		for name, list := range map[string][]HeaderValue{"add": c.Add, "update": c.Update} {
			for i, h := range list {
				if h.Name == "" {
					v.errorf(sub(joinIndex(sub(cp, name), i), "name"), "required")
				}
			}
		}
		for i, h := range c.Delete {
			if h == "" {
				v.errorf(joinIndex(sub(cp, "delete"), i), "empty header name")
			}
		}
	case *FastResponsePlugin:
		if strings.TrimSpace(c.Message) == "" {
			v.errorf(sub(cp, "message"), "required")
		}
	case *RequestParamsPlugin:
		if c.MaxTokensLimit < 0 {
			v.errorf(sub(cp, "max_tokens_limit"), "must not be negative")
		}
		if c.MaxN < 0 {
			v.errorf(sub(cp, "max_n"), "must not be negative")
		}
	case *ResponseCachePlugin:
		v.checkOneOf(sub(cp, "mode"), c.Mode, "exact", "semantic", "exact_then_semantic")
		v.checkOneOf(sub(cp, "scope"), c.Scope, "global", "decision", "user")
		v.checkUnitPtr(sub(cp, "similarity_threshold"), c.SimilarityThreshold)
		if c.Semantic != nil {
			v.checkUnitPtr(sub(cp, "semantic.similarity_threshold"), c.Semantic.SimilarityThreshold)
		}
		if c.TTLSeconds < 0 {
			v.errorf(sub(cp, "ttl_seconds"), "must not be negative")
		}
	case *ToolsPlugin:
		v.validateToolsPlugin(cp, c)
	case *ContextCompressionPlugin:
		v.validateContextCompression(cp, c)
	case *ToolSelectionPlugin:
		v.validateToolSelectionPlugin(cp, c)
	case *MemoryPlugin:
		v.validateMemoryPlugin(cp, c)
	case *RAGPlugin:
		v.validateRAGPlugin(cp, c)
	case *ImageGenPlugin:
		v.validateImageGenPlugin(cp, c)
	case *ResponseJailbreakPlugin:
		v.validateResponseJailbreak(cp, c)
	case *HallucinationPlugin:
		v.validateHallucination(cp, c)
	case *RouterReplayPlugin:
		v.validateRouterReplay(cp, c)
	}
}
