package config

import (
	"sort"
	"strconv"
	"strings"
)

// Context compression targets and the modes the gateway runs for each.
const (
	CompressionTargetToolOutputs = "tool_outputs"
	CompressionTargetHistory     = "history"
	CompressionTargetRAG         = "rag"
	CompressionTargetMemory      = "memory"
)

// validateContextCompression checks a context_compression plugin
// configuration at cp. The gateway (package compress) runs mode auto:
// budgets are "auto" or positive token counts; tool_outputs mode
// extractive (default) or preserve; history mode preserve (default) or
// drop_oldest; rag and memory are left as they are. scoring method
// embedding and recovery are accepted and warned about: they have no
// effect.
func (v *validator) validateContextCompression(cp string, c *ContextCompressionPlugin) {
	v.checkKnown(sub(cp, "mode"), c.Mode, "auto")
	v.checkOneOf(sub(cp, "failure_mode"), c.FailureMode, "fail_open", "fail_closed")
	if b := c.Budget; b != nil {
		bp := sub(cp, "budget")
		trigger := v.checkBudget(sub(bp, "trigger_tokens"), b.TriggerTokens)
		target := v.checkBudget(sub(bp, "target_tokens"), b.TargetTokens)
		reserve := v.checkBudget(sub(bp, "reserve_output_tokens"), b.ReserveOutputTokens)
		if trigger > 0 && target > trigger {
			v.warnf(sub(bp, "target_tokens"), "target_tokens %d is above trigger_tokens %d; the trigger is used as the target", target, trigger)
		}
		if trigger > 0 && target > 0 && reserve > 0 {
			v.warnf(sub(bp, "reserve_output_tokens"), "only shapes auto budgets; with numeric trigger_tokens and target_tokens it has no effect")
		}
	}
	tp := sub(cp, "targets")
	names := make([]string, 0, len(c.Targets))
	for name := range c.Targets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t := c.Targets[name]
		p := sub(tp, name)
		if t.MinTokens < 0 {
			v.errorf(sub(p, "min_tokens"), "must not be negative, got %d", t.MinTokens)
		}
		if t.TargetTokens < 0 {
			v.errorf(sub(p, "target_tokens"), "must not be negative, got %d", t.TargetTokens)
		}
		switch name {
		case CompressionTargetToolOutputs:
			v.checkOneOf(sub(p, "mode"), t.Mode, "extractive", "preserve")
			if t.MinTokens > 0 && t.TargetTokens >= t.MinTokens {
				v.warnf(sub(p, "target_tokens"), "target_tokens %d is not below min_tokens %d: tool outputs of %d to %d tokens are kept whole",
					t.TargetTokens, t.MinTokens, t.MinTokens, t.TargetTokens)
			}
		case CompressionTargetHistory:
			v.checkOneOf(sub(p, "mode"), t.Mode, "preserve", "drop_oldest")
			v.noEffectTokens(p, t, "history turns are dropped whole")
		case CompressionTargetRAG, CompressionTargetMemory:
			if t.Mode != "" && t.Mode != "preserve" {
				v.warnf(sub(p, "mode"), "mode %q has no effect: semrouter leaves %s context as it is (preserve)", t.Mode, name)
			}
			v.noEffectTokens(p, t, name+" context is preserved")
		default:
			v.errorf(p, "unknown compression target %q (expected one of %s)", name,
				strings.Join([]string{CompressionTargetToolOutputs, CompressionTargetHistory, CompressionTargetRAG, CompressionTargetMemory}, ", "))
		}
	}
	if s := c.Scoring; s != nil {
		sp := sub(cp, "scoring")
		v.checkOneOf(sub(sp, "method"), s.Method, "bm25", "embedding")
		if s.Method == "embedding" {
			v.warnf(sub(sp, "method"), "scoring method embedding is not run: segments are scored with bm25 against the latest user turn")
		}
		if s.EmbeddingModelRef != "" {
			v.warnf(sub(sp, "embedding_model_ref"), "has no effect: segments are scored with bm25")
		}
	}
	if r := c.Recovery; r != nil && r.Enabled {
		v.warnf(sub(sub(cp, "recovery"), "enabled"), "recovery is not run: omitted text is dropped, not stored for later retrieval; it has no effect")
	}
	if rc := c.RequestControls; rc != nil {
		rp := sub(cp, "request_controls")
		for i, a := range rc.Allowed {
			v.checkOneOf(joinIndex(sub(rp, "allowed"), i), a, "bypass", "target")
			if a == "" {
				v.errorf(joinIndex(sub(rp, "allowed"), i), "empty control name")
			}
		}
		if rc.MaxTargetTokens < 0 {
			v.errorf(sub(rp, "max_target_tokens"), "must not be negative, got %d", rc.MaxTargetTokens)
		}
		if strings.ContainsAny(rc.Header, " \t:") {
			v.errorf(sub(rp, "header"), "invalid header name %q", rc.Header)
		}
	}
}

// checkBudget checks a budget value ("auto" or a positive token count)
// and returns the count (0 for auto or an invalid value).
func (v *validator) checkBudget(path, value string) int {
	s := strings.TrimSpace(value)
	if s == "" || s == "auto" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		v.errorf(path, "want auto or a positive token count, got %q", value)
		return 0
	}
	return n
}

func (v *validator) noEffectTokens(p string, t CompressionTarget, why string) {
	if t.MinTokens > 0 {
		v.warnf(sub(p, "min_tokens"), "has no effect: %s", why)
	}
	if t.TargetTokens > 0 {
		v.warnf(sub(p, "target_tokens"), "has no effect: %s", why)
	}
}
