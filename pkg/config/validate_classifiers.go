package config

import "text/template"

// ExternalRoleClassification is the model_role of external models that
// `type: llm` classifiers may call.
const ExternalRoleClassification = "classification"

// ClassifierOnErrors lists the on_error values of classifier conditions:
// no_match (the default), match, and fail (the request fails when the
// decision cannot be decided without the classifier).
func ClassifierOnErrors() []string { return []string{"no_match", "match", "fail"} }

// validateClassifiers checks routing.signals.classifiers of one profile.
func (v *validator) validateClassifiers(sp string, cs []ClassifierSignal) {
	ext := map[string]*ExternalModel{}
	for i := range v.cfg.Global.ModelCatalog.External {
		m := &v.cfg.Global.ModelCatalog.External[i]
		ext[m.Name] = m
	}
	for i, x := range cs {
		xp := joinIndex(sub(sp, "classifiers"), i)
		if x.Name == "" {
			v.errorf(sub(xp, "name"), "required")
		}
		if len(x.Labels) == 0 {
			v.errorf(sub(xp, "labels"), "at least one label is required")
		}
		seen := map[string]int{}
		for j, l := range x.Labels {
			lp := joinIndex(sub(xp, "labels"), j)
			switch prev, dup := seen[l]; {
			case l == "":
				v.errorf(lp, "label is empty")
			case dup:
				v.errorf(lp, "duplicate label %q (first at index %d)", l, prev)
			}
			seen[l] = j
		}
		switch x.Type {
		case "":
			v.errorf(sub(xp, "type"), "required (local or llm)")
		case "llm":
			switch m := ext[x.Model]; {
			case x.Model == "":
				v.errorf(sub(xp, "model"), "required for type llm: the name of a global.model_catalog.external model")
			case m == nil:
				v.errorf(sub(xp, "model"), "model %q is not defined in global.model_catalog.external%s", x.Model, known(externalNames(v.cfg)))
			case m.ModelRole != ExternalRoleClassification:
				v.errorf(sub(xp, "model"), "external model %q has model_role %q; a classifier needs model_role %s", x.Model, m.ModelRole, ExternalRoleClassification)
			}
			if x.ModelPath != "" {
				v.warnf(sub(xp, "model_path"), "model_path applies to type local; it has no effect on a type llm classifier")
			}
		case "local":
			v.warnf(sub(xp, "model_path"), "classifier type local: model_path %q has no effect yet; the condition follows on_error", x.ModelPath)
			if x.Model != "" {
				v.warnf(sub(xp, "model"), "model applies to type llm; it has no effect on a type local classifier")
			}
		default:
			v.errorf(sub(xp, "type"), "unknown type %q (expected one of local, llm)", x.Type)
		}
	}
}

func externalNames(c *Config) []string {
	out := make([]string, 0, len(c.Global.ModelCatalog.External))
	for _, m := range c.Global.ModelCatalog.External {
		out = append(out, m.Name)
	}
	return out
}

// validateExternalModels checks global.model_catalog.external. Models that
// no `type: llm` classifier uses have no effect.
func (v *validator) validateExternalModels() {
	used := map[string]bool{}
	mark := func(r *Routing) {
		for _, c := range r.Signals.Classifiers {
			if c.Type == "llm" {
				used[c.Model] = true
			}
		}
	}
	mark(&v.cfg.Routing)
	for i := range v.cfg.Recipes {
		mark(&v.cfg.Recipes[i].Routing)
	}
	seen := map[string]string{}
	for i, m := range v.cfg.Global.ModelCatalog.External {
		mp := joinIndex("global.model_catalog.external", i)
		switch {
		case m.Name == "":
			v.errorf(sub(mp, "name"), "required")
		case seen[m.Name] != "":
			v.errorf(sub(mp, "name"), "duplicate external model %q (first at %s)", m.Name, seen[m.Name])
		}
		seen[m.Name] = mp
		if !used[m.Name] {
			v.warnf(mp, "external model %q (model_role %q) is not used by any type llm classifier; semrouter does not call it, it has no effect", m.Name, m.ModelRole)
			continue
		}
		if m.LLMEndpoint == nil {
			v.errorf(sub(mp, "llm_endpoint"), "required: where the classifier calls the model")
		} else {
			ep := sub(mp, "llm_endpoint")
			if m.LLMEndpoint.Address == "" {
				v.errorf(sub(ep, "address"), "required")
			}
			if p := m.LLMEndpoint.Port; p < 0 || p > 65535 {
				v.errorf(sub(ep, "port"), "port must be between 1 and 65535, got %d", p)
			}
			v.checkOneOf(sub(ep, "protocol"), m.LLMEndpoint.Protocol, "http", "https")
			if t := m.LLMEndpoint.PromptTemplate; t != "" {
				if _, err := template.New("prompt_template").Parse(t); err != nil {
					v.errorf(sub(ep, "prompt_template"), "invalid Go template (use {{ .Prompt }} for the user's text): %v", err)
				}
			}
			if m.LLMEndpoint.UseChatTemplate {
				v.warnf(sub(ep, "use_chat_template"), "semrouter always calls /v1/chat/completions; use_chat_template has no effect")
			}
		}
		if m.LLMModelName == "" {
			v.errorf(sub(mp, "llm_model_name"), "required: the model name sent to the endpoint")
		}
		if m.LLMTimeoutSeconds < 0 {
			v.errorf(sub(mp, "llm_timeout_seconds"), "must not be negative, got %d", m.LLMTimeoutSeconds)
		}
		if m.MaxTokens < 0 {
			v.errorf(sub(mp, "max_tokens"), "must not be negative, got %d", m.MaxTokens)
		}
		if m.Temperature < 0 || m.Temperature > 2 {
			v.errorf(sub(mp, "temperature"), "temperature must be between 0 and 2, got %s", formatFloat(m.Temperature))
		}
		v.checkOneOf(sub(mp, "parser_type"), m.ParserType, "json")
		if m.Threshold != 0 {
			v.warnf(sub(mp, "threshold"), "classifier conditions compare label scores with their predicates; threshold has no effect")
		}
	}
}

// validateClassifierCondition checks the label, predicate and on_error of
// a `type: classifier` condition.
func (v *validator) validateClassifierCondition(p *profile, rp string, n *RuleNode) {
	if c := p.classifier(n.Name); c != nil && n.Label != "" && len(c.Labels) > 0 && !containsString(c.Labels, n.Label) {
		v.errorf(sub(rp, "label"), "label %q is not one of classifier %q labels%s", n.Label, n.Name, known(c.Labels))
	}
	v.checkOneOf(sub(rp, "on_error"), n.OnError, ClassifierOnErrors()...)
	if n.Predicate == nil {
		return
	}
	pp := sub(rp, "predicate")
	v.validatePredicate(pp, n.Predicate)
	for _, b := range []struct {
		key string
		val *float64
	}{{"gt", n.Predicate.GT}, {"gte", n.Predicate.GTE}, {"lt", n.Predicate.LT}, {"lte", n.Predicate.LTE}} {
		if b.val != nil && (*b.val < 0 || *b.val > 1) {
			v.errorf(sub(pp, b.key), "a classifier label score is in [0,1]; %s %s is outside it", b.key, formatFloat(*b.val))
		}
	}
	if n.Label == "" {
		v.errorf(sub(rp, "label"), "a predicate compares one label's score: set label")
	}
}
