package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// legacySignalKeys maps the flat v0.1/v0.2 signal keys to their canonical
// family keys under routing.signals.
func legacySignalKeys() map[string]string {
	return map[string]string{
		"keyword_rules":       "keywords",
		"embedding_rules":     "embeddings",
		"categories":          "domains",
		"fact_check_rules":    "fact_check",
		"user_feedback_rules": "user_feedbacks",
		"reask_rules":         "reasks",
		"preference_rules":    "preferences",
		"language_rules":      "language",
		"context_rules":       "context",
		"structure_rules":     "structure",
		"complexity_rules":    "complexity",
		"modality_rules":      "modality",
		"role_bindings":       "role_bindings",
		"jailbreak":           "jailbreak",
		"pii":                 "pii",
		"kb":                  "kb",
		"conversation":        "conversation",
		"events":              "events",
		"metadata":            "metadata",
		"classifiers":         "classifiers",
	}
}

// wellKnownReasoningFamilies are added when a migrated model names a family
// the legacy document did not declare.
func wellKnownReasoningFamilies() map[string]obj {
	return map[string]obj{
		"qwen3":    {"type": "chat_template_kwargs", "parameter": "enable_thinking"},
		"deepseek": {"type": "chat_template_kwargs", "parameter": "thinking"},
		"gpt":      {"type": "reasoning_effort", "parameter": "reasoning_effort"},
		"gpt-oss":  {"type": "reasoning_effort", "parameter": "reasoning_effort"},
	}
}

// migrateLegacy maps a legacy document to the canonical tree. extraModels
// are provider models derived elsewhere (the operator's vllmEndpoints).
func (m *migration) migrateLegacy(src obj, extraModels []obj, defaultModel string) obj {
	providers := asMap(copyAny(src["providers"]))
	if providers == nil {
		providers = obj{}
	}
	routing := asMap(copyAny(src["routing"]))
	if routing == nil {
		routing = obj{}
	}
	global := obj{}
	consumed := map[string]bool{"version": true, "providers": true, "routing": true, "global": true,
		"listeners": true, "entrypoints": true, "recipes": true, "setup": true}

	// routing blocks
	cards := asList(routing["modelCards"])
	if cards == nil {
		cards = asList(routing["models"])
		if cards != nil {
			m.warnf("routing.models", "renamed to routing.modelCards")
		}
	}
	delete(routing, "models")
	for _, k := range []string{"signals", "decisions", "strategy"} {
		if v, ok := src[k]; ok {
			consumed[k] = true
			if k == "strategy" {
				setIfMissing(routing, k, v)
				continue
			}
			if _, exists := routing[k]; !exists {
				routing[k] = copyAny(v)
				m.warnf(k, "moved to routing.%s", k)
			}
		}
	}
	signals := ensureMap(routing, "signals")
	legacy := legacySignalKeys()
	for _, k := range sortedKeys(legacy) {
		v, ok := src[k]
		if !ok {
			continue
		}
		consumed[k] = true
		fam := legacy[k]
		if _, exists := signals[fam]; exists || isEmpty(v) {
			continue
		}
		signals[fam] = copyAny(v)
		m.warnf(k, "moved to routing.signals.%s", fam)
	}
	if len(signals) == 0 {
		delete(routing, "signals")
	}
	m.synthesiseCategoryDecisions(routing)
	m.renameLegacyPlugins(routing)

	// provider defaults
	defaults := asMap(providers["defaults"])
	if defaults == nil {
		defaults = obj{}
	}
	for _, k := range []string{"default_model", "reasoning_families", "default_reasoning_effort"} {
		if v, ok := providers[k]; ok {
			setIfMissing(defaults, k, v)
			delete(providers, k)
		}
		if v, ok := src[k]; ok {
			consumed[k] = true
			setIfMissing(defaults, k, copyAny(v))
		}
	}

	// provider models
	models := m.providerModels(providers, &cards)
	models = append(models, m.flatModels(src, consumed, &cards)...)
	models = append(models, extraModels...)
	delete(providers, "backends")
	delete(providers, "auth_profiles")
	delete(providers, "model_targets")
	if dm := defaultModel; dm != "" {
		if _, ok := defaults["default_model"]; !ok {
			defaults["default_model"] = dm
			m.warnf("providers.defaults.default_model", "set to %q (the first backend model)", dm)
		}
	}
	if ext, ok := providers["external_models"]; ok {
		setIfMissing(ensureMap(global, "model_catalog"), "external", ext)
		delete(providers, "external_models")
	}
	m.ensureReasoningFamilies(defaults, models)
	if len(defaults) > 0 {
		providers["defaults"] = defaults
	}
	if len(models) > 0 {
		providers["models"] = models
	}
	// every model gets a card
	have := map[string]bool{}
	for _, c := range cards {
		have[asString(asMap(c)["name"])] = true
	}
	if dm := asString(defaults["default_model"]); dm != "" && !have[dm] {
		cards = append(cards, obj{"name": dm})
		have[dm] = true
	}
	for _, pm := range models {
		n := asString(pm["name"])
		if n != "" && !have[n] {
			cards = append(cards, obj{"name": n})
			have[n] = true
		}
	}
	if len(cards) > 0 {
		routing["modelCards"] = cards
	}
	m.declareReferencedDomains(routing)

	// global blocks
	if g := asMap(src["global"]); g != nil {
		m.normaliseGlobal(global, g)
	}
	for _, k := range sortedKeys(src) {
		if consumed[k] {
			continue
		}
		if !m.placeGlobal(global, k, copyAny(src[k])) {
			m.warnf(k, "dropped: no v0.3 equivalent")
		}
	}
	pruneEmpty(global)

	out := obj{"version": CanonicalVersion}
	if l, ok := src["listeners"]; ok {
		out["listeners"] = copyAny(l)
	}
	out["providers"] = providers
	out["routing"] = routing
	for _, k := range []string{"entrypoints", "recipes", "setup"} {
		if v, ok := src[k]; ok {
			out[k] = copyAny(v)
		}
	}
	if len(global) > 0 {
		out["global"] = global
	}
	return out
}

