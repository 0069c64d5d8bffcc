package heuristic

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

func TestTextUnits(t *testing.T) {
	cases := []struct {
		text string
		want int
	}{
		{"", 0},
		{"Write a table", 3},
		{"写一个表格", 5},
		{"用 JSON 写表格", 5},
		{"  ...!!! ", 0},
		{"it's 2024-01-02", 5},
		{"こんにちは世界", 7},
		{"안녕 하세요", 5},
		{"café déjà-vu", 3},
	}
	for _, tc := range cases {
		if got := TextUnits(tc.text); got != tc.want {
			t.Errorf("TextUnits(%q) = %d, want %d", tc.text, got, tc.want)
		}
	}
}

func TestStructureDensityAcrossScripts(t *testing.T) {
	// The same rule (keyword density > 0.08) must treat equivalent
	// English, Chinese and mixed prompts alike.
	rule := StructureRule{Name: "format_dense", FeatureType: "density", SourceType: "keyword_set",
		Keywords: []string{"table", "json", "表格", "JSON"}, Predicate: &Predicate{GT: Ptr(0.08)}}
	e := mustCompile(t, Rules{Structure: []StructureRule{rule}})
	cases := []struct {
		name      string
		text      string
		want      bool
		wantValue float64
	}{
		{"english dense", "Return a JSON table of the results", true, 2.0 / 7},
		{"chinese dense", "请用表格返回结果", true, 1.0 / 8},
		{"mixed dense", "请用 JSON 表格返回结果", true, 2.0 / 9},
		{"english sparse", "Could you please summarise the long history of the Roman empire, including its politics, wars, culture and the reasons it declined, and finish with a table", false, 1.0 / 26},
		{"chinese sparse", "请详细介绍罗马帝国的历史包括政治战争文化以及衰落的原因最后给一个表格", false, 1.0 / 34},
		{"no keyword", "hello there", false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := outcome(t, e.Evaluate(t.Context(), userTurn(tc.text)), signal.Structure)
			got := len(o.Matches) == 1
			v := o.Scores["format_dense"]
			if got {
				v = o.Matches[0].Value
			}
			if got != tc.want || math.Abs(v-tc.wantValue) > 1e-9 {
				t.Fatalf("matched=%v value=%v, want %v value %v (units %d)", got, v, tc.want, tc.wantValue, TextUnits(tc.text))
			}
		})
	}
}

func TestStructureReferenceRules(t *testing.T) {
	e := mustCompile(t, Rules{Structure: referenceRules().Structure})
	cases := []struct {
		name string
		text string
		want []string
	}{
		{"many questions", "Why? How? When? Where？", []string{"many_questions"}},
		{"one question", "What is Go?", []string{"at_most_one_question"}},
		{"numbered steps", "Do this:\n1. install\n2. run", []string{"at_most_one_question", "low_question_density", "numbered_steps"}},
		{"sequence in order", "First install it, then run the tests", []string{"at_most_one_question", "first_then_flow", "low_question_density"}},
		{"sequence out of order", "Then run it, first install", []string{"at_most_one_question", "low_question_density"}},
		{"chinese sequence", "首先安装，然后运行", []string{"at_most_one_question", "first_then_flow", "low_question_density"}},
		{"constraints dense", "Answer in at most 50 words, within one paragraph", []string{"at_most_one_question", "constraint_dense", "low_question_density"}},
		{"long turn", strings.Repeat("lorem ipsum ", 400), []string{"at_most_one_question", "long_current_turn_bytes", "low_question_density"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := matched(t, e, userTurn(tc.text), signal.Structure); !slices.Equal(got, tc.want) {
				t.Fatalf("matched %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStructurePredicateCombos(t *testing.T) {
	text := "a? b? c?"
	cases := []struct {
		name string
		pred *Predicate
		want bool
	}{
		{"none means positive", nil, true},
		{"gt", &Predicate{GT: Ptr(2)}, true},
		{"gt boundary", &Predicate{GT: Ptr(3)}, false},
		{"gte boundary", &Predicate{GTE: Ptr(3)}, true},
		{"lt", &Predicate{LT: Ptr(3)}, false},
		{"lte", &Predicate{LTE: Ptr(3)}, true},
		{"band inside", &Predicate{GT: Ptr(1), LTE: Ptr(3)}, true},
		{"band outside", &Predicate{GTE: Ptr(4), LT: Ptr(10)}, false},
		{"all four", &Predicate{GT: Ptr(0), GTE: Ptr(3), LT: Ptr(5), LTE: Ptr(3)}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := mustCompile(t, Rules{Structure: []StructureRule{{Name: "q", FeatureType: "count", SourceType: "regex", Pattern: `\?`, Predicate: tc.pred}}})
			o := outcome(t, e.Evaluate(t.Context(), userTurn(text)), signal.Structure)
			if got := len(o.Matches) == 1; got != tc.want {
				t.Fatalf("matched=%v, want %v", got, tc.want)
			}
		})
	}
}

func TestStructureConfidence(t *testing.T) {
	p := &Predicate{GTE: Ptr(2)}
	if c := predicateConfidence(p, 2); c != 0.5 {
		t.Fatalf("at bound: %v, want 0.5", c)
	}
	if c1, c2 := predicateConfidence(p, 3), predicateConfidence(p, 6); !(c1 > 0.5 && c2 > c1 && c2 < 1) {
		t.Fatalf("confidence should grow with margin: %v %v", c1, c2)
	}
	if c := predicateConfidence(nil, 1); c != 1 {
		t.Fatalf("no predicate: %v", c)
	}
}

func TestStructureCaseSensitivity(t *testing.T) {
	e := mustCompile(t, Rules{Structure: []StructureRule{
		{Name: "ci", FeatureType: "count", SourceType: "keyword_set", Keywords: []string{"TODO"}},
		{Name: "cs", FeatureType: "count", SourceType: "keyword_set", Keywords: []string{"TODO"}, CaseSensitive: true},
		{Name: "re_ci", FeatureType: "exists", SourceType: "regex", Pattern: `todo`},
		{Name: "re_cs", FeatureType: "exists", SourceType: "regex", Pattern: `todo`, CaseSensitive: true},
	}})
	if got := matched(t, e, userTurn("fix the todo list"), signal.Structure); !slices.Equal(got, []string{"ci", "re_ci", "re_cs"}) {
		t.Fatalf("lower: %v", got)
	}
	if got := matched(t, e, userTurn("fix the TODO list"), signal.Structure); !slices.Equal(got, []string{"ci", "cs", "re_ci"}) {
		t.Fatalf("upper: %v", got)
	}
}

func TestStructureCompileErrors(t *testing.T) {
	_, err := Compile(Rules{Structure: []StructureRule{
		{Name: "a", FeatureType: "volume", SourceType: "regex", Pattern: "x"},
		{Name: "b", FeatureType: "count", SourceType: "regex", Pattern: "("},
		{Name: "c", FeatureType: "count", SourceType: "keyword_set"},
		{Name: "d", FeatureType: "count", SourceType: "regex", Pattern: "x", Predicate: &Predicate{GT: Ptr(5), LT: Ptr(2)}},
	}})
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"structure[0].feature.type", "structure[1].feature.source.pattern", "structure[2].feature.source.keywords", "structure[3].predicate"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
