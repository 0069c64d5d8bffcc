package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// apiProblem is one problem as the API writes it.
type apiProblem struct {
	Severity string `json:"severity"`
	Path     string `json:"path"`
	Line     int    `json:"line"`
	Message  string `json:"message"`
}

// TestUnusableDocumentsAreRefused: a PUT (or validate) of a document that
// is only a version line, or that is not YAML, is refused with problems
// that say why and where; nothing is published.
func TestUnusableDocumentsAreRefused(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		body string
		want []apiProblem // errors that must be present (line 0: any)
	}{
		{name: "version only", body: "version: v0.3", want: []apiProblem{
			{Path: "providers.models", Line: 1, Message: "at least one model is required"},
			{Path: "routing.decisions", Line: 1, Message: "at least one decision"},
		}},
		{name: "yaml syntax error", body: "version: v0.3\nproviders:\n  models: [\n", want: []apiProblem{
			{Line: 3, Message: "YAML syntax error: did not find expected node content"},
		}},
		{name: "tab indentation", body: "version: v0.3\nproviders:\n\tmodels: []\n", want: []apiProblem{
			{Line: 3, Message: "YAML syntax error: found character that cannot start any token"},
		}},
	}
	for _, tt := range tests {
		for _, call := range []struct{ method, path string }{{"PUT", "/config/router"}, {"POST", "/config/router/validate"}} {
			t.Run(tt.name+" "+call.method, func(t *testing.T) {
				got := f.do(t, req{method: call.method, path: call.path, token: "operator-token", body: tt.body, header: map[string]string{"If-Match": "*"}})
				var body struct {
					Valid    *bool        `json:"valid"`
					Problems []apiProblem `json:"problems"`
				}
				if err := json.Unmarshal(got.body, &body); err != nil {
					t.Fatalf("%v: %s", err, got.body)
				}
				wantCode := 400
				if call.method == "POST" {
					wantCode = 200
					if body.Valid == nil || *body.Valid {
						t.Errorf("valid must be false: %s", got.body)
					}
				}
				if got.code != wantCode {
					t.Fatalf("status %d: %s", got.code, got.body)
				}
				for _, w := range tt.want {
					found := false
					for _, p := range body.Problems {
						if p.Severity == "error" && p.Path == w.Path && p.Line == w.Line && strings.Contains(p.Message, w.Message) {
							found = true
						}
					}
					if !found {
						t.Errorf("no error %+v in %s", w, got.body)
					}
				}
			})
		}
	}
	if v, _ := f.store.Versions(context.Background()); len(v) != 1 {
		t.Fatalf("an unusable document was published: %d versions", len(v))
	}
}

// TestPutWithoutListenersWarns: removing every listener is allowed (Envoy
// mode needs none) but the answer warns that a router serving them would
// close its API port.
func TestPutWithoutListenersWarns(t *testing.T) {
	f := newFixture(t)
	doc := string(f.doc)
	i, j := strings.Index(doc, "listeners:"), strings.Index(doc, "providers:")
	got := f.do(t, req{method: "PUT", path: "/config/router", token: "operator-token", body: doc[:i] + doc[j:], header: map[string]string{"If-Match": `"1"`}})
	if got.code != 200 {
		t.Fatalf("status %d: %s", got.code, got.body)
	}
	var body struct {
		Changed  bool         `json:"changed"`
		Warnings []apiProblem `json:"warnings"`
	}
	if err := json.Unmarshal(got.body, &body); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range body.Warnings {
		if p.Path == "listeners" && strings.Contains(p.Message, "declares no listener but revision 1 serves api:8801") {
			found = true
		}
	}
	if !body.Changed || !found {
		t.Fatalf("want a published revision with the listener warning, got %s", got.body)
	}
}
