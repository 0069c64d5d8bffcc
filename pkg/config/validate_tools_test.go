package config

import "testing"

// TestToolsPluginValidation: the tools and tool_selection plugins run, so
// they do not carry the "does not run it yet" warning, and their fields
// are checked with the plugin's YAML path.
func TestToolsPluginValidation(t *testing.T) {
	const cp = pluginConfigPath
	type want = wantProblem
	cases := []pluginCase{
		{"tools filtered is quiet", `{type: tools, configuration: {enabled: true, mode: filtered, allow_tools: [a], block_tools: [b]}}`, nil},
		{"tools none with strip is quiet", `{type: tools, configuration: {enabled: true, mode: none, strip_tool_history: true}}`, nil},
		{"tools unknown mode", `{type: tools, configuration: {enabled: true, mode: some}}`,
			[]want{{SeverityError, cp + ".mode", `unknown mode "some" (expected one of passthrough, filtered, none)`}}},
		{"tools empty name", `{type: tools, configuration: {enabled: true, mode: filtered, allow_tools: [""]}}`,
			[]want{{SeverityError, cp + ".allow_tools[0]", "empty tool name"}}},
		{"tools lists outside filtered", `{type: tools, configuration: {enabled: true, mode: passthrough, block_tools: [x]}}`,
			[]want{{SeverityWarning, cp + ".mode", "only apply with mode filtered"}}},
		{"tools semantic outside filtered", `{type: tools, configuration: {enabled: true, semantic_selection: true}}`,
			[]want{{SeverityWarning, cp + ".semantic_selection", "passthrough (the default) ignores it"}}},
		{"tools allowed and blocked", `{type: tools, configuration: {enabled: true, mode: filtered, allow_tools: [x], block_tools: [x]}}`,
			[]want{{SeverityWarning, cp + ".allow_tools[0]", "block wins"}}},
		{"tools filtered without lists", `{type: tools, configuration: {enabled: true, mode: filtered}}`,
			[]want{{SeverityWarning, cp + ".mode", "keeps every tool"}}},
		{"selection filter is quiet", `{type: tool_selection, configuration: {enabled: true, mode: filter, relevance_threshold: 0.3, preserve_count: 2}}`, nil},
		{"selection add needs a database", `{type: tool_selection, configuration: {enabled: true, mode: add, top_k: 3}}`,
			[]want{{SeverityError, cp + ".tools_db_path", "required with mode add"}}},
		{"selection ranges", `{type: tool_selection, configuration: {enabled: true, mode: filter, relevance_threshold: 1.5, preserve_count: -1, top_k: -2}}`,
			[]want{{SeverityError, cp + ".relevance_threshold", "between 0 and 1"},
				{SeverityError, cp + ".preserve_count", "must not be negative"},
				{SeverityError, cp + ".top_k", "must not be negative"},
				{SeverityWarning, cp + ".top_k", "only applies with mode add"}}},
		{"selection unknown mode", `{type: tool_selection, configuration: {enabled: true, mode: replace}}`,
			[]want{{SeverityError, cp + ".mode", `unknown mode "replace"`}}},
		{"selection fields of the other mode", `{type: tool_selection, configuration: {enabled: true, mode: filter, tools_db_path: t.json, similarity_threshold: 0.2}}`,
			[]want{{SeverityWarning, cp + ".tools_db_path", "only applies with mode add"},
				{SeverityWarning, cp + ".similarity_threshold", "mode filter uses relevance_threshold"}}},
		{"advanced filtering", `{type: tool_selection, configuration: {enabled: true, mode: filter, advanced_filtering: {enabled: true, candidate_pool_size: -1, min_combined_score: 2, weights: {embed: -1, vibes: 1}, use_category_filter: true, hybrid_history: {history_horizon: 3}, retrieval_strategy: magic}}}`,
			[]want{{SeverityError, cp + ".advanced_filtering.candidate_pool_size", "must not be negative"},
				{SeverityError, cp + ".advanced_filtering.min_combined_score", "between 0 and 1"},
				{SeverityError, cp + ".advanced_filtering.weights.embed", "must not be negative"},
				{SeverityWarning, cp + ".advanced_filtering.weights.vibes", "unknown weight"},
				{SeverityWarning, cp + ".advanced_filtering.use_category_filter", "ignored"},
				{SeverityWarning, cp + ".advanced_filtering.hybrid_history", "ignored"},
				{SeverityWarning, cp + ".advanced_filtering.retrieval_strategy", `unrecognised retrieval_strategy "magic"`}}},
	}
	runPluginCases(t, "tools", cases, nil)
}
