package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
)

// ReasoningEfforts are the reasoning effort levels semrouter knows.
func ReasoningEfforts() []string {
	return []string{"none", "minimal", "low", "medium", "high", "xhigh"}
}

func (v *validator) validateProviders() {
	pr := &v.cfg.Providers
	fams := pr.Defaults.ReasoningFamilies
	for _, name := range keys(fams) {
		f := fams[name]
		p := joinKey("providers.defaults.reasoning_families", name)
		if f.Type == "" {
			v.errorf(sub(p, "type"), "required (chat_template_kwargs, reasoning_effort or top_level_reasoning_effort)")
		}
		v.checkOneOf(sub(p, "type"), f.Type, "chat_template_kwargs", "reasoning_effort", "top_level_reasoning_effort")
		if f.Parameter == "" {
			v.errorf(sub(p, "parameter"), "required")
		}
	}
	v.checkKnown("providers.defaults.default_reasoning_effort", pr.Defaults.DefaultReasoningEffort, ReasoningEfforts()...)

	first := map[string]string{}
	for i := range pr.Models {
		m := &pr.Models[i]
		p := joinIndex("providers.models", i)
		if m.Name == "" {
			v.errorf(sub(p, "name"), "required")
		} else if f, dup := first[m.Name]; dup {
			v.errorf(sub(p, "name"), "duplicate model name %q (first at %s)", m.Name, f)
		} else {
			first[m.Name] = p
			v.models[m.Name] = true
		}
		if m.ReasoningFamily != "" {
			if _, ok := fams[m.ReasoningFamily]; !ok {
				v.errorf(sub(p, "reasoning_family"), "reasoning family %q is not declared in providers.defaults.reasoning_families%s", m.ReasoningFamily, known(keys(fams)))
			}
		}
		v.checkKnown(sub(p, "api_format"), m.APIFormat, "openai", "anthropic")
		v.validatePricing(sub(p, "pricing"), m.Pricing)
		v.validateReliability(sub(p, "reliability"), m.Reliability)
		if len(m.BackendRefs) == 0 {
			v.warnf(p, "model %q has no backend_refs; requests routed to it cannot be served", m.Name)
		}
		refs := map[string]string{}
		for j := range m.BackendRefs {
			v.validateBackendRef(joinIndex(sub(p, "backend_refs"), j), &m.BackendRefs[j], refs)
		}
	}
	if pr.Defaults.DefaultModel == "" && len(pr.Models) > 0 {
		v.warnf("providers.defaults", "no default_model: requests that match no decision cannot be routed")
	}
	if dm := pr.Defaults.DefaultModel; dm != "" && !v.models[dm] {
		v.errorf("providers.defaults.default_model", "default model %q is not defined in providers.models%s", dm, known(keys(first)))
	}
}

func (v *validator) validatePricing(p string, pr *Pricing) {
	if pr == nil {
		return
	}
	v.checkNonNegative(sub(p, "prompt_per_1m"), pr.PromptPer1M)
	v.checkNonNegative(sub(p, "cached_input_per_1m"), pr.CachedInputPer1M)
	v.checkNonNegative(sub(p, "cache_write_per_1m"), pr.CacheWritePer1M)
	v.checkNonNegative(sub(p, "completion_per_1m"), pr.CompletionPer1M)
	v.validateCurrency(sub(p, "currency"), pr.Currency) // validate_pricing.go
}

func (v *validator) validateReliability(p string, r *Reliability) {
	if r == nil {
		return
	}
	v.checkKnown(sub(p, "lb_policy"), r.LBPolicy, "round_robin", "least_request", "random", "ring_hash", "maglev")
	if r.RetryCount < 0 {
		v.errorf(sub(p, "retry_count"), "must not be negative")
	}
	if r.MaxEjectionPercent < 0 || r.MaxEjectionPercent > 100 {
		v.errorf(sub(p, "max_ejection_percent"), "must be between 0 and 100, got %d", r.MaxEjectionPercent)
	}
}

func (v *validator) validateBackendRef(p string, b *BackendRef, seen map[string]string) {
	if b.Name == "" {
		v.errorf(sub(p, "name"), "required")
	} else if f, dup := seen[b.Name]; dup {
		v.errorf(sub(p, "name"), "duplicate backend name %q (first at %s)", b.Name, f)
	} else {
		seen[b.Name] = p
	}
	switch {
	case b.Endpoint == "" && b.BaseURL == "":
		v.errorf(p, "set endpoint (host:port) or base_url")
	case b.Endpoint != "":
		if _, port, err := net.SplitHostPort(b.Endpoint); err != nil {
			v.errorf(sub(p, "endpoint"), "endpoint %q must be host:port", b.Endpoint)
		} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			v.errorf(sub(p, "endpoint"), "endpoint %q has an invalid port", b.Endpoint)
		}
	}
	if b.BaseURL != "" {
		u, err := url.Parse(b.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.errorf(sub(p, "base_url"), "base_url %q must be an absolute http(s) URL", b.BaseURL)
		}
	}
	v.checkOneOf(sub(p, "protocol"), b.Protocol, "http", "https")
	if b.Weight < 0 {
		v.errorf(sub(p, "weight"), "must not be negative")
	}
	if b.APIKey != "" && b.APIKeyEnv != "" {
		v.errorf(p, "set only one of api_key and api_key_env")
	}
}

