package config

import "testing"

// TestResponsePluginValidation: response_jailbreak and router_replay run,
// so they carry no "does not run it yet" warning, and their fields are
// checked with the plugin's YAML path and line.
func TestResponsePluginValidation(t *testing.T) {
	const cp = pluginConfigPath
	type want = wantProblem
	cases := []pluginCase{
		{"jailbreak reference is quiet", `{type: response_jailbreak, configuration: {enabled: true, threshold: 0.85, action: header}}`, nil},
		{"jailbreak block is quiet", `{type: response_jailbreak, configuration: {enabled: true, action: block}}`, nil},
		{"jailbreak threshold above 1", `{type: response_jailbreak, configuration: {enabled: true, threshold: 1.5}}`,
			[]want{{SeverityError, cp + ".threshold", "threshold must be between 0 and 1, got 1.5"}}},
		{"jailbreak negative threshold", `{type: response_jailbreak, configuration: {enabled: true, threshold: -0.1}}`,
			[]want{{SeverityError, cp + ".threshold", "between 0 and 1"}}},
		{"jailbreak unknown action", `{type: response_jailbreak, configuration: {enabled: true, action: redact}}`,
			[]want{{SeverityError, cp + ".action", `unknown action "redact" (expected one of header, block)`}}},
		{"jailbreak unknown field", `{type: response_jailbreak, configuration: {enabled: true, mode: block}}`,
			[]want{{SeverityError, cp + ".mode", "unknown field"}}},
		{"replay reference is quiet", `{type: router_replay, configuration: {enabled: true, max_records: 10000, capture_request_body: true, capture_response_body: true, max_body_bytes: 4096, max_tool_trace_bytes: 0, max_tool_trace_steps: 64}}`, nil},
		{"replay negatives", `{type: router_replay, configuration: {enabled: true, max_records: -1, capture_request_body: true, max_body_bytes: -2, max_tool_trace_bytes: -3, max_tool_trace_steps: -4}}`,
			[]want{{SeverityError, cp + ".max_records", "must not be negative, got -1"},
				{SeverityError, cp + ".max_body_bytes", "must not be negative, got -2"},
				{SeverityError, cp + ".max_tool_trace_bytes", "must not be negative, got -3"},
				{SeverityError, cp + ".max_tool_trace_steps", "must not be negative, got -4"}}},
		{"replay too many records", `{type: router_replay, configuration: {enabled: true, max_records: 100001}}`,
			[]want{{SeverityError, cp + ".max_records", "must be at most 100000"}}},
		{"replay body cap without capture", `{type: router_replay, configuration: {enabled: true, max_body_bytes: 100}}`,
			[]want{{SeverityWarning, cp + ".max_body_bytes", "neither capture_request_body nor capture_response_body"}}},
	}
	runPluginCases(t, "response-plugins", cases, nil)
}

func TestResponsePluginDefaults(t *testing.T) {
	j := &ResponseJailbreakPlugin{}
	if j.EffectiveThreshold() != DefaultResponseJailbreakThreshold || j.EffectiveAction() != ResponseJailbreakHeader {
		t.Fatalf("defaults: threshold %v action %q", j.EffectiveThreshold(), j.EffectiveAction())
	}
	j = &ResponseJailbreakPlugin{Threshold: 0.85, Action: "block"}
	if j.EffectiveThreshold() != 0.85 || j.EffectiveAction() != "block" {
		t.Fatalf("set: threshold %v action %q", j.EffectiveThreshold(), j.EffectiveAction())
	}
	r := &RouterReplayPlugin{}
	if r.EffectiveMaxRecords() != DefaultReplayMaxRecords || r.EffectiveMaxBodyBytes() != DefaultReplayMaxBodyBytes {
		t.Fatalf("replay defaults: %d %d", r.EffectiveMaxRecords(), r.EffectiveMaxBodyBytes())
	}
}
