package classifier_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/classifier/classifier"
	"github.com/semrouter/semrouter/services/classifier/engine"
	"github.com/semrouter/semrouter/services/classifier/signal"
)

// fakeJudge is a FAKE chat-completions endpoint (an LLM cannot run here)
// that always answers with content.
func fakeJudge(t *testing.T, content string, calls *atomic.Int32) (string, int) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": map[string]string{"role": "assistant", "content": content}}}})
	}))
	t.Cleanup(srv.Close)
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	p, _ := strconv.Atoi(port)
	return host, p
}

// closedPort returns a local port nothing listens on.
func closedPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return p
}

// llmDoc declares classifiers risk (llm) and jb (local) and one decision
// "d" with the given rules block.
func llmDoc(host string, port int, rules string) []byte {
	return fmt.Appendf(nil, `version: v0.3
listeners: [{name: http, port: 8899}]
providers:
  defaults: {default_model: m1}
  models:
    - {name: m1, backend_refs: [{name: b, endpoint: "127.0.0.1:8000"}]}
    - {name: m2, backend_refs: [{name: b, endpoint: "127.0.0.1:8000"}]}
routing:
  signals:
    keywords:
      - {name: kw, operator: OR, keywords: [zebra]}
    classifiers:
      - {name: risk, type: llm, model: judge, labels: [SAFE, RISKY], instructions: be strict}
      - {name: jb, type: local, model_path: models/none, labels: [SAFE, JAILBREAK]}
  decisions:
    - name: d
      rules:
%s
      modelRefs: [{model: m2}]
global:
  model_catalog:
    external:
      - name: judge
        model_role: classification
        llm_endpoint: {address: %q, port: %d, protocol: http}
        llm_model_name: j
        llm_timeout_seconds: 5
`, rules, host, port)
}

func compileLLM(t *testing.T, doc []byte) *classifier.Classifier {
	t.Helper()
	cfg, probs, err := config.Parse(doc, "llm.yaml")
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, probs)
	}
	c, err := classifier.Compile(context.Background(), cfg, nil)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return c
}

func cond(s string) string {
	return "        operator: AND\n        conditions:\n          - " + s
}

