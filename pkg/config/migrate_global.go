package config

// normaliseGlobal places the keys of a legacy or mixed global block.
func (m *migration) normaliseGlobal(dst, g obj) {
	for _, k := range sortedKeys(g) {
		v := copyAny(g[k])
		switch k {
		case "router", "services", "stores", "integrations", "model_catalog":
			mergeInto(ensureMap(dst, k), asMap(v))
		case "runtime":
			rt := asMap(v)
			for _, rk := range sortedKeys(asMap(rt["router"])) {
				m.placeOrWarn(dst, "global.runtime.router."+rk, rk, asMap(rt["router"])[rk])
			}
			delete(rt, "router")
			for _, rk := range sortedKeys(rt) {
				m.placeOrWarn(dst, "global.runtime."+rk, rk, rt[rk])
			}
		case "models":
			lm := asMap(v)
			if sem := asMap(asMap(lm["embeddings"])["semantic"]); sem != nil {
				m.placeGlobal(dst, "embedding_models", sem)
			}
			m.placeGlobal(dst, "system_models", lm["system"])
			m.placeGlobal(dst, "external_models", lm["external"])
		case "modules":
			for _, mk := range sortedKeys(asMap(v)) {
				m.placeOrWarn(dst, "global.modules."+mk, mk, asMap(v)[mk])
			}
		default:
			m.placeOrWarn(dst, "global."+k, k, v)
		}
	}
}

func (m *migration) placeOrWarn(dst obj, path, key string, v any) {
	if !m.placeGlobal(dst, key, v) {
		m.warnf(path, "dropped: no v0.3 equivalent")
	}
}

// mergeInto copies keys of src missing from dst, recursively.
func mergeInto(dst, src obj) {
	for k, v := range src {
		if d, s := asMap(dst[k]), asMap(v); d != nil && s != nil {
			mergeInto(d, s)
			continue
		}
		setIfMissing(dst, k, v)
	}
}

// placeGlobal puts one legacy runtime key where v0.3 keeps it. It reports
// false for keys that have no place.
func (m *migration) placeGlobal(g obj, key string, value any) bool {
	if isEmpty(value) {
		return true
	}
	router := func() obj { return ensureMap(g, "router") }
	services := func() obj { return ensureMap(g, "services") }
	stores := func() obj { return ensureMap(g, "stores") }
	integrations := func() obj { return ensureMap(g, "integrations") }
	catalog := func() obj { return ensureMap(g, "model_catalog") }
	modules := func() obj { return ensureMap(catalog(), "modules") }
	semantic := func() obj { return ensureMap(ensureMap(catalog(), "embeddings"), "semantic") }
	switch key {
	case "strategy", "auto_model_name", "auto_model_names", "include_config_models_in_list",
		"clear_route_cache", "model_selection", "config_source", "streamed_body", "skip_processing", "learning":
		setIfMissing(router(), key, value)
	case "streamed_body_mode":
		setIfMissing(ensureMap(router(), "streamed_body"), "enabled", value)
	case "max_streamed_body_bytes":
		setIfMissing(ensureMap(router(), "streamed_body"), "max_bytes", value)
	case "streamed_body_timeout_sec":
		setIfMissing(ensureMap(router(), "streamed_body"), "timeout_sec", value)
	case "response_api", "router_replay", "api", "authz", "ratelimit", "management_api", "startup_status":
		setIfMissing(services(), key, value)
	case "observability":
		setIfMissing(services(), key, m.observability(asMap(value)))
	case "semantic_cache", "response_cache":
		if key == "semantic_cache" {
			m.warnf(key, "renamed to global.stores.response_cache")
		}
		setIfMissing(stores(), "response_cache", value)
	case "memory", "vector_store":
		setIfMissing(stores(), key, value)
	case "tools", "looper":
		setIfMissing(integrations(), key, value)
	case "system_models":
		setIfMissing(catalog(), "system", value)
	case "external_models":
		setIfMissing(catalog(), "external", value)
	case "kbs":
		setIfMissing(catalog(), "kbs", value)
	case "embedding_models":
		mergeInto(semantic(), asMap(value))
	case "bert_model":
		b := asMap(value)
		setIfMissing(semantic(), "bert_model_path", b["model_id"])
		setIfMissing(semantic(), "use_cpu", b["use_cpu"])
		if t, ok := b["threshold"]; ok {
			setIfMissing(ensureMap(semantic(), "embedding_config"), "min_score_threshold", t)
		}
		m.warnf(key, "moved to global.model_catalog.embeddings.semantic")
	case "prompt_compression", "complexity", "modality_detector":
		setIfMissing(modules(), key, value)
	case "prompt_guard", "feedback_detector":
		mod := asMap(value)
		if mod != nil && mod["model_id"] != nil && mod["model_ref"] == nil {
			mod["model_ref"] = key
		}
		setIfMissing(modules(), key, mod)
	case "classifier":
		m.classifier(ensureMap(modules(), "classifier"), asMap(value))
	case "hallucination_mitigation":
		m.hallucination(ensureMap(modules(), "hallucination_mitigation"), asMap(value))
	default:
		return false
	}
	return true
}

func (m *migration) classifier(dst, c obj) {
	withRef := func(v any, ref string) any {
		mod := asMap(v)
		if mod != nil && mod["model_id"] != nil && mod["model_ref"] == nil {
			mod["model_ref"] = ref
		}
		return mod
	}
	for _, k := range sortedKeys(c) {
		switch k {
		case "category_model", "domain":
			setIfMissing(dst, "domain", withRef(c[k], "domain_classifier"))
		case "pii_model", "pii":
			setIfMissing(dst, "pii", withRef(c[k], "pii_classifier"))
		case "mcp_category_model", "mcp":
			setIfMissing(dst, "mcp", c[k])
		case "preference_model", "preference":
			setIfMissing(dst, "preference", c[k])
		default:
			m.warnf("classifier."+k, "dropped: no v0.3 equivalent")
		}
	}
}

func (m *migration) hallucination(dst, h obj) {
	withRef := func(v any, ref string) any {
		mod := asMap(v)
		if mod != nil && mod["model_id"] != nil && mod["model_ref"] == nil {
			mod["model_ref"] = ref
		}
		return mod
	}
	for _, k := range sortedKeys(h) {
		switch k {
		case "fact_check_model", "fact_check":
			setIfMissing(dst, "fact_check", withRef(h[k], "fact_check_classifier"))
		case "hallucination_model", "detector":
			setIfMissing(dst, "detector", withRef(h[k], "hallucination_detector"))
		case "nli_model", "explainer":
			setIfMissing(dst, "explainer", withRef(h[k], "hallucination_explainer"))
		case "enabled", "on_hallucination_detected":
			setIfMissing(dst, k, h[k])
		default:
			m.warnf("hallucination_mitigation."+k, "dropped: no v0.3 equivalent")
		}
	}
}

// observability renames legacy tracing keys.
func (m *migration) observability(o obj) obj {
	tr := asMap(o["tracing"])
	if s := asMap(tr["sampling"]); s != nil {
		if p, ok := s["probability"]; ok {
			setIfMissing(s, "rate", p)
			delete(s, "probability")
			m.warnf("observability.tracing.sampling.probability", "renamed to rate")
		}
	}
	if r := asMap(tr["resource"]); r != nil {
		if e, ok := r["environment"]; ok {
			setIfMissing(r, "deployment_environment", e)
			delete(r, "environment")
			m.warnf("observability.tracing.resource.environment", "renamed to deployment_environment")
		}
	}
	return o
}
