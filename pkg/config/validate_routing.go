package config

import (
	"fmt"
	"regexp"
)

// profile is the name index of one routing block (top level or recipe).
// A recipe resolves names in its own block first, then in the top level.
type profile struct {
	path    string
	r       *Routing
	parent  *profile
	signals map[string]map[string]bool // condition type -> names
	outputs map[string]bool            // projection mapping outputs
	scores  map[string]bool
	cards   map[string]*ModelCard
	classes map[string]*ClassifierSignal
}

func (v *validator) profile(path string, r *Routing, parent *profile) *profile {
	p := &profile{path: path, r: r, parent: parent, signals: map[string]map[string]bool{},
		outputs: map[string]bool{}, scores: map[string]bool{}, cards: map[string]*ModelCard{},
		classes: map[string]*ClassifierSignal{}}
	for _, f := range SignalFamilies() {
		names := map[string]bool{}
		for _, n := range r.Signals.Names(f) {
			if f.Key == "complexity" {
				for _, l := range ComplexityLevels() {
					names[n+":"+l] = true
				}
				continue
			}
			names[n] = true
		}
		p.signals[f.ConditionType] = names
	}
	for _, m := range r.Projections.Mappings {
		for _, o := range m.Outputs {
			p.outputs[o.Name] = true
		}
	}
	for _, s := range r.Projections.Scores {
		p.scores[s.Name] = true
	}
	for i := range r.ModelCards {
		p.cards[r.ModelCards[i].Name] = &r.ModelCards[i]
	}
	for i := range r.Signals.Classifiers {
		p.classes[r.Signals.Classifiers[i].Name] = &r.Signals.Classifiers[i]
	}
	return p
}

func (p *profile) hasSignal(typ, name string) bool {
	for q := p; q != nil; q = q.parent {
		if q.signals[typ][name] {
			return true
		}
	}
	return false
}

func (p *profile) hasOutput(name string) bool {
	for q := p; q != nil; q = q.parent {
		if q.outputs[name] {
			return true
		}
	}
	return false
}

func (p *profile) card(name string) *ModelCard {
	for q := p; q != nil; q = q.parent {
		if c, ok := q.cards[name]; ok {
			return c
		}
	}
	return nil
}

func (p *profile) classifier(name string) *ClassifierSignal {
	for q := p; q != nil; q = q.parent {
		if c, ok := q.classes[name]; ok {
			return c
		}
	}
	return nil
}

func (p *profile) signalNames(typ string) []string {
	var out []string
	for q := p; q != nil; q = q.parent {
		out = append(out, keys(q.signals[typ])...)
	}
	return out
}

func (v *validator) validateRouting(p *profile) {
	r := p.r
	v.checkOneOf(sub(p.path, "strategy"), r.Strategy, "priority", "confidence")
	v.validateCards(p)
	v.validateSignals(p)
	v.validateProjections(p)
	v.validateDecisions(p)
}

func (v *validator) validateCards(p *profile) {
	seen := map[string]string{}
	for i, c := range p.r.ModelCards {
		cp := joinIndex(sub(p.path, "modelCards"), i)
		switch {
		case c.Name == "":
			v.errorf(sub(cp, "name"), "required")
		case seen[c.Name] != "":
			v.errorf(sub(cp, "name"), "duplicate model card %q (first at %s)", c.Name, seen[c.Name])
		case !v.models[c.Name]:
			v.errorf(sub(cp, "name"), "model card %q names a model not defined in providers.models", c.Name)
		}
		seen[c.Name] = cp
		v.checkUnit(sub(cp, "quality_score"), c.QualityScore)
		v.checkKnown(sub(cp, "modality"), c.Modality, "ar", "diffusion", "omni")
		if c.ContextWindowSize < 0 {
			v.errorf(sub(cp, "context_window_size"), "must not be negative")
		}
		loras := map[string]bool{}
		for j, l := range c.Loras {
			lp := joinIndex(sub(cp, "loras"), j)
			if l.Name == "" {
				v.errorf(sub(lp, "name"), "required")
			} else if loras[l.Name] {
				v.errorf(sub(lp, "name"), "duplicate LoRA %q", l.Name)
			}
			loras[l.Name] = true
		}
	}
}

