package engine

import (
	"errors"
	"math"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

func ptr(v float64) *float64 { return &v }

func leafRule(f signal.Family, name string) Rule { return Rule{Type: string(f), Name: name} }

func and(c ...Rule) Rule { return Rule{Operator: "AND", Conditions: c} }
func or(c ...Rule) Rule  { return Rule{Operator: "OR", Conditions: c} }
func not(c Rule) Rule    { return Rule{Operator: "NOT", Conditions: []Rule{c}} }

func match(f signal.Family, name string, conf float64) signal.Outcome {
	return signal.Outcome{Family: f, Matches: []signal.Match{{Name: name, Confidence: conf, Value: conf}}}
}

func failed(f signal.Family) signal.Outcome {
	return signal.Outcome{Family: f, Err: errors.New("model timeout")}
}

func refs(models ...string) []ModelRef {
	out := make([]ModelRef, len(models))
	for i, m := range models {
		out[i] = ModelRef{Model: m}
	}
	return out
}

// testSignals declares every signal the tests use.
var testSignals = []SignalDecl{
	{Family: signal.Keyword, Name: "kw_a"},
	{Family: signal.Keyword, Name: "kw_b"},
	{Family: signal.Keyword, Name: "kw_c"},
	{Family: signal.Keyword, Name: "urgent"},
	{Family: signal.Embedding, Name: "tech"},
	{Family: signal.Embedding, Name: "account"},
	{Family: signal.Embedding, Name: "billing"},
	{Family: signal.Domain, Name: "computer science", MMLUCategories: []string{"computer science", "computer_security"}},
	{Family: signal.Domain, Name: "law", MMLUCategories: []string{"law"}},
	{Family: signal.Domain, Name: "other"},
	{Family: signal.Jailbreak, Name: "prompt_injection"},
	{Family: signal.Complexity, Name: "needs_reasoning"},
	{Family: signal.Context, Name: "long_context"},
	{Family: signal.Classifier, Name: "safety"},
	{Family: signal.Metadata, Name: "canary"},
}

func compileT(t testing.TB, spec Spec) *Engine {
	t.Helper()
	if spec.Routing.Signals == nil {
		spec.Routing.Signals = testSignals
	}
	if spec.DefaultModel == "" {
		spec.DefaultModel = "default-model"
	}
	e, err := Compile(spec, Options{})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return e
}

func evalT(t testing.TB, e *Engine, req Request, outcomes ...signal.Outcome) Result {
	t.Helper()
	var res Result
	if err := e.Evaluate(signal.NewSet(outcomes...), req, &res); err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	return res
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
