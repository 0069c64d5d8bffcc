package config

import "testing"

// TestContextCompressionValidation: the context_compression plugin runs,
// so it carries no "does not run it yet" warning; its fields are checked
// with the plugin's YAML path and line.
func TestContextCompressionValidation(t *testing.T) {
	const cp = pluginConfigPath
	type want = wantProblem
	cases := []pluginCase{
		{"reference shape is quiet", `{enabled: true, mode: auto, budget: {trigger_tokens: auto, target_tokens: auto, reserve_output_tokens: auto}, ` +
			`targets: {tool_outputs: {mode: extractive, min_tokens: 2000, target_tokens: 1000}, history: {mode: preserve}, rag: {mode: preserve}, memory: {mode: preserve}}, ` +
			`scoring: {method: bm25, embedding_model_ref: ""}, recovery: {enabled: false, store: response_cache}, ` +
			`request_controls: {enabled: true, header: x-vsr-compression-control, allowed: [bypass, target], max_target_tokens: 16000}, failure_mode: fail_open}`, nil},
		{"numeric budgets are quiet", `{enabled: true, budget: {trigger_tokens: 8000, target_tokens: "6000"}, targets: {history: {mode: drop_oldest}}, failure_mode: fail_closed}`, nil},
		{"bad budgets", `{enabled: true, budget: {trigger_tokens: lots, target_tokens: -5, reserve_output_tokens: 0}}`,
			[]want{{SeverityError, cp + ".budget.trigger_tokens", `want auto or a positive token count, got "lots"`},
				{SeverityError, cp + ".budget.target_tokens", `got "-5"`},
				{SeverityError, cp + ".budget.reserve_output_tokens", `got "0"`}}},
		{"target above trigger", `{enabled: true, budget: {trigger_tokens: 1000, target_tokens: 2000}}`,
			[]want{{SeverityWarning, cp + ".budget.target_tokens", "the trigger is used as the target"}}},
		{"reserve with numeric budgets", `{enabled: true, budget: {trigger_tokens: 3000, target_tokens: 2000, reserve_output_tokens: 500}}`,
			[]want{{SeverityWarning, cp + ".budget.reserve_output_tokens", "only shapes auto budgets"}}},
		{"unknown modes", `{enabled: true, mode: turbo, failure_mode: explode, targets: {tool_outputs: {mode: abstractive}, history: {mode: summarize}}}`,
			[]want{{SeverityWarning, cp + ".mode", `unrecognised mode "turbo"`},
				{SeverityError, cp + ".failure_mode", `unknown failure_mode "explode" (expected one of fail_open, fail_closed)`},
				{SeverityError, cp + ".targets.tool_outputs.mode", `unknown mode "abstractive" (expected one of extractive, preserve)`},
				{SeverityError, cp + ".targets.history.mode", `unknown mode "summarize" (expected one of preserve, drop_oldest)`}}},
		{"unknown target and negative tokens", `{enabled: true, targets: {images: {mode: preserve}, tool_outputs: {min_tokens: -1, target_tokens: -2}}}`,
			[]want{{SeverityError, cp + ".targets.images", `unknown compression target "images"`},
				{SeverityError, cp + ".targets.tool_outputs.min_tokens", "must not be negative"},
				{SeverityError, cp + ".targets.tool_outputs.target_tokens", "must not be negative"}}},
		{"tool target not below min", `{enabled: true, targets: {tool_outputs: {min_tokens: 500, target_tokens: 800}}}`,
			[]want{{SeverityWarning, cp + ".targets.tool_outputs.target_tokens", "kept whole"}}},
		{"rag, memory and history settings without effect", `{enabled: true, targets: {rag: {mode: extractive, target_tokens: 10}, memory: {min_tokens: 5}, history: {mode: drop_oldest, target_tokens: 100}}}`,
			[]want{{SeverityWarning, cp + ".targets.rag.mode", `mode "extractive" has no effect`},
				{SeverityWarning, cp + ".targets.rag.target_tokens", "rag context is preserved"},
				{SeverityWarning, cp + ".targets.memory.min_tokens", "memory context is preserved"},
				{SeverityWarning, cp + ".targets.history.target_tokens", "history turns are dropped whole"}}},
		{"scoring and recovery", `{enabled: true, scoring: {method: cosine}, recovery: {enabled: true}}`,
			[]want{{SeverityError, cp + ".scoring.method", `unknown method "cosine" (expected one of bm25, embedding)`},
				{SeverityWarning, cp + ".recovery.enabled", "recovery is not run"}}},
		{"request controls", `{enabled: true, request_controls: {enabled: true, header: "bad header", allowed: [bypass, shrink], max_target_tokens: -1}}`,
			[]want{{SeverityError, cp + ".request_controls.allowed[1]", `unknown allowed "shrink" (expected one of bypass, target)`},
				{SeverityError, cp + ".request_controls.max_target_tokens", "must not be negative"},
				{SeverityError, cp + ".request_controls.header", `invalid header name "bad header"`}}},
	}
	runPluginCases(t, "compression", cases, func(c string) string { return "{type: context_compression, configuration: " + c + "}" })
}
