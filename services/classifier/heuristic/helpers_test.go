package heuristic

import (
	"context"
	"sort"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

// userTurn builds a single-turn request.
func userTurn(text string) *Request {
	return (&Request{Messages: []Message{{Role: RoleUser, Text: text}}}).Prepare()
}

func mustCompile(t testing.TB, r Rules, opts ...Option) *Evaluator {
	t.Helper()
	e, err := Compile(r, opts...)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return e
}

// outcome returns the outcome of family f.
func outcome(t testing.TB, outs []signal.Outcome, f signal.Family) signal.Outcome {
	t.Helper()
	for _, o := range outs {
		if o.Family == f {
			return o
		}
	}
	t.Fatalf("no outcome for family %s in %+v", f, outs)
	return signal.Outcome{}
}

// matched lists the sorted names of the matches of one family.
func matched(t testing.TB, e *Evaluator, req *Request, f signal.Family) []string {
	t.Helper()
	o := outcome(t, e.Evaluate(context.Background(), req), f)
	if o.Err != nil {
		t.Fatalf("family %s: %v", f, o.Err)
	}
	var names []string
	for _, m := range o.Matches {
		names = append(names, m.Name)
	}
	sort.Strings(names)
	return names
}

func match(t testing.TB, e *Evaluator, req *Request, f signal.Family, name string) (signal.Match, bool) {
	t.Helper()
	o := outcome(t, e.Evaluate(context.Background(), req), f)
	for _, m := range o.Matches {
		if m.Name == name {
			return m, true
		}
	}
	return signal.Match{}, false
}
