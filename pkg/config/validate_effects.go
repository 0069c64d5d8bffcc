package config

import "fmt"

// validateIgnoredValues warns about values semrouter accepts but does not
// honour although the field itself is used: switches that are always on,
// and options of which only some values are implemented. (Fields that have
// no effect at all carry an `sr:"unimplemented"` tag instead.)
func (v *validator) validateIgnoredValues() {
	c := v.cfg
	r := &c.Global.Router
	if r.ClearRouteCache != nil && !*r.ClearRouteCache {
		v.warnf("global.router.clear_route_cache", "semrouter always asks Envoy to clear the route cache after routing; false has no effect")
	}
	if o := c.Global.Services.Observability; o != nil && o.Metrics != nil && o.Metrics.Enabled != nil && !*o.Metrics.Enabled {
		v.warnf("global.services.observability.metrics.enabled", "semrouter always serves its metrics; false has no effect")
	}
	if e := c.Global.ModelCatalog.Embeddings; e != nil && e.Semantic != nil && e.Semantic.EmbeddingConfig != nil && !e.Semantic.EmbeddingConfig.PreloadEmbeddings {
		p := "global.model_catalog.embeddings.semantic.embedding_config.preload_embeddings"
		if v.explicit(p) {
			v.warnf(p, "semrouter always embeds the texts of the config when it loads it; false has no effect")
		}
	}
	if m := c.Global.ModelCatalog.Modules; m != nil {
		if m.Classifier != nil && m.Classifier.Domain != nil && m.Classifier.Domain.Enabled != nil && !*m.Classifier.Domain.Enabled {
			v.warnf("global.model_catalog.modules.classifier.domain.enabled", "domain signals are evaluated whenever routing.signals.domains is set; false has no effect")
		}
		if md := m.ModalityDetector; md != nil && md.Enabled != nil && !*md.Enabled {
			v.warnf("global.model_catalog.modules.modality_detector.enabled", "modality signals are evaluated whenever routing.signals.modality is set; false has no effect")
		}
	}
	if ms := r.ModelSelection; ms != nil && ms.Hybrid != nil {
		h, p := ms.Hybrid, PathHybridDefaults
		v.checkHybridBlock(p, h) // hybrid.go
		weightsUsed, blockUsed := c.globalHybridUsed(true), c.globalHybridUsed(false)
		for name, unused := range map[string]bool{
			"experience_weight": h.ExperienceWeight != 0 && !weightsUsed, "router_dc_weight": h.RouterDCWeight != 0 && !weightsUsed,
			"automix_weight": h.AutoMixWeight != 0 && !weightsUsed, "cost_weight": h.CostWeight != 0 && !weightsUsed,
			"normalize_scores": h.NormalizeScores && !blockUsed,
		} {
			if unused {
				v.warnf(sub(p, name), "has no effect: no decision with algorithm hybrid takes it from here; only quality_gap_threshold (used by knn) applies")
			}
		}
	}
	v.ignoredRoutingValues("routing", &c.Routing)
	for i := range c.Recipes {
		v.ignoredRoutingValues(fmt.Sprintf("recipes[%d].routing", i), &c.Recipes[i].Routing)
	}
}

// explicit reports whether path was written in the source document (for
// booleans whose zero value cannot be told apart from "unset").
func (v *validator) explicit(path string) bool {
	_, ok := v.cfg.lines[path]
	return ok
}

func (v *validator) ignoredRoutingValues(path string, r *Routing) {
	v.looperEffects(path, r) // validate_looper.go
	for i, e := range r.Signals.Embeddings {
		if e.QueryModality == "image" || e.QueryModality == "audio" {
			v.warnf(sub(joinIndex(sub(path, "signals.embeddings"), i), "query_modality"),
				"semrouter embeds the text of the request; query_modality %s has no effect", e.QueryModality)
		}
	}
	kinds := algorithmKinds()
	for i, d := range r.Decisions {
		if d.Algorithm == nil {
			continue
		}
		a := d.Algorithm
		if implemented := kinds[a.Type]; implemented && !looperAlgorithm(a.Type) && (a.OnError == "fail" || a.OnError == "skip") {
			v.warnf(sub(joinIndex(sub(path, "decisions"), i), "algorithm.on_error"),
				"semrouter falls back to the first modelRef when selection fails; on_error %s has no effect", a.OnError)
		}
	}
}
