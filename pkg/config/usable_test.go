package config

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestDocumentRequirements covers what a document must hold to be a
// router configuration at all, and how unreadable YAML is reported: each
// case lists the exact "path:line: message" errors Parse must return.
func TestDocumentRequirements(t *testing.T) {
	const models = "providers:\n  models:\n    - name: m1\n      backend_refs: [{name: b, endpoint: \"127.0.0.1:8000\"}]\n"
	const emptyMsg = ":1: the document is empty; a config needs at least version: v0.3, providers.models and routing.decisions (or providers.defaults.default_model)"
	const noModel = "providers.models:1: at least one model is required: without one the router has nowhere to send requests"
	const noRoute = "routing.decisions:1: at least one decision (routing.decisions) or a default model (providers.defaults.default_model) is required: without either no request can be routed"
	tests := []struct {
		name string
		doc  string
		want []string // nil: the document is valid
	}{
		{name: "empty file", doc: "", want: []string{emptyMsg}},
		{name: "whitespace only", doc: "  \n\n\t\n", want: []string{emptyMsg}},
		{name: "comments only", doc: "# nothing yet\n", want: []string{emptyMsg}},
		{name: "explicit null", doc: "~\n", want: []string{emptyMsg}},
		{name: "version only", doc: "version: v0.3\n", want: []string{noModel, noRoute}},
		{name: "no version", doc: models + "  defaults: {default_model: m1}\n",
			want: []string{"version:1: required: start the file with version: v0.3 (convert an older file with `semrouter config migrate`)"}},
		{name: "models without a decision or default", doc: "version: v0.3\n" + models,
			want: []string{"routing.decisions:1: at least one decision (routing.decisions) or a default model (providers.defaults.default_model) is required: without either no request can be routed"}},
		{name: "routing block without decisions names its line", doc: "version: v0.3\n" + models + "routing:\n  signals: {}\n",
			want: []string{"routing.decisions:6: at least one decision (routing.decisions) or a default model (providers.defaults.default_model) is required: without either no request can be routed"}},
		{name: "default model alone routes", doc: "version: v0.3\n" + models + "  defaults: {default_model: m1}\n"},
		{name: "a recipe decision routes", doc: "version: v0.3\n" + models +
			"recipes:\n  - name: r\n    routing:\n      decisions:\n        - name: d\n          modelRefs: [{model: m1}]\n"},
		{name: "listeners are optional", doc: "version: v0.3\n" + models +
			"routing:\n  decisions:\n    - name: d\n      modelRefs: [{model: m1}]\n"},
		{name: "syntax error keeps message and line", doc: "version: v0.3\nproviders:\n  models: [\n    - name: x\n",
			want: []string{":3: YAML syntax error: did not find expected node content"}},
		{name: "bad indentation", doc: "version: v0.3\nproviders:\n  models:\n - name: x\n   oops: 1\n  y: 2\n",
			want: []string{":3: YAML syntax error: did not find expected key"}},
		{name: "tab indentation", doc: "version: v0.3\nproviders:\n\tmodels: []\n",
			want: []string{":3: YAML syntax error: found character that cannot start any token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, probs, err := Parse([]byte(tt.doc), "doc.yaml")
			var got []string
			for _, p := range probs.Errors() {
				got = append(got, p.Path+":"+strconv.Itoa(p.Line)+": "+p.Message)
			}
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("errors:\n got  %q\n want %q", got, want)
			}
			if (err != nil) != (tt.want != nil) {
				t.Fatalf("err = %v, want error %v", err, tt.want != nil)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("error %v does not wrap ErrInvalid", err)
				}
				// the error text carries every problem, so a caller that
				// logs only the error loses nothing
				for _, p := range probs.Errors() {
					if !strings.Contains(err.Error(), p.Message) {
						t.Errorf("error %q lacks problem %q", err, p.Message)
					}
				}
			}
		})
	}
}

// TestLegacyWithoutVersionGetsHintNotVersion: a legacy file lacks version
// by nature; the migrate hint says what to do, "version required" and the
// router requirements would only add noise.
func TestLegacyWithoutVersionGetsHintNotVersion(t *testing.T) {
	doc := "providers:\n  models:\n    - name: m\n      endpoints: [{name: e, endpoint: \"127.0.0.1:8000\"}]\ndecisions: []\n"
	_, probs, err := Parse([]byte(doc), "old.yaml")
	if err == nil {
		t.Fatal("legacy file accepted")
	}
	if !hasProblem(probs, SeverityError, "", "semrouter config migrate --config old.yaml") {
		t.Errorf("no migration hint:\n%s", probs)
	}
	for _, p := range probs.Errors() {
		if p.Path == "version" || p.Path == "providers.models" || p.Path == "routing.decisions" {
			t.Errorf("unexpected problem next to the hint: %v", p)
		}
	}
}