func (v *validator) validateGlobal() {
	g := &v.cfg.Global
	v.checkOneOf("global.router.strategy", g.Router.Strategy, "priority", "confidence")
	seen := map[string]int{}
	for i, n := range g.Router.AutoModelNames {
		p := joinIndex("global.router.auto_model_names", i)
		if n == "" {
			v.errorf(p, "empty model name")
		} else if _, dup := seen[n]; dup {
			v.errorf(p, "duplicate auto model name %q", n)
		} else if v.models[n] {
			v.errorf(p, "auto model name %q is also a provider model name", n)
		}
		seen[n] = i
	}
	if ms := g.Router.ModelSelection; ms != nil {
		v.checkKnown("global.router.model_selection.method", ms.Method, "static", "router_dc", "automix", "hybrid", "knn", "kmeans", "svm", "mlp", "prompt", "latency_aware", "multi_factor")
		v.validateRouterDC("global.router.model_selection.router_dc", ms.RouterDC)
	}
	v.validateMemoryStore()
	v.validateVectorStore() // validate_vector_store.go
	v.validateRouterReplayService()
	v.validateWindowedMetrics()
	v.validateLearning()
	v.validateStreamedBody()
	v.validateResponseAPI()
	v.validateAPIService()
	v.validateRateLimit()
	if g.Stores.SemanticCache != nil {
		if g.Stores.ResponseCache != nil {
			v.errorf("global.stores.semantic_cache", "set only global.stores.response_cache (semantic_cache is its legacy name)")
		} else {
			v.warnf("global.stores.semantic_cache", "legacy name; use global.stores.response_cache")
		}
	}
	for name, rc := range map[string]*ResponseCacheStore{"response_cache": g.Stores.ResponseCache, "semantic_cache": g.Stores.SemanticCache} {
		if rc == nil {
			continue
		}
		p := sub("global.stores", name)
		v.checkOneOf(sub(p, "backend_type"), rc.BackendType, "memory", "jetstream", "redis", "valkey", "milvus", "qdrant", "hybrid")
		v.checkUnitPtr(sub(p, "similarity_threshold"), rc.SimilarityThreshold)
		v.checkOneOf(sub(p, "eviction_policy"), rc.EvictionPolicy, "fifo", "lru", "lfu")
		if rc.MaxEntries < 0 {
			v.errorf(sub(p, "max_entries"), "must not be negative")
		}
		if rc.TTLSeconds < 0 {
			v.errorf(sub(p, "ttl_seconds"), "must not be negative")
		}
		if rc.IsEnabled() {
			switch rc.BackendType {
			case "milvus":
				if rc.Milvus == nil {
					v.errorf(p, "backend_type milvus needs a milvus block")
				}
			case "redis":
				if rc.Redis == nil {
					v.errorf(p, "backend_type redis needs a redis block")
				}
			}
		}
	}
	if o := g.Services.Observability; o != nil && o.Tracing != nil && o.Tracing.Sampling != nil {
		s := o.Tracing.Sampling
		p := "global.services.observability.tracing.sampling"
		v.checkKnown(sub(p, "type"), s.Type, "always_on", "always_off", "probabilistic")
		v.checkUnit(sub(p, "rate"), s.Rate)
	}
	if a := g.Services.ManagementAPI; a != nil && a.Auth != nil {
		v.checkKnown("global.services.management_api.auth.mode", a.Auth.Mode, "disabled", "token")
		for i, t := range a.Auth.Tokens {
			if _, ok := a.Auth.Roles[t.Role]; !ok && len(a.Auth.Roles) > 0 {
				v.errorf(fmt.Sprintf("global.services.management_api.auth.tokens[%d].role", i), "role %q is not defined in auth.roles%s", t.Role, known(keys(a.Auth.Roles)))
			}
		}
	}
	v.validateCatalog()
	v.validateKBs()
}

func (v *validator) validateCatalog() {
	mc := &v.cfg.Global.ModelCatalog
	if e := mc.Embeddings; e != nil && e.Semantic != nil && e.Semantic.EmbeddingConfig != nil {
		ec := e.Semantic.EmbeddingConfig
		p := "global.model_catalog.embeddings.semantic.embedding_config"
		v.checkUnit(sub(p, "min_score_threshold"), ec.MinScoreThreshold)
		v.checkKnown(sub(p, "model_type"), ec.ModelType, "bert", "qwen3", "gemma", "mmbert", "multimodal", "use", "use-lite", "static", "glove")
		if ec.TargetDimension < 0 {
			v.errorf(sub(p, "target_dimension"), "must not be negative")
		}
	}
	if mc.Modules == nil {
		return
	}
	check := func(p string, m *ClassifierModel) {
		if m == nil {
			return
		}
		v.checkUnit(sub(p, "threshold"), m.Threshold)
		v.checkKnown(sub(p, "on_error"), m.OnError, "allow", "block")
		if m.ModelRef != "" && m.ModelID == "" {
			if _, ok := mc.System[m.ModelRef]; !ok {
				v.errorf(sub(p, "model_ref"), "model_ref %q is not in global.model_catalog.system and no model_id is set%s", m.ModelRef, known(keys(mc.System)))
			}
		}
	}
	p := "global.model_catalog.modules"
	check(sub(p, "prompt_guard"), mc.Modules.PromptGuard)
	check(sub(p, "feedback_detector"), mc.Modules.FeedbackDetector)
	if c := mc.Modules.Classifier; c != nil {
		check(sub(p, "classifier.domain"), c.Domain)
		check(sub(p, "classifier.pii"), c.PII)
	}
	if h := mc.Modules.HallucinationMitigation; h != nil {
		check(sub(p, "hallucination_mitigation.fact_check"), h.FactCheck)
		check(sub(p, "hallucination_mitigation.explainer"), h.Explainer)
	}
	if md := mc.Modules.ModalityDetector; md != nil {
		v.checkUnit(sub(p, "modality_detector.confidence_threshold"), md.ConfidenceThreshold)
		v.checkKnown(sub(p, "modality_detector.method"), md.Method, "keyword", "classifier", "hybrid")
	}
}