// uniqueNames reports empty and duplicate names of one list.
func (v *validator) uniqueNames(listPath, what string, names []string) {
	first := map[string]string{}
	for i, n := range names {
		np := sub(joinIndex(listPath, i), "name")
		if n == "" {
			v.errorf(np, "required")
			continue
		}
		if f, dup := first[n]; dup {
			v.errorf(np, "duplicate %s name %q (first at %s)", what, n, f)
			continue
		}
		first[n] = joinIndex(listPath, i)
	}
}

func (v *validator) validateSignals(p *profile) {
	s := &p.r.Signals
	sp := sub(p.path, "signals")
	for _, f := range SignalFamilies() {
		v.uniqueNames(sub(sp, f.Key), f.Key+" signal", s.Names(f))
	}
	for i, k := range s.Keywords {
		kp := joinIndex(sub(sp, "keywords"), i)
		v.checkOneOf(sub(kp, "operator"), k.Operator, "AND", "OR", "NOR")
		v.checkOneOf(sub(kp, "method"), k.Method, "regex", "bm25", "ngram", "fuzzy")
		if len(k.Keywords) == 0 {
			v.errorf(sub(kp, "keywords"), "at least one keyword is required")
		}
		v.checkNonNegative(sub(kp, "bm25_threshold"), k.BM25Threshold)
		v.checkUnit(sub(kp, "ngram_threshold"), k.NgramThreshold)
		if k.FuzzyThreshold < 0 || k.FuzzyThreshold > 100 {
			v.errorf(sub(kp, "fuzzy_threshold"), "fuzzy_threshold is a 0-100 score, got %s", formatFloat(k.FuzzyThreshold))
		}
		if k.NgramArity < 0 {
			v.errorf(sub(kp, "ngram_arity"), "must not be negative")
		}
	}
	multimodal := false
	if e := v.cfg.Global.ModelCatalog.Embeddings; e != nil && e.Semantic != nil && e.Semantic.EmbeddingConfig != nil {
		multimodal = e.Semantic.EmbeddingConfig.ModelType == "multimodal"
	}
	for i, e := range s.Embeddings {
		ep := joinIndex(sub(sp, "embeddings"), i)
		v.checkUnit(sub(ep, "threshold"), e.Threshold)
		v.checkOneOf(sub(ep, "aggregation_method"), e.AggregationMethod, "max", "mean", "any")
		v.checkOneOf(sub(ep, "query_modality"), e.QueryModality, "text", "image", "audio")
		if (e.QueryModality == "image" || e.QueryModality == "audio") && !multimodal {
			v.errorf(sub(ep, "query_modality"), "query_modality %s needs global.model_catalog.embeddings.semantic.embedding_config.model_type: multimodal", e.QueryModality)
		}
		if len(e.Candidates) == 0 {
			v.errorf(sub(ep, "candidates"), "at least one candidate is required")
		}
		if e.TopK < 0 {
			v.errorf(sub(ep, "top_k"), "must not be negative")
		}
	}
	for i, r := range s.Reasks {
		rp := joinIndex(sub(sp, "reasks"), i)
		v.checkUnit(sub(rp, "threshold"), r.Threshold)
		if r.LookbackTurns < 0 {
			v.errorf(sub(rp, "lookback_turns"), "must not be negative")
		}
	}
	for i, x := range s.Preferences {
		v.checkUnit(sub(joinIndex(sub(sp, "preferences"), i), "threshold"), x.Threshold)
	}
	for i, x := range s.Language {
		v.checkUnit(sub(joinIndex(sub(sp, "language"), i), "threshold"), x.Threshold)
	}
	for i, x := range s.Context {
		cp := joinIndex(sub(sp, "context"), i)
		if !x.MinTokens.IsSet() && !x.MaxTokens.IsSet() {
			v.errorf(cp, "set min_tokens, max_tokens or both")
		}
		if x.MinTokens.IsSet() && x.MaxTokens.IsSet() && x.MinTokens.Value() > x.MaxTokens.Value() {
			v.errorf(sub(cp, "min_tokens"), "min_tokens %s is above max_tokens %s", x.MinTokens, x.MaxTokens)
		}
	}
	for i, x := range s.Structure {
		xp := joinIndex(sub(sp, "structure"), i)
		v.validateFeature(sub(xp, "feature"), x.Feature, "regex", "keyword_set", "sequence", "text_bytes")
		v.validatePredicate(sub(xp, "predicate"), x.Predicate)
	}
	for i, x := range s.Conversation {
		xp := joinIndex(sub(sp, "conversation"), i)
		v.validateFeature(sub(xp, "feature"), x.Feature, "message", "tool_definition", "active_tool_loop", "image_content", "tool_result")
		v.checkOneOf(sub(xp, "feature.source.role"), x.Feature.Source.Role, "user", "assistant", "system", "developer", "tool", "non_user")
		v.validatePredicate(sub(xp, "predicate"), x.Predicate)
	}
	for i, x := range s.Complexity {
		xp := joinIndex(sub(sp, "complexity"), i)
		v.checkUnit(sub(xp, "threshold"), x.Threshold)
		if len(x.Hard.Candidates)+len(x.Hard.ImageCandidates) == 0 {
			v.errorf(sub(xp, "hard"), "at least one hard candidate is required")
		}
		if len(x.Easy.Candidates)+len(x.Easy.ImageCandidates) == 0 {
			v.errorf(sub(xp, "easy"), "at least one easy candidate is required")
		}
		if x.Composer != nil {
			v.validateRule(p, sub(xp, "composer"), x.Composer)
		}
	}
	for i, x := range s.RoleBindings {
		xp := joinIndex(sub(sp, "role_bindings"), i)
		if x.Role == "" {
			v.errorf(sub(xp, "role"), "required")
		}
		if len(x.Subjects) == 0 {
			v.errorf(sub(xp, "subjects"), "at least one subject is required")
		}
		for j, subj := range x.Subjects {
			sbp := joinIndex(sub(xp, "subjects"), j)
			v.checkOneOf(sub(sbp, "kind"), subj.Kind, "User", "Group")
			if subj.Kind == "" {
				v.errorf(sub(sbp, "kind"), "required (User or Group)")
			}
			if subj.Name == "" {
				v.errorf(sub(sbp, "name"), "required")
			}
		}
	}
	for i, x := range s.Jailbreak {
		xp := joinIndex(sub(sp, "jailbreak"), i)
		v.checkUnit(sub(xp, "threshold"), x.Threshold)
		v.checkOneOf(sub(xp, "method"), x.Method, "classifier", "contrastive", "pattern", "hybrid")
		if (x.Method == "pattern" || x.Method == "contrastive") && len(x.JailbreakPatterns) == 0 {
			v.errorf(sub(xp, "jailbreak_patterns"), "method %s needs jailbreak_patterns", x.Method)
		}
	}
	for i, x := range s.PII {
		v.checkUnit(sub(joinIndex(sub(sp, "pii"), i), "threshold"), x.Threshold)
	}
	for i, x := range s.Metadata {
		xp := joinIndex(sub(sp, "metadata"), i)
		if x.Key == "" {
			v.errorf(sub(xp, "key"), "required")
		}
		pr := x.Predicate
		if pr.Equals == "" && pr.NotEquals == "" && len(pr.In) == 0 && pr.Exists == nil {
			v.errorf(sub(xp, "predicate"), "set equals, not_equals, in or exists")
		}
	}
	kbs := map[string]*KnowledgeBase{}
	for i := range v.cfg.Global.ModelCatalog.KBs {
		kbs[v.cfg.Global.ModelCatalog.KBs[i].Name] = &v.cfg.Global.ModelCatalog.KBs[i]
	}
	for i, x := range s.KB {
		xp := joinIndex(sub(sp, "kb"), i)
		kb, ok := kbs[x.KB]
		if !ok {
			v.errorf(sub(xp, "kb"), "knowledge base %q is not declared in global.model_catalog.kbs%s", x.KB, known(keys(kbs)))
			continue
		}
		v.checkOneOf(sub(xp, "match"), x.Match, KBMatchBest, KBMatchThreshold)
		if x.Target.Kind == "" {
			v.errorf(sub(xp, "target.kind"), "required (label or group)")
		} else {
			v.checkOneOf(sub(xp, "target.kind"), x.Target.Kind, "label", "group")
		}
		if x.Target.Value == "" {
			v.errorf(sub(xp, "target.value"), "required: the label or group to match")
		} else if x.Target.Kind == "group" {
			if _, ok := kb.Groups[x.Target.Value]; !ok {
				v.errorf(sub(xp, "target.value"), "group %q is not defined in knowledge base %q%s", x.Target.Value, x.KB, known(keys(kb.Groups)))
			}
		}
	}
	v.validateClassifiers(sp, s.Classifiers)
}

