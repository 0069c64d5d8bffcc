package engine

import (
	"fmt"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

// benchSpec builds n decisions of k keyword conditions each (AND of the
// first k-1, OR-ed with the last) over a catalog of n*k keyword rules.
func benchSpec(n, k int) (Spec, *signal.Set) {
	var decls []SignalDecl
	var matches []signal.Match
	var decisions []Decision
	for d := 0; d < n; d++ {
		var conds []Rule
		for c := 0; c < k; c++ {
			name := fmt.Sprintf("kw_%d_%d", d, c)
			decls = append(decls, SignalDecl{Family: signal.Keyword, Name: name})
			conds = append(conds, leafRule(signal.Keyword, name))
			if (d+c)%3 != 0 { // about two thirds of the rules fire
				matches = append(matches, signal.Match{Name: name, Confidence: 0.5 + float64(c)/10})
			}
		}
		rules := and(append(conds[:k-1:k-1], or(conds[k-1], not(leafRule(signal.Keyword, "kw_0_0"))))...)
		decisions = append(decisions, Decision{Name: fmt.Sprintf("d%03d", d), Priority: d % 7, Rules: rules, ModelRefs: refs("m")})
	}
	set := signal.NewSet(signal.Outcome{Family: signal.Keyword, Matches: matches})
	return Spec{DefaultModel: "default", Routing: Routing{Signals: decls, Decisions: decisions}}, set
}

func benchDecisions(b *testing.B, n, k int) {
	spec, set := benchSpec(n, k)
	e, err := Compile(spec, Options{})
	if err != nil {
		b.Fatal(err)
	}
	var res Result
	if err := e.Evaluate(set, Request{}, &res); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := e.Evaluate(set, Request{}, &res); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecisions10x3(b *testing.B)  { benchDecisions(b, 10, 3) }
func BenchmarkDecisions100x5(b *testing.B) { benchDecisions(b, 100, 5) }

// BenchmarkProjectionsAndDecisions evaluates the reference-config routing
// (partition, weighted_sum score, sigmoid-calibrated bands, 6 decisions).
func BenchmarkProjectionsAndDecisions(b *testing.B) {
	e, err := Compile(referenceSpec(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	set := signal.NewSet(hardSupportRequest()...)
	var res Result
	if err := e.Evaluate(set, Request{}, &res); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := e.Evaluate(set, Request{}, &res); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSetAndEvaluate includes building the signal.Set from family
// outcomes, as the service does per request.
func BenchmarkSetAndEvaluate(b *testing.B) {
	e, err := Compile(referenceSpec(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	outcomes := hardSupportRequest()
	var res Result
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Evaluate(signal.NewSet(outcomes...), Request{}, &res); err != nil {
			b.Fatal(err)
		}
	}
}
