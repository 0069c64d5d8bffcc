package heuristic

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

func TestKeywordLiteralOperators(t *testing.T) {
	rules := []KeywordRule{
		{Name: "or", Operator: "OR", Keywords: []string{"urgent", "asap"}},
		{Name: "and", Operator: "AND", Keywords: []string{"invoice", "refund"}},
		{Name: "nor", Operator: "NOR", Keywords: []string{"invoice", "refund"}},
		{Name: "cs", Operator: "OR", Keywords: []string{"SQL"}, CaseSensitive: true},
		{Name: "ci", Operator: "OR", Keywords: []string{"SQL"}},
		{Name: "cjk", Operator: "OR", Keywords: []string{"退款"}},
		{Name: "cpp", Operator: "OR", Keywords: []string{"C++"}},
		{Name: "phrase", Operator: "OR", Keywords: []string{"credit card"}},
	}
	e := mustCompile(t, Rules{Keywords: rules})
	cases := []struct {
		name string
		text string
		want []string
	}{
		{"or one keyword", "This is URGENT please", []string{"nor", "or"}},
		{"word boundary rejects substring", "the asaparagus is urgently needed", []string{"nor"}},
		{"and needs all", "about my invoice", []string{}},
		{"and all present", "refund the invoice", []string{"and"}},
		{"case sensitive matches exact case", "write SQL for me", []string{"ci", "cs", "nor"}},
		{"case sensitive rejects other case", "write sql for me", []string{"ci", "nor"}},
		{"cjk without boundary", "我想申请退款了", []string{"cjk", "nor"}},
		{"punctuation edge", "is C++ faster?", []string{"cpp", "nor"}},
		{"phrase", "my Credit Card was charged", []string{"nor", "phrase"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := matched(t, e, userTurn(tc.text), signal.Keyword)
			if got == nil {
				got = []string{}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("matched %v, want %v", got, tc.want)
			}
		})
	}
}

func TestKeywordConfidence(t *testing.T) {
	e := mustCompile(t, Rules{Keywords: []KeywordRule{
		{Name: "or", Operator: "OR", Keywords: []string{"a1", "b2", "c3", "d4"}},
		{Name: "nor", Operator: "NOR", Keywords: []string{"zz"}},
	}})
	req := userTurn("a1 and b2")
	m, ok := match(t, e, req, signal.Keyword, "or")
	if !ok || m.Confidence != 0.75 || m.Value != 2 {
		t.Fatalf("or: %+v %v, want confidence 0.75 value 2", m, ok)
	}
	m, ok = match(t, e, req, signal.Keyword, "nor")
	if !ok || m.Confidence != 0.5 {
		t.Fatalf("nor: %+v %v, want confidence 0.5", m, ok)
	}
}

func TestKeywordRegexMethod(t *testing.T) {
	e := mustCompile(t, Rules{Keywords: []KeywordRule{
		{Name: "ticket", Operator: "OR", Method: "regex", Keywords: []string{`\bJIRA-\d+\b`}},
		{Name: "ticket_cs", Operator: "OR", Method: "regex", Keywords: []string{`\bJIRA-\d+\b`}, CaseSensitive: true},
	}})
	if got := matched(t, e, userTurn("see jira-123"), signal.Keyword); !slices.Equal(got, []string{"ticket"}) {
		t.Fatalf("got %v", got)
	}
	if got := matched(t, e, userTurn("see JIRA-123"), signal.Keyword); !slices.Equal(got, []string{"ticket", "ticket_cs"}) {
		t.Fatalf("got %v", got)
	}
}

func TestKeywordMethods(t *testing.T) {
	ref := referenceRules()
	e := mustCompile(t, Rules{Keywords: ref.Keywords})
	cases := []struct {
		name string
		text string
		rule string
		want bool
	}{
		{"bm25 code", "Can you help me debug this function?", "code_keywords", true},
		{"bm25 inflected", "I am debugging functions all day", "code_keywords", true},
		{"bm25 unrelated", "What is the weather like in Paris?", "code_keywords", false},
		{"bm25 multiword keyword", "How does a neural network learn?", "machine_learning", true},
		{"bm25 partial phrase term", "my model keeps overfitting", "machine_learning", true},
		{"ngram typo", "this is urgnet, reply now", "urgent_keywords", true},
		{"ngram inflection", "I need an immediately available slot", "urgent_keywords", true},
		{"ngram unrelated", "tell me a story about dragons", "urgent_keywords", false},
		{"fuzzy typo", "my pasword leaked", "fuzzy_sensitive_keywords", true},
		{"fuzzy phrase typo", "is my credit cad safe", "fuzzy_sensitive_keywords", true},
		{"fuzzy below ratio", "renew my passport", "fuzzy_sensitive_keywords", false},
		{"fuzzy unrelated", "bake a chocolate cake", "fuzzy_sensitive_keywords", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, ok := match(t, e, userTurn(tc.text), signal.Keyword, tc.rule)
			if ok != tc.want {
				o := outcome(t, e.Evaluate(t.Context(), userTurn(tc.text)), signal.Keyword)
				t.Fatalf("%s matched=%v, want %v (scores %v)", tc.rule, ok, tc.want, o.Scores)
			}
		})
	}
}

