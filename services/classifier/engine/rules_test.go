package engine

import (
	"errors"
	"slices"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

func TestRuleTrees(t *testing.T) {
	kwA := leafRule(signal.Keyword, "kw_a")
	kwB := leafRule(signal.Keyword, "kw_b")
	kwC := leafRule(signal.Keyword, "kw_c")
	tests := []struct {
		name      string
		rules     Rule
		outcomes  []signal.Outcome
		wantMatch bool
		wantConf  float64
		wantConds []string
	}{
		{
			name:      "AND averages child confidences",
			rules:     and(kwA, kwB),
			outcomes:  []signal.Outcome{match(signal.Keyword, "kw_a", 0.6), match(signal.Keyword, "kw_b", 0.8)},
			wantMatch: true, wantConf: 0.7,
			wantConds: []string{"keyword:kw_a", "keyword:kw_b"},
		},
		{
			name:     "AND fails when one child misses",
			rules:    and(kwA, kwB),
			outcomes: []signal.Outcome{match(signal.Keyword, "kw_a", 0.6)},
		},
		{
			name:      "empty AND is a catch-all at confidence 0",
			rules:     and(),
			wantMatch: true, wantConf: 0,
			wantConds: []string{},
		},
		{
			name:      "omitted rules are a catch-all",
			rules:     Rule{},
			wantMatch: true, wantConf: 0,
			wantConds: []string{},
		},
		{
			name:      "OR takes the best child",
			rules:     or(kwA, kwB, kwC),
			outcomes:  []signal.Outcome{match(signal.Keyword, "kw_a", 0.4), match(signal.Keyword, "kw_c", 0.9)},
			wantMatch: true, wantConf: 0.9,
			wantConds: []string{"keyword:kw_c"},
		},
		{
			name:     "OR with no matching child fails",
			rules:    or(kwA, kwB),
			outcomes: []signal.Outcome{match(signal.Keyword, "kw_c", 0.9)},
		},
		{
			name:      "NOR via NOT(OR) matches when nothing fired",
			rules:     not(or(kwA, kwB)),
			outcomes:  []signal.Outcome{match(signal.Keyword, "kw_c", 0.9)},
			wantMatch: true, wantConf: 1,
			wantConds: []string{},
		},
		{
			name:     "NOR via NOT(OR) fails when one fired",
			rules:    not(or(kwA, kwB)),
			outcomes: []signal.Outcome{match(signal.Keyword, "kw_b", 0.3)},
		},
		{
			name:      "AND with nested NOT and OR",
			rules:     and(kwA, or(kwB, kwC), not(leafRule(signal.Jailbreak, "prompt_injection"))),
			outcomes:  []signal.Outcome{match(signal.Keyword, "kw_a", 0.5), match(signal.Keyword, "kw_c", 1)},
			wantMatch: true, wantConf: (0.5 + 1 + 1) / 3.0,
			wantConds: []string{"keyword:kw_a", "keyword:kw_c"},
		},
		{
			name:      "zero confidence counts as 1",
			rules:     kwA,
			outcomes:  []signal.Outcome{{Family: signal.Keyword, Matches: []signal.Match{{Name: "kw_a"}}}},
			wantMatch: true, wantConf: 1,
			wantConds: []string{"keyword:kw_a"},
		},
		{
			name:      "domain condition matches an mmlu category",
			rules:     leafRule(signal.Domain, "computer science"),
			outcomes:  []signal.Outcome{match(signal.Domain, "computer_security", 0.77)},
			wantMatch: true, wantConf: 0.77,
			wantConds: []string{"domain:computer science"},
		},
		{
			name:     "domain condition ignores other categories",
			rules:    leafRule(signal.Domain, "computer science"),
			outcomes: []signal.Outcome{match(signal.Domain, "law", 0.9)},
		},
		{
			name:      "classifier label with predicate on the raw score",
			rules:     Rule{Type: "classifier", Name: "safety", Label: "JAILBREAK", Predicate: &Predicate{GTE: ptr(0.5)}},
			outcomes:  []signal.Outcome{{Family: signal.Classifier, Scores: map[string]float64{"safety:JAILBREAK": 0.62}}},
			wantMatch: true, wantConf: 1,
			wantConds: []string{"classifier:safety:JAILBREAK"},
		},
		{
			name:     "classifier predicate below threshold",
			rules:    Rule{Type: "classifier", Name: "safety", Label: "JAILBREAK", Predicate: &Predicate{GTE: ptr(0.5)}},
			outcomes: []signal.Outcome{{Family: signal.Classifier, Scores: map[string]float64{"safety:JAILBREAK": 0.2}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := compileT(t, Spec{Routing: Routing{Decisions: []Decision{{Name: "d", Rules: tc.rules, ModelRefs: refs("m")}}}})
			res := evalT(t, e, Request{}, tc.outcomes...)
			if res.Matched != tc.wantMatch {
				t.Fatalf("matched = %v, want %v", res.Matched, tc.wantMatch)
			}
			if !tc.wantMatch {
				if res.Model != "default-model" {
					t.Fatalf("model = %q, want the default model", res.Model)
				}
				return
			}
			if !near(res.Confidence, tc.wantConf) {
				t.Fatalf("confidence = %v, want %v", res.Confidence, tc.wantConf)
			}
			if !slices.Equal(res.MatchedConditions, tc.wantConds) {
				t.Fatalf("matched conditions = %q, want %q", res.MatchedConditions, tc.wantConds)
			}
		})
	}
}

func TestOnErrorAndUnknown(t *testing.T) {
	jb := leafRule(signal.Jailbreak, "prompt_injection")
	kwA := leafRule(signal.Keyword, "kw_a")
	withOnError := func(r Rule, v string) Rule { r.OnError = v; return r }
	withOnUnknown := func(r Rule, v string) Rule { r.OnUnknown = v; return r }
	tests := []struct {
		name      string
		rules     Rule
		outcomes  []signal.Outcome
		wantMatch bool
		wantErr   error
	}{
		{"NOT of a failed family stays unknown (no match)", not(jb), []signal.Outcome{failed(signal.Jailbreak)}, false, nil},
		{"false AND unknown is false even with on_unknown match", withOnUnknown(and(kwA, jb), "match"), []signal.Outcome{failed(signal.Jailbreak)}, false, nil},
		{"true AND unknown is unknown (default no_match)", and(kwA, jb), []signal.Outcome{match(signal.Keyword, "kw_a", 1), failed(signal.Jailbreak)}, false, nil},
		{"true OR unknown is true", or(kwA, jb), []signal.Outcome{match(signal.Keyword, "kw_a", 1), failed(signal.Jailbreak)}, true, nil},
		{"root on_unknown match", withOnUnknown(not(jb), "match"), []signal.Outcome{failed(signal.Jailbreak)}, true, nil},
		{"root on_unknown fail_request", withOnUnknown(not(jb), "fail_request"), []signal.Outcome{failed(signal.Jailbreak)}, false, ErrDecisionUnresolved},
		{"leaf on_error match", and(kwA, withOnError(jb, "match")), []signal.Outcome{match(signal.Keyword, "kw_a", 1), failed(signal.Jailbreak)}, true, nil},
		{"leaf on_error no_match under NOT matches", not(withOnError(jb, "no_match")), []signal.Outcome{failed(signal.Jailbreak)}, true, nil},
		{"a match from a failed family still counts", jb, []signal.Outcome{{Family: signal.Jailbreak, Matches: []signal.Match{{Name: "prompt_injection", Confidence: 0.9}}, Err: errors.New("partial")}}, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := compileT(t, Spec{Routing: Routing{Decisions: []Decision{{Name: "d", Rules: tc.rules, ModelRefs: refs("m")}}}})
			var res Result
			err := e.Evaluate(signal.NewSet(tc.outcomes...), Request{}, &res)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if res.Matched != tc.wantMatch {
				t.Fatalf("matched = %v, want %v", res.Matched, tc.wantMatch)
			}
		})
	}
}

func TestDecisionRanking(t *testing.T) {
	kw := func(n string) Rule { return leafRule(signal.Keyword, n) }
	all := []signal.Outcome{{Family: signal.Keyword, Matches: []signal.Match{
		{Name: "kw_a", Confidence: 0.5}, {Name: "kw_b", Confidence: 0.9}, {Name: "kw_c", Confidence: 0.7},
	}}}
	tests := []struct {
		name      string
		strategy  string
		decisions []Decision
		want      string
	}{
		{"priority wins over confidence", "priority", []Decision{
			{Name: "low", Priority: 10, Rules: kw("kw_b")},
			{Name: "high", Priority: 100, Rules: kw("kw_a")},
		}, "high"},
		{"equal priority falls to confidence", "priority", []Decision{
			{Name: "a", Priority: 10, Rules: kw("kw_a")},
			{Name: "b", Priority: 10, Rules: kw("kw_b")},
		}, "b"},
		{"equal priority and confidence falls to name", "priority", []Decision{
			{Name: "zeta", Priority: 10, Rules: kw("kw_a")},
			{Name: "alpha", Priority: 10, Rules: kw("kw_a")},
		}, "alpha"},
		{"confidence strategy", "confidence", []Decision{
			{Name: "high-prio", Priority: 100, Rules: kw("kw_a")},
			{Name: "confident", Priority: 1, Rules: kw("kw_b")},
		}, "confident"},
		{"confidence tie falls to priority", "confidence", []Decision{
			{Name: "p1", Priority: 1, Rules: kw("kw_b")},
			{Name: "p2", Priority: 2, Rules: kw("kw_b")},
		}, "p2"},
		{"lower tier wins over priority and confidence", "confidence", []Decision{
			{Name: "tier2", Tier: 2, Priority: 500, Rules: kw("kw_b")},
			{Name: "tier1", Tier: 1, Priority: 1, Rules: kw("kw_a")},
		}, "tier1"},
		{"within a tier priority decides", "priority", []Decision{
			{Name: "t1-low", Tier: 1, Priority: 1, Rules: kw("kw_b")},
			{Name: "t1-high", Tier: 1, Priority: 9, Rules: kw("kw_a")},
			{Name: "t2", Tier: 2, Priority: 99, Rules: kw("kw_b")},
		}, "t1-high"},
		{"catch-all ranks after a real match", "priority", []Decision{
			{Name: "fallback", Priority: 1000, Rules: and()},
			{Name: "real", Priority: 1, Rules: kw("kw_a")},
		}, "real"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i := range tc.decisions {
				tc.decisions[i].ModelRefs = refs("m-" + tc.decisions[i].Name)
			}
			e := compileT(t, Spec{Routing: Routing{Strategy: tc.strategy, Decisions: tc.decisions}})
			res := evalT(t, e, Request{}, all...)
			if res.Decision != tc.want {
				t.Fatalf("decision = %q, want %q", res.Decision, tc.want)
			}
			if res.Model != "m-"+tc.want {
				t.Fatalf("model = %q, want m-%s", res.Model, tc.want)
			}
		})
	}
}
