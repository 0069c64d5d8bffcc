package config

import (
	"strings"
	"testing"
)

// TestResponsePluginValidation: response_jailbreak and router_replay run,
// so they carry no "does not run it yet" warning, and their fields are
// checked with the plugin's YAML path and line.
func TestResponsePluginValidation(t *testing.T) {
	const cp = "routing.decisions[0].plugins[0].configuration"
	type want struct {
		sev  Severity
		path string
		msg  string
	}
	cases := []struct {
		name   string
		plugin string
		want   []want
	}{
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
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := invalidBase + "      plugins:\n        - " + tc.plugin + "\n"
			_, probs, _ := Parse([]byte(doc), "response-plugins")
			var mine Problems
			for _, p := range probs {
				if strings.HasPrefix(p.Path, "routing.decisions[0].plugins") {
					mine = append(mine, p)
				}
			}
			for _, w := range tc.want {
				if !hasProblem(mine, w.sev, w.path, w.msg) {
					t.Errorf("missing %v %s: %s\ngot:\n%s", w.sev, w.path, w.msg, mine)
				}
			}
			if len(mine) != len(tc.want) {
				t.Errorf("got %d problems, want %d:\n%s", len(mine), len(tc.want), mine)
			}
			for _, p := range mine {
				if p.Line == 0 {
					t.Errorf("problem without a line: %v", p)
				}
			}
		})
	}
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