func (v *validator) validateFeature(fp string, f Feature, sources ...string) {
	v.checkOneOf(sub(fp, "type"), f.Type, "count", "exists", "density", "sequence")
	if f.Type == "" {
		v.errorf(sub(fp, "type"), "required (count, exists, density or sequence)")
	}
	src := f.Source
	sp := sub(fp, "source")
	if src.Type == "" {
		v.errorf(sub(sp, "type"), "required")
		return
	}
	v.checkOneOf(sub(sp, "type"), src.Type, sources...)
	switch src.Type {
	case "regex":
		if src.Pattern == "" {
			v.errorf(sub(sp, "pattern"), "required for source type regex")
		} else if _, err := regexp.Compile(src.Pattern); err != nil {
			v.errorf(sub(sp, "pattern"), "invalid regular expression: %v", err)
		}
	case "keyword_set":
		if len(src.Keywords) == 0 {
			v.errorf(sub(sp, "keywords"), "required for source type keyword_set")
		}
	case "sequence":
		if len(src.Sequences) == 0 {
			v.errorf(sub(sp, "sequences"), "required for source type sequence")
		}
		for i, seq := range src.Sequences {
			if len(seq) < 2 {
				v.errorf(joinIndex(sub(sp, "sequences"), i), "a sequence needs at least two steps")
			}
		}
	}
	if (f.Type == "sequence") != (src.Type == "sequence") {
		v.errorf(sub(fp, "type"), "feature type %q does not fit source type %q (sequence features need a sequence source)", f.Type, src.Type)
	}
}