// TestClassifierConditions: the fake judge answers RISKY at 0.85, so SAFE
// scores 0.15.
func TestClassifierConditions(t *testing.T) {
	var calls atomic.Int32
	host, port := fakeJudge(t, `{"label": "RISKY", "confidence": 0.85}`, &calls)
	down := closedPort(t)
	tests := []struct {
		name    string
		rules   string
		down    bool
		match   bool
		wantErr bool
	}{
		{name: "gte below the score", rules: cond("{type: classifier, name: risk, label: RISKY, predicate: {gte: 0.8}}"), match: true},
		{name: "gte above the score", rules: cond("{type: classifier, name: risk, label: RISKY, predicate: {gte: 0.9}}")},
		{name: "gt at the score", rules: cond("{type: classifier, name: risk, label: RISKY, predicate: {gt: 0.85}}")},
		{name: "lte on the other label", rules: cond("{type: classifier, name: risk, label: SAFE, predicate: {lte: 0.2}}"), match: true},
		{name: "lt on the other label", rules: cond("{type: classifier, name: risk, label: SAFE, predicate: {lt: 0.15}}")},
		{name: "band", rules: cond("{type: classifier, name: risk, label: RISKY, predicate: {gte: 0.5, lt: 0.9}}"), match: true},
		{name: "chosen label without predicate", rules: cond("{type: classifier, name: risk, label: RISKY}"), match: true},
		{name: "other label without predicate", rules: cond("{type: classifier, name: risk, label: SAFE}")},
		{name: "no label: the classifier answered", rules: cond("{type: classifier, name: risk}"), match: true},
		{name: "down, on_error no_match", rules: cond("{type: classifier, name: risk, label: RISKY, on_error: no_match}"), down: true},
		{name: "down, on_error default is no_match", rules: cond("{type: classifier, name: risk, label: RISKY, predicate: {gte: 0.5}}"), down: true},
		{name: "down, on_error match", rules: cond("{type: classifier, name: risk, label: RISKY, predicate: {gte: 0.5}, on_error: match}"), down: true, match: true},
		{name: "down, NOT of no_match", rules: "        operator: NOT\n        conditions:\n          - {type: classifier, name: risk, label: RISKY, on_error: no_match}", down: true, match: true},
		{name: "down, on_error fail fails the request", rules: cond("{type: classifier, name: risk, label: RISKY, on_error: fail}"), down: true, wantErr: true},
		{name: "up, on_error fail decides normally", rules: cond("{type: classifier, name: risk, label: RISKY, on_error: fail}"), match: true},
		{name: "local classifier follows on_error", rules: cond("{type: classifier, name: jb, label: JAILBREAK, on_error: match}"), match: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := port
			if tc.down {
				p = down
			}
			c := compileLLM(t, llmDoc(host, p, tc.rules))
			res, err := c.Classify(context.Background(), user("delete everything"))
			if tc.wantErr {
				if !errors.Is(err, engine.ErrDecisionUnresolved) {
					t.Fatalf("err = %v, want ErrDecisionUnresolved", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Decision == "d"; got != tc.match {
				t.Errorf("decision %q, want match=%v (signals %+v)", res.Decision, tc.match, res.Signals)
			}
			if want := tc.down || strings.Contains(tc.rules, "name: jb"); res.DegradedFamily(signal.Classifier) != want {
				t.Errorf("classifier degraded = %v, want %v: %+v", !want, want, res.Degraded)
			}
		})
	}
}

// TestClassifierSkippedWhenUnreferenced: classifiers no decision names
// are never called.
func TestClassifierSkippedWhenUnreferenced(t *testing.T) {
	var calls atomic.Int32
	host, port := fakeJudge(t, `{"label": "RISKY", "confidence": 0.85}`, &calls)
	c := compileLLM(t, llmDoc(host, port, cond("{type: keyword, name: kw}")))
	res, err := c.Classify(context.Background(), user("a zebra"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Decision != "d" || calls.Load() != 0 || res.DegradedFamily(signal.Classifier) {
		t.Errorf("decision %q, %d calls, degraded %+v; want d, 0 calls, none", res.Decision, calls.Load(), res.Degraded)
	}
}

// BenchmarkClassifierDecision measures the classifier family's share of a
// decision without the HTTP call: recording an answer and evaluating a
// predicate condition over it.
func BenchmarkClassifierDecision(b *testing.B) {
	gte := 0.5
	eng, err := engine.Compile(engine.Spec{DefaultModel: "m1", Routing: engine.Routing{
		Signals: []engine.SignalDecl{{Family: signal.Classifier, Name: "risk"}},
		Decisions: []engine.Decision{{Name: "d", ModelRefs: []engine.ModelRef{{Model: "m2"}}, Rules: engine.Rule{Operator: "AND", Conditions: []engine.Rule{
			{Type: "classifier", Name: "risk", Label: "RISKY", Predicate: &engine.Predicate{GTE: &gte}, OnError: "no_match"},
		}}}},
	}}, engine.Options{})
	if err != nil {
		b.Fatal(err)
	}
	o := signal.Outcome{Family: signal.Classifier,
		Matches: []signal.Match{{Name: "risk:RISKY", Confidence: 0.85, Value: 0.85}, {Name: "risk", Confidence: 0.85, Value: 0.85}},
		Scores:  map[string]float64{"risk:SAFE": 0.15}}
	set := signal.NewSet(o)
	var res engine.Result
	b.ReportAllocs()
	for b.Loop() {
		if err := eng.Evaluate(set, engine.Request{}, &res); err != nil || res.Decision != "d" {
			b.Fatalf("decision %q err %v", res.Decision, err)
		}
	}
}
