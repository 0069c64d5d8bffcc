package config

// The hallucination plugin: the gateway checks an answer against the
// request's context (tool results, rag passages) and flags unsupported
// claims (see services/gateway-extproc/grounding).

// Hallucination plugin actions (hallucination_action,
// unverified_factual_action).
const (
	// HallucinationActionHeader flags the answer in x-vsr-hallucination-*
	// / x-vsr-unverified-factual-response headers (the default). A
	// streamed answer, whose headers are gone, gets an SSE comment event
	// before [DONE] instead.
	HallucinationActionHeader = "header"
	// HallucinationActionBody adds the headers and a short warning note to
	// the answer: appended to the assistant content of a JSON answer, or a
	// last content delta chunk before [DONE] of a streamed one.
	HallucinationActionBody = "body"
	// HallucinationActionAnnotate is body under the name the upstream
	// hallucination_mitigation block uses.
	HallucinationActionAnnotate = "annotate"
	// HallucinationActionBlock replaces a flagged JSON answer with a
	// refusal (finish_reason content_filter). A streamed answer cannot be
	// taken back: it falls back to header.
	HallucinationActionBlock = "block"
	// HallucinationActionNone checks and counts (metrics, replay) without
	// touching the response.
	HallucinationActionNone = "none"
)

// Hallucination returns the typed configuration when Type is
// hallucination.
func (p Plugin) Hallucination() *HallucinationPlugin {
	c, _ := p.Configuration.(*HallucinationPlugin)
	return c
}

// EffectiveHallucinationAction is HallucinationAction, or header when it
// is empty; annotate reads body.
func (h *HallucinationPlugin) EffectiveHallucinationAction() string {
	return effectiveHallucinationAction(h.HallucinationAction)
}

// EffectiveUnverifiedFactualAction is UnverifiedFactualAction, or header
// when it is empty; annotate reads body.
func (h *HallucinationPlugin) EffectiveUnverifiedFactualAction() string {
	return effectiveHallucinationAction(h.UnverifiedFactualAction)
}

func effectiveHallucinationAction(a string) string {
	switch a {
	case "":
		return HallucinationActionHeader
	case HallucinationActionAnnotate:
		return HallucinationActionBody
	}
	return a
}

// validateHallucination checks a hallucination configuration at cp.
func (v *validator) validateHallucination(cp string, c *HallucinationPlugin) {
	actions := []string{HallucinationActionHeader, HallucinationActionBody, HallucinationActionAnnotate,
		HallucinationActionBlock, HallucinationActionNone}
	v.checkOneOf(sub(cp, "hallucination_action"), c.HallucinationAction, actions...)
	v.checkOneOf(sub(cp, "unverified_factual_action"), c.UnverifiedFactualAction, actions...)
	if c.IncludeHallucinationDetails && c.EffectiveHallucinationAction() == HallucinationActionNone &&
		c.EffectiveUnverifiedFactualAction() == HallucinationActionNone {
		v.warnf(sub(cp, "include_hallucination_details"), "has no effect: both actions are none")
	}
}