func (v *validator) validatePredicate(pp string, pr *NumericPredicate) {
	if pr == nil {
		return
	}
	if pr.GT == nil && pr.GTE == nil && pr.LT == nil && pr.LTE == nil {
		v.errorf(pp, "set at least one of gt, gte, lt, lte")
	}
	v.checkBounds(pp, pr.GT, pr.GTE, pr.LT, pr.LTE)
}

func (v *validator) validateProjections(p *profile) {
	pj := &p.r.Projections
	pp := sub(p.path, "projections")
	names := func(n int, get func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = get(i)
		}
		return out
	}
	v.uniqueNames(sub(pp, "partitions"), "partition", names(len(pj.Partitions), func(i int) string { return pj.Partitions[i].Name }))
	v.uniqueNames(sub(pp, "scores"), "score", names(len(pj.Scores), func(i int) string { return pj.Scores[i].Name }))
	v.uniqueNames(sub(pp, "mappings"), "mapping", names(len(pj.Mappings), func(i int) string { return pj.Mappings[i].Name }))
	for i, part := range pj.Partitions {
		xp := joinIndex(sub(pp, "partitions"), i)
		v.checkKnown(sub(xp, "semantics"), part.Semantics, "exclusive", "softmax")
		v.checkNonNegative(sub(xp, "temperature"), part.Temperature)
		if len(part.Members) < 2 {
			v.errorf(sub(xp, "members"), "a partition needs at least two members")
		}
		members := map[string]bool{}
		for j, m := range part.Members {
			members[m] = true
			if !v.anySignal(p, m) {
				v.errorf(joinIndex(sub(xp, "members"), j), "member %q is not a declared signal", m)
			}
		}
		if part.Default != "" && !members[part.Default] {
			v.errorf(sub(xp, "default"), "default %q is not one of the members", part.Default)
		}
	}
	kbs := map[string]*KnowledgeBase{}
	for i := range v.cfg.Global.ModelCatalog.KBs {
		kbs[v.cfg.Global.ModelCatalog.KBs[i].Name] = &v.cfg.Global.ModelCatalog.KBs[i]
	}
	for i, sc := range pj.Scores {
		xp := joinIndex(sub(pp, "scores"), i)
		v.checkKnown(sub(xp, "method"), sc.Method, "weighted_sum")
		if len(sc.Inputs) == 0 {
			v.errorf(sub(xp, "inputs"), "at least one input is required")
		}
		for j, in := range sc.Inputs {
			ip := joinIndex(sub(xp, "inputs"), j)
			v.checkKnown(sub(ip, "value_source"), in.ValueSource, "binary", "confidence", "score")
			if in.Type == "kb_metric" {
				kb, ok := kbs[in.KB]
				if !ok {
					v.errorf(sub(ip, "kb"), "knowledge base %q is not declared in global.model_catalog.kbs%s", in.KB, known(keys(kbs)))
					continue
				}
				found := false
				for _, m := range kb.Metrics {
					found = found || m.Name == in.Metric
				}
				if !found {
					v.errorf(sub(ip, "metric"), "metric %q is not defined in knowledge base %q", in.Metric, in.KB)
				}
				continue
			}
			v.checkReference(p, ip, in.Type, in.Name)
		}
	}
	for i, m := range pj.Mappings {
		xp := joinIndex(sub(pp, "mappings"), i)
		if !p.scores[m.Source] && (p.parent == nil || !p.parent.scores[m.Source]) {
			v.errorf(sub(xp, "source"), "source %q is not a declared projection score%s", m.Source, known(keys(p.scores)))
		}
		v.checkKnown(sub(xp, "method"), m.Method, "threshold_bands")
		if c := m.Calibration; c != nil {
			v.checkKnown(sub(xp, "calibration.method"), c.Method, "sigmoid_distance", "none")
			if c.Method == "sigmoid_distance" && c.Slope <= 0 {
				v.errorf(sub(xp, "calibration.slope"), "slope must be positive")
			}
		}
		if len(m.Outputs) == 0 {
			v.errorf(sub(xp, "outputs"), "at least one output is required")
		}
		for j, o := range m.Outputs {
			op := joinIndex(sub(xp, "outputs"), j)
			if o.Name == "" {
				v.errorf(sub(op, "name"), "required")
			}
			v.checkBounds(op, o.GT, o.GTE, o.LT, o.LTE)
		}
	}
	// output names share one namespace across mappings
	seen := map[string]string{}
	for i, m := range pj.Mappings {
		for j, o := range m.Outputs {
			op := joinIndex(sub(joinIndex(sub(pp, "mappings"), i), "outputs"), j)
			if o.Name == "" {
				continue
			}
			if f, dup := seen[o.Name]; dup {
				v.errorf(sub(op, "name"), "duplicate projection output %q (first at %s)", o.Name, f)
				continue
			}
			seen[o.Name] = op
		}
	}
}