// providerModels normalises a v0.2 providers.models list: inline
// endpoints become backend_refs and model-card fields move to modelCards.
func (m *migration) providerModels(providers obj, cards *[]any) []obj {
	var out []obj
	for i, raw := range asList(providers["models"]) {
		src := asMap(raw)
		name := strings.TrimSpace(asString(src["name"]))
		if name == "" {
			m.warnf(fmt.Sprintf("providers.models[%d]", i), "dropped: model without a name")
			continue
		}
		card := cardFor(cards, name)
		for _, k := range []string{"param_size", "context_window_size", "description", "capabilities", "loras", "quality_score", "modality", "tags"} {
			if v, ok := src[k]; ok {
				setIfMissing(card, k, v)
			}
		}
		pm := obj{"name": name}
		access := asMap(src["access"])
		for _, k := range []string{"provider_model_id", "pricing", "api_format", "external_model_ids", "reliability"} {
			setIfMissing(pm, k, access[k])
			setIfMissing(pm, k, src[k])
		}
		setIfMissing(pm, "reasoning_family", src["reasoning_family"])
		refs := asList(access["backend_refs"])
		if refs == nil {
			refs = asList(src["backend_refs"])
		}
		if refs == nil {
			for j, e := range asList(src["endpoints"]) {
				ep := asMap(e)
				if isEmpty(ep["endpoint"]) && isEmpty(ep["base_url"]) {
					m.warnf(fmt.Sprintf("providers.models[%d].endpoints[%d]", i, j), "dropped: endpoint without an address")
					continue
				}
				ref := obj{"name": firstNonEmpty(asString(ep["name"]), "primary")}
				for _, k := range []string{"endpoint", "base_url", "protocol", "weight", "type", "backend_id", "engine_kind", "api_key", "api_key_env"} {
					setIfMissing(ref, k, ep[k])
				}
				setIfMissing(ref, "api_key", src["access_key"])
				refs = append(refs, ref)
			}
			if len(refs) > 0 {
				m.warnf(fmt.Sprintf("providers.models[%d].endpoints", i), "renamed to backend_refs")
			}
		}
		if len(refs) > 0 {
			pm["backend_refs"] = refs
		}
		out = append(out, pm)
	}
	delete(providers, "models")
	return out
}

