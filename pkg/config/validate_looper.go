package config

import "fmt"

// looperAlgorithm reports whether typ is an algorithm the gateway runs as
// several upstream calls (services/gateway-extproc/looper).
func looperAlgorithm(typ string) bool {
	return typ == "confidence" || typ == "automix" || typ == "fusion" || typ == "remom" || typ == "ratings"
}

const msgLooperNoEffect = "semrouter does not use %s; it has no effect"

// looperEffects warns, for the decisions of r running a looper algorithm,
// that it runs in API mode only, and about the sub-fields the gateway does
// not act on.
func (v *validator) looperEffects(path string, r *Routing) {
	for i, d := range r.Decisions {
		a := d.Algorithm
		if a == nil || !looperAlgorithm(a.Type) {
			continue
		}
		ap := sub(joinIndex(sub(path, "decisions"), i), "algorithm")
		v.warnf(sub(ap, "type"), "algorithm %q runs in API mode only (the gateway's OpenAI-compatible listeners make the upstream calls); "+
			"behind Envoy (ext_proc) the classifier's first modelRef serves the request", a.Type)
		switch a.Type {
		case "confidence":
			if c := a.Confidence; c != nil {
				v.confidenceEffects(sub(ap, "confidence"), c)
			}
		case "automix":
			if c := a.AutoMix; c != nil {
				p := sub(ap, "automix")
				if c.DiscountFactor != 0 {
					v.warnf(sub(p, "discount_factor"), msgLooperNoEffect, "discount_factor")
				}
				if !c.UseLogprobVerification && v.explicit(sub(p, "use_logprob_verification")) {
					v.warnf(sub(p, "use_logprob_verification"), "semrouter always verifies an answer by its token logprobs; false has no effect")
				}
			}
		case "fusion":
			if f := a.Fusion; f != nil {
				v.fusionEffects(sub(ap, "fusion"), f)
			}
		case "remom":
			if c := a.ReMoM; c != nil {
				v.remomEffects(sub(ap, "remom"), c)
			}
		case "ratings":
			if a.OnError == "fallback" && (a.Ratings == nil || a.Ratings.OnError == "") {
				v.warnf(sub(ap, "on_error"), "ratings has no fallback answer; failed models are left out as with on_error skip")
			}
		}
	}
}

func (v *validator) confidenceEffects(p string, c *ConfidenceAlgorithm) {
	switch c.ConfidenceMethod {
	case "", "logprob", "margin", "hybrid":
	default:
		v.warnf(sub(p, "confidence_method"), "unknown confidence_method %q (logprob, margin, hybrid); semrouter uses logprob", c.ConfidenceMethod)
	}
	if c.HybridWeights != nil && c.ConfidenceMethod != "hybrid" {
		v.warnf(sub(p, "hybrid_weights"), "hybrid_weights apply only to confidence_method hybrid; they have no effect")
	}
	switch c.EscalationOrder {
	case "", "small_to_large", "large_to_small":
	default:
		v.warnf(sub(p, "escalation_order"), "unknown escalation_order %q (small_to_large, large_to_small); semrouter uses small_to_large", c.EscalationOrder)
	}
	v.warnUnknownOnError(sub(p, "on_error"), c.OnError)
	if c.TokenFilter != "" {
		v.warnf(sub(p, "token_filter"), "semrouter scores every token of the answer; token_filter has no effect")
	}
	if c.VerifierServerURL != "" {
		v.warnf(sub(p, "verifier_server_url"), "semrouter scores answers from their logprobs and calls no verifier; verifier_server_url has no effect")
	}
	if c.VerifierTimeoutSeconds != 0 {
		v.warnf(sub(p, "verifier_timeout_seconds"), msgLooperNoEffect, "a verifier")
	}
	if c.CostQualityTradeoff != 0 {
		v.warnf(sub(p, "cost_quality_tradeoff"), "the confidence cascade follows escalation_order; cost_quality_tradeoff has no effect (automix uses it)")
	}
}

func (v *validator) fusionEffects(p string, f *FusionAlgorithm) {
	v.warnUnknownOnError(sub(p, "on_error"), f.OnError)
	for _, o := range []struct {
		name string
		set  bool
	}{{"include_analysis", f.IncludeAnalysis}, {"include_intermediate_responses", f.IncludeIntermediateResponses},
		{"judge_prompt_version", f.JudgePromptVersion != ""}} {
		if o.set {
			v.warnf(sub(p, o.name), "semrouter serves only the fusion model's answer; %s has no effect", o.name)
		}
	}
	if g := f.Grounding; g != nil && g.Enabled {
		v.warnf(sub(p, "grounding.enabled"), "semrouter does not score the panel's grounding; grounding has no effect")
	}
	if f.Model == "" {
		v.warnf(sub(p, "model"), "no fusion model: the last modelRef writes the final answer")
	}
}

func (v *validator) warnUnknownOnError(path, value string) {
	switch value {
	case "", "skip", "fallback", "fail":
		return
	}
	v.warnf(path, "%s", fmt.Sprintf("unknown on_error %q (skip, fallback, fail); semrouter uses the algorithm's on_error, else skip", value))
}

func (v *validator) remomEffects(p string, c *ReMoMAlgorithm) {
	v.warnUnknownOnError(sub(p, "on_error"), c.OnError)
	if c.ModelDistribution != "" && c.ModelDistribution != "round_robin" {
		v.warnf(sub(p, "model_distribution"), "semrouter assigns the models of a round round-robin; model_distribution %q has no effect", c.ModelDistribution)
	}
	switch c.CompactionStrategy {
	case "", "none", "last_n_tokens":
	default:
		v.warnf(sub(p, "compaction_strategy"), "unknown compaction_strategy %q (last_n_tokens, none); semrouter does not compact", c.CompactionStrategy)
	}
	if c.IncludeIntermediateResponses {
		v.warnf(sub(p, "include_intermediate_responses"), "semrouter serves only the synthesis model's answer; include_intermediate_responses has no effect")
	}
	for i, b := range c.BreadthSchedule {
		if b <= 0 {
			v.warnf(joinIndex(sub(p, "breadth_schedule"), i), "a round of %d calls is skipped", b)
		}
	}
}