func TestKeywordThresholds(t *testing.T) {
	text := "please debug the function"
	cases := []struct {
		name string
		rule KeywordRule
		want bool
	}{
		{"bm25 low threshold", KeywordRule{Name: "r", Method: "bm25", Keywords: []string{"debug", "compile"}, BM25Threshold: 0.1}, true},
		{"bm25 high threshold", KeywordRule{Name: "r", Method: "bm25", Keywords: []string{"debug", "compile"}, BM25Threshold: 5}, false},
		{"ngram exact at high threshold", KeywordRule{Name: "r", Method: "ngram", Keywords: []string{"debug"}, NgramThreshold: 0.99}, true},
		{"ngram typo at high threshold", KeywordRule{Name: "r", Method: "ngram", Keywords: []string{"debgu"}, NgramThreshold: 0.95}, false},
		{"ngram typo at default threshold", KeywordRule{Name: "r", Method: "ngram", Keywords: []string{"debgu"}}, true},
		{"ngram bigrams", KeywordRule{Name: "r", Method: "ngram", Keywords: []string{"functoin"}, NgramArity: 2}, true},
		{"fuzzy 100 needs exact", KeywordRule{Name: "r", Method: "fuzzy", Keywords: []string{"functio"}, FuzzyThreshold: 100}, false},
		{"fuzzy 80 allows one edit", KeywordRule{Name: "r", Method: "fuzzy", Keywords: []string{"functio"}, FuzzyThreshold: 80}, true},
		{"edit distance modifier", KeywordRule{Name: "r", Keywords: []string{"functoin"}, FuzzyMatch: true}, true},
		{"edit distance modifier off", KeywordRule{Name: "r", Keywords: []string{"functoin"}}, false},
		{"edit distance capped for short keywords", KeywordRule{Name: "r", Keywords: []string{"the"}, FuzzyMatch: true}, true},
		{"short keyword stays exact", KeywordRule{Name: "r", Keywords: []string{"thy"}, FuzzyMatch: true}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := mustCompile(t, Rules{Keywords: []KeywordRule{tc.rule}})
			o := outcome(t, e.Evaluate(t.Context(), userTurn(text)), signal.Keyword)
			if got := len(o.Matches) == 1; got != tc.want {
				t.Fatalf("matched=%v, want %v (matches %+v, scores %v)", got, tc.want, o.Matches, o.Scores)
			}
		})
	}
}

func TestKeywordCompileErrors(t *testing.T) {
	_, err := Compile(Rules{Keywords: []KeywordRule{
		{Name: "a", Operator: "XOR", Keywords: []string{"x"}},
		{Name: "a", Operator: "OR", Keywords: []string{"x"}, Method: "regex"},
		{Name: "c", Operator: "OR", Method: "semantic", Keywords: []string{"x"}},
		{Name: "d", Operator: "OR"},
		{Name: "e", Method: "fuzzy", Keywords: []string{"x"}, FuzzyThreshold: 120},
	}})
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		"keywords[0].operator", `unknown operator "XOR"`,
		"keywords[1].name", "duplicate rule name",
		"keywords[2].method", "keywords[3].keywords", "keywords[4].fuzzy_threshold",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	var re *RuleError
	if !errors.As(err, &re) || re.Path == "" {
		t.Fatalf("want *RuleError with a path, got %T", err)
	}
}

func TestRegexKeywordsRE2RejectsMatchLiterally(t *testing.T) {
	ev, err := Compile(Rules{Keywords: []KeywordRule{
		{Name: "paths", Operator: "OR", Method: "regex", Keywords: []string{`C:\Program Files\\`, "("}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]bool{
		`install it under C:\Program Files\\ please`: true,
		"a smiley :( here":                           true,
		"nothing to see":                             false,
	} {
		req := &Request{Messages: []Message{{Role: "user", Text: text}}}
		req.Prepare()
		var got bool
		for _, o := range ev.Evaluate(context.Background(), req) {
			if o.Family == signal.Keyword {
				got = len(o.Matches) == 1
			}
		}
		if got != want {
			t.Errorf("%q: matched=%v, want %v", text, got, want)
		}
	}
}

func TestBM25Score(t *testing.T) {
	ix := newBM25Index([]string{"code", "function", "debug"})
	words := appendWords(nil, "debug debug code")
	mark := ix.present("debug debug code", words, nil)
	// N=3, df=1: idf = ln(1 + 2.5/1.5); dl = avgdl = 1 so tf part = 1.
	want := math.Log(1 + 2.5/1.5)
	if got := ix.score(2, mark); math.Abs(got-want) > 1e-12 {
		t.Fatalf("score(debug) = %v, want %v", got, want)
	}
	if got := ix.score(1, mark); got != 0 {
		t.Fatalf("score(function) = %v, want 0", got)
	}
}

func TestStem(t *testing.T) {
	for in, want := range map[string]string{
		"debugging": "debug", "functions": "function", "classes": "class", "studies": "stud",
		"study": "stud", "trained": "train", "quickly": "quick", "bus": "bus", "class": "class", "code": "code",
	} {
		if got := stem(in); got != want {
			t.Errorf("stem(%q) = %q, want %q", in, got, want)
		}
	}
}