// flatModels builds provider models from v0.1 model_config + vllm_endpoints.
func (m *migration) flatModels(src obj, consumed map[string]bool, cards *[]any) []obj {
	mc := asMap(src["model_config"])
	eps := asList(src["vllm_endpoints"])
	profiles := asMap(src["provider_profiles"])
	consumed["model_config"], consumed["vllm_endpoints"], consumed["provider_profiles"] = true, true, true
	if mc == nil && eps == nil {
		return nil
	}
	backends := map[string]obj{}
	var order []string
	byModel := map[string][]string{}
	for i, raw := range eps {
		ep := asMap(raw)
		name := strings.TrimSpace(asString(ep["name"]))
		if name == "" {
			m.warnf(fmt.Sprintf("vllm_endpoints[%d]", i), "dropped: endpoint without a name")
			continue
		}
		ref := obj{"name": name}
		if prof := asMap(profiles[asString(ep["provider_profile"])]); prof != nil {
			for _, k := range []string{"base_url", "auth_header", "auth_prefix", "extra_headers", "api_version", "chat_path"} {
				setIfMissing(ref, k, prof[k])
			}
			setIfMissing(ref, "provider", prof["type"])
		}
		if addr := strings.TrimSpace(asString(ep["address"])); addr != "" {
			if port := toInt(ep["port"]); port > 0 {
				addr = addr + ":" + strconv.Itoa(port)
			}
			setIfMissing(ref, "endpoint", addr)
		}
		for _, k := range []string{"backend_id", "engine_kind", "metrics_port", "metrics_path", "protocol", "weight", "type", "api_key", "api_key_env"} {
			setIfMissing(ref, k, ep[k])
		}
		backends[name] = ref
		order = append(order, name)
		for _, mn := range asList(ep["models"]) {
			byModel[asString(mn)] = append(byModel[asString(mn)], name)
		}
	}
	var out []obj
	seen := map[string]bool{}
	add := func(name string, entry obj) {
		seen[name] = true
		card := cardFor(cards, name)
		for _, k := range []string{"param_size", "context_window_size", "description", "capabilities", "loras", "quality_score", "modality", "tags"} {
			setIfMissing(card, k, entry[k])
		}
		pm := obj{"name": name}
		setIfMissing(pm, "provider_model_id", entry["model_id"])
		for _, k := range []string{"pricing", "api_format", "external_model_ids", "reasoning_family"} {
			setIfMissing(pm, k, entry[k])
		}
		refNames := byModel[name]
		for _, e := range asList(entry["preferred_endpoints"]) {
			if !containsString(refNames, asString(e)) {
				refNames = append(refNames, asString(e))
			}
		}
		if len(refNames) == 0 && len(order) == 1 {
			refNames = order
		}
		var refs []any
		for _, rn := range refNames {
			b, ok := backends[rn]
			if !ok {
				m.warnf("model_config."+name+".preferred_endpoints", "dropped unknown endpoint %q", rn)
				continue
			}
			ref := asMap(copyAny(b))
			setIfMissing(ref, "api_key", entry["access_key"])
			refs = append(refs, ref)
		}
		if len(refs) > 0 {
			pm["backend_refs"] = refs
		}
		out = append(out, pm)
	}
	for _, name := range sortedKeys(mc) {
		add(name, asMap(mc[name]))
	}
	var rest []string
	for mn := range byModel {
		if !seen[mn] && mn != "" {
			rest = append(rest, mn)
		}
	}
	sort.Strings(rest)
	for _, mn := range rest {
		add(mn, obj{})
	}
	if mc != nil {
		m.warnf("model_config", "moved to providers.models and routing.modelCards")
	}
	if eps != nil {
		m.warnf("vllm_endpoints", "moved to providers.models[].backend_refs")
	}
	return out
}

// synthesiseCategoryDecisions turns v0.1 categories with model_scores into
// decisions when the document has none (v0.1 routed by category scores).
func (m *migration) synthesiseCategoryDecisions(routing obj) {
	if len(asList(routing["decisions"])) > 0 {
		return
	}
	var decisions []any
	for _, raw := range asList(asMap(routing["signals"])["domains"]) {
		d := asMap(raw)
		scores := asList(copyAny(d["model_scores"]))
		if len(scores) == 0 {
			continue
		}
		sort.SliceStable(scores, func(i, j int) bool { return toFloat(asMap(scores[i])["score"]) > toFloat(asMap(scores[j])["score"]) })
		var refs []any
		for _, s := range scores {
			sm := asMap(s)
			ref := obj{"model": sm["model"]}
			setIfMissing(ref, "use_reasoning", sm["use_reasoning"])
			refs = append(refs, ref)
		}
		name := asString(d["name"])
		decision := obj{
			"name":        strings.ReplaceAll(name, " ", "_") + "_decision",
			"description": "Migrated from the model_scores of category " + strconv.Quote(name),
			"priority":    100,
			"rules":       obj{"operator": "AND", "conditions": []any{obj{"type": "domain", "name": name}}},
			"modelRefs":   refs[:1],
		}
		if sp := asString(d["system_prompt"]); sp != "" {
			decision["plugins"] = []any{obj{"type": PluginSystemPrompt, "configuration": obj{"system_prompt": sp}}}
			delete(d, "system_prompt")
		}
		decisions = append(decisions, decision)
	}
	if len(decisions) > 0 {
		routing["decisions"] = decisions
		m.warnf("categories", "synthesised %d decisions from category model_scores (best score first)", len(decisions))
	}
}