// anySignal reports whether name is a signal of any family.
func (v *validator) anySignal(p *profile, name string) bool {
	for _, f := range SignalFamilies() {
		if p.hasSignal(f.ConditionType, name) {
			return true
		}
	}
	return false
}

// checkReference reports a reference (type+name) to an undeclared signal
// or projection output.
func (v *validator) checkReference(p *profile, path, typ, name string) {
	if typ == "" {
		v.errorf(sub(path, "type"), "required")
		return
	}
	if typ == ConditionProjection {
		if !p.hasOutput(name) {
			v.errorf(sub(path, "name"), "projection output %q is not declared in projections.mappings", name)
		}
		return
	}
	fam, ok := SignalFamilyByCondition(typ)
	if !ok {
		v.errorf(sub(path, "type"), "unknown condition type %q", typ)
		return
	}
	if name == "" {
		v.errorf(sub(path, "name"), "required")
		return
	}
	if !p.hasSignal(typ, name) {
		hint := known(p.signalNames(typ))
		if fam.Key == "complexity" {
			hint = fmt.Sprintf(" (complexity conditions name signal:level, level one of easy, medium, hard)%s", hint)
		}
		v.errorf(sub(path, "name"), "%s signal %q is not declared in signals.%s%s", typ, name, fam.Key, hint)
		return
	}
	if !fam.Implemented {
		v.warnf(path, "condition on %s signal %q never matches (family not evaluated)", typ, name)
	}
}
