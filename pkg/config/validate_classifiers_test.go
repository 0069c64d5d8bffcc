package config

import (
	"strings"
	"testing"
)

// classifierDoc is invalidBase with a type llm classifier, the external
// model it calls, and a decision on one of its labels.
func classifierDoc(signal, condition, external string) string {
	doc := strings.Replace(invalidBase, "  signals:\n", "  signals:\n    classifiers:\n"+signal, 1)
	doc += "    - name: d2\n      rules:\n        operator: AND\n        conditions:\n" + condition + "      modelRefs:\n        - model: m2\n"
	return doc + "global:\n  model_catalog:\n    external:\n" + external
}

const (
	goodClassifier = "      - {name: risk, type: llm, model: ext, labels: [SAFE, RISKY], instructions: pick}\n"
	goodCondition  = "          - {type: classifier, name: risk, label: RISKY, predicate: {gte: 0.5}, on_error: no_match}\n"
	goodExternal   = "      - name: ext\n        model_role: classification\n        llm_endpoint: {address: 127.0.0.1, port: 8080, protocol: http, prompt_template: \"{{ .Prompt }}\"}\n" +
		"        llm_model_name: small\n        llm_timeout_seconds: 5\n        parser_type: json\n        max_tokens: 64\n"
)

func TestClassifierConfigValid(t *testing.T) {
	_, probs, err := Parse([]byte(classifierDoc(goodClassifier, goodCondition, goodExternal)), "good")
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, probs)
	}
	for _, p := range probs {
		if strings.Contains(p.Message, "not evaluated") || strings.Contains(p.Message, "never matches") {
			t.Errorf("classifiers are evaluated now, got %s", p)
		}
	}
	if len(probs) != 0 {
		t.Errorf("a complete llm classifier must not warn:\n%s", probs)
	}
}

func TestClassifierConfigErrors(t *testing.T) {
	tests := []struct {
		name                        string
		signal, condition, external string
		want                        []string // "path: message part"
	}{
		{
			name:   "empty labels",
			signal: "      - {name: risk, type: llm, model: ext, labels: []}\n", condition: "          - {type: classifier, name: risk}\n", external: goodExternal,
			want: []string{"routing.signals.classifiers[0].labels: at least one label is required"},
		},
		{
			name:   "model not in the catalog",
			signal: "      - {name: risk, type: llm, model: nope, labels: [SAFE, RISKY]}\n", condition: goodCondition, external: goodExternal,
			want: []string{`routing.signals.classifiers[0].model: model "nope" is not defined in global.model_catalog.external`},
		},
		{
			name:   "model without role classification",
			signal: goodClassifier, condition: goodCondition, external: strings.Replace(goodExternal, "classification", "guardrail", 1),
			want: []string{`routing.signals.classifiers[0].model: external model "ext" has model_role "guardrail"`},
		},
		{
			name:   "llm without model",
			signal: "      - {name: risk, type: llm, labels: [SAFE]}\n", condition: "          - {type: classifier, name: risk, label: SAFE}\n", external: goodExternal,
			want: []string{"routing.signals.classifiers[0].model: required for type llm"},
		},
		{
			name:   "predicate outside [0,1]",
			signal: goodClassifier, condition: "          - {type: classifier, name: risk, label: RISKY, predicate: {gt: 1.5}}\n", external: goodExternal,
			want: []string{"routing.decisions[1].rules.conditions[0].predicate.gt: a classifier label score is in [0,1]"},
		},
		{
			name:   "predicate without label",
			signal: goodClassifier, condition: "          - {type: classifier, name: risk, predicate: {gte: 0.2}}\n", external: goodExternal,
			want: []string{"routing.decisions[1].rules.conditions[0].label: a predicate compares one label's score"},
		},
		{
			name:   "unknown label and on_error",
			signal: goodClassifier, condition: "          - {type: classifier, name: risk, label: OTHER, on_error: retry}\n", external: goodExternal,
			want: []string{
				`routing.decisions[1].rules.conditions[0].label: label "OTHER" is not one of classifier "risk" labels`,
				`routing.decisions[1].rules.conditions[0].on_error: unknown on_error "retry" (expected one of no_match, match, fail)`,
			},
		},
		{
			name:   "endpoint fields",
			signal: goodClassifier, condition: goodCondition,
			external: "      - name: ext\n        model_role: classification\n        llm_endpoint: {port: 70000, protocol: ftp, prompt_template: \"{{ .Prompt \"}\n        parser_type: yaml\n        llm_timeout_seconds: -1\n",
			want: []string{
				"global.model_catalog.external[0].llm_endpoint.address: required",
				"global.model_catalog.external[0].llm_endpoint.port: port must be between 1 and 65535",
				`global.model_catalog.external[0].llm_endpoint.protocol: unknown protocol "ftp"`,
				"global.model_catalog.external[0].llm_endpoint.prompt_template: invalid Go template",
				"global.model_catalog.external[0].llm_model_name: required",
				"global.model_catalog.external[0].llm_timeout_seconds: must not be negative",
				`global.model_catalog.external[0].parser_type: unknown parser_type "yaml"`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, probs, err := Parse([]byte(classifierDoc(tc.signal, tc.condition, tc.external)), tc.name)
			if err == nil {
				t.Fatalf("Parse accepted the config:\n%s", probs)
			}
			for _, w := range tc.want {
				path, msg, _ := strings.Cut(w, ": ")
				if !hasProblem(probs, SeverityError, path, msg) {
					t.Errorf("missing error %q in:\n%s", w, probs)
				}
			}
			for _, p := range probs.Errors() {
				if p.Line == 0 {
					t.Errorf("error without a line: %s", p)
				}
			}
		})
	}
}

func TestClassifierConfigWarnings(t *testing.T) {
	local := "      - {name: risk, type: local, model_path: models/x, labels: [SAFE, RISKY]}\n"
	unused := goodExternal + "      - {name: guard, model_role: guardrail, llm_model_name: g}\n"
	_, probs, err := Parse([]byte(classifierDoc(local, goodCondition, unused)), "local")
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, probs)
	}
	for _, w := range []struct{ path, msg string }{
		{"routing.signals.classifiers[0].model_path", `classifier type local: model_path "models/x" has no effect yet; the condition follows on_error`},
		{"global.model_catalog.external[0]", `external model "ext" (model_role "classification") is not used by any type llm classifier`},
		{"global.model_catalog.external[1]", `external model "guard" (model_role "guardrail") is not used`},
	} {
		if !hasProblem(probs, SeverityWarning, w.path, w.msg) {
			t.Errorf("missing warning %s: %s in:\n%s", w.path, w.msg, probs)
		}
	}
}