// ensureReasoningFamilies declares well-known families models use but the
// document did not define, and drops unknown ones.
func (m *migration) ensureReasoningFamilies(defaults obj, models []obj) {
	fams := asMap(defaults["reasoning_families"])
	for _, pm := range models {
		f := asString(pm["reasoning_family"])
		if f == "" {
			continue
		}
		if _, ok := fams[f]; ok {
			continue
		}
		if def, ok := wellKnownReasoningFamilies()[f]; ok {
			if fams == nil {
				fams = obj{}
				defaults["reasoning_families"] = fams
			}
			fams[f] = def
			m.warnf("providers.defaults.reasoning_families."+f, "added the well-known definition of reasoning family %q used by model %q", f, pm["name"])
			continue
		}
		delete(pm, "reasoning_family")
		m.warnf("providers.models", "dropped undeclared reasoning family %q of model %q", f, pm["name"])
	}
}

// declareReferencedDomains declares domain signals that conditions use but
// the legacy document never listed (domains are classifier categories).
func (m *migration) declareReferencedDomains(routing obj) {
	signals := asMap(routing["signals"])
	declared := map[string]bool{}
	for _, d := range asList(signals["domains"]) {
		declared[asString(asMap(d)["name"])] = true
	}
	var missing []string
	var walk func(v any)
	walk = func(v any) {
		n := asMap(v)
		if n == nil {
			return
		}
		if asString(n["type"]) == "domain" {
			if name := asString(n["name"]); name != "" && !declared[name] {
				declared[name] = true
				missing = append(missing, name)
			}
		}
		for _, c := range asList(n["conditions"]) {
			walk(c)
		}
	}
	for _, d := range asList(routing["decisions"]) {
		walk(asMap(d)["rules"])
	}
	for _, c := range asList(signals["complexity"]) {
		walk(asMap(c)["composer"])
	}
	for _, name := range missing {
		if signals == nil {
			signals = ensureMap(routing, "signals")
		}
		signals["domains"] = append(asList(signals["domains"]), obj{"name": name, "description": "Declared by migration: referenced by a condition."})
		m.warnf("routing.signals.domains", "declared domain %q, referenced by a condition but never listed", name)
	}
}

func cardFor(cards *[]any, name string) obj {
	for _, c := range *cards {
		if cm := asMap(c); asString(cm["name"]) == name {
			return cm
		}
	}
	c := obj{"name": name}
	*cards = append(*cards, c)
	return c
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string { return keys(m) }

func toInt(v any) int {
	switch t := v.(type) {
	case int:
		return t
	case int64:
		return int(t)
	case float64:
		return int(t)
	case string:
		n, _ := strconv.Atoi(strings.TrimSpace(t))
		return n
	}
	return 0
}

func toFloat(v any) float64 {
	switch t := v.(type) {
	case int:
		return float64(t)
	case float64:
		return t
	case string:
		f, _ := strconv.ParseFloat(strings.TrimSpace(t), 64)
		return f
	}
	return 0
}

// copyAny deep-copies generic YAML data.
func copyAny(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = copyAny(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = copyAny(e)
		}
		return out
	}
	return v
}

// pruneEmpty removes empty maps left by placement.
func pruneEmpty(m obj) {
	for k, v := range m {
		if c := asMap(v); c != nil {
			pruneEmpty(c)
			if len(c) == 0 {
				delete(m, k)
			}
		}
	}
}

// renameLegacyPlugins gives legacy cache plugins their canonical name.
func (m *migration) renameLegacyPlugins(routing obj) {
	for i, d := range asList(routing["decisions"]) {
		for j, p := range asList(asMap(d)["plugins"]) {
			pm := asMap(p)
			if t := asString(pm["type"]); t == PluginSemanticCache || t == PluginSemanticCacheAlias {
				pm["type"] = PluginResponseCache
				m.warnf(fmt.Sprintf("routing.decisions[%d].plugins[%d].type", i, j), "renamed %q to %q", t, PluginResponseCache)
			}
		}
	}
}
