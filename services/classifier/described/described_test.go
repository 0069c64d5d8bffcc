package described_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/classifier/classifiertest/usetest"
	"github.com/semrouter/semrouter/services/classifier/described"
	"github.com/semrouter/semrouter/services/classifier/semantic"
)

// match evaluates one turn and returns the matched rule ("" for none).
func match(t *testing.T, emb embedder, f *described.Family, text string, afterAnswer bool) string {
	t.Helper()
	cases := []labelled{{in: described.Input{Text: text, AfterAnswer: afterAnswer}}}
	embedInputs(t, emb, cases)
	o := f.Evaluate(cases[0].in)
	if o.Err != nil {
		t.Fatalf("%q: %v", text, o.Err)
	}
	if len(o.Matches) > 1 {
		t.Fatalf("%q: %d matches, the family is exclusive: %+v", text, len(o.Matches), o.Matches)
	}
	if len(o.Matches) == 0 {
		return ""
	}
	m := o.Matches[0]
	if m.Confidence <= 0.5 || m.Confidence > 1 || m.Family != f.Family() {
		t.Errorf("%q: match %+v", text, m)
	}
	return m.Name
}

func TestFactCheckClearCases(t *testing.T) {
	emb := usetest.UseLite(t)
	both := build(t, emb, described.FactCheck(), factRules)
	needsOnly := build(t, emb, described.FactCheck(), factRules[:1])
	aliased := build(t, emb, described.FactCheck(), []described.Rule{{Name: "Factual"}})
	tests := []struct {
		name   string
		f      *described.Family
		prompt string
		want   string
	}{
		{"who question", both, "Who was the first emperor of China?", described.NeedsFactCheck},
		{"statistic", both, "What share of electricity in France comes from nuclear power?", described.NeedsFactCheck},
		{"is it true", both, "Is it true that sharks don't get cancer?", described.NeedsFactCheck},
		{"medical", both, "How many milligrams of caffeine are safe during pregnancy?", described.NeedsFactCheck},
		{"legal", both, "Is it legal to keep a kangaroo as a pet in Texas?", described.NeedsFactCheck},
		{"poem", both, "Write a poem about a lonely cloud.", described.NoFactCheckNeeded},
		{"code", both, "Write a Go function that merges two sorted slices.", described.NoFactCheckNeeded},
		{"opinion", both, "What do you think about pineapple on pizza?", described.NoFactCheckNeeded},
		{"chit-chat", both, "Hello! How are you today?", described.NoFactCheckNeeded},
		{"declared alone: factual matches", needsOnly, "When did Portugal join the European Union?", described.NeedsFactCheck},
		{"declared alone: the silent competitor wins", needsOnly, "Tell me a story about a shy dragon.", ""},
		{"alias without description", aliased, "How many people live in Norway?", "Factual"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := match(t, emb, tc.f, tc.prompt, false); got != tc.want {
				t.Errorf("%q matched %q, want %q", tc.prompt, got, tc.want)
			}
		})
	}
}

func TestUserFeedbackClearCases(t *testing.T) {
	emb := usetest.UseLite(t)
	ref := build(t, emb, described.UserFeedback(), feedbackRules[:2]) // the reference config's two rules
	all := build(t, emb, described.UserFeedback(), feedbackRules)
	custom := build(t, emb, described.UserFeedback(), []described.Rule{
		{Name: "asks_for_sources", Description: "The user asks for sources, citations or references that back up the previous answer."},
		{Name: described.WrongAnswer},
	})
	tests := []struct {
		name        string
		f           *described.Family
		turn        string
		afterAnswer bool
		want        string
	}{
		{"wrong", ref, "That's wrong, the treaty was signed in 1648.", true, described.WrongAnswer},
		{"no I meant", ref, "No, I meant the other Springfield.", true, described.WrongAnswer},
		{"explain simpler", ref, "Can you explain that more simply?", true, described.NeedClarification},
		{"thanks is not a declared rule", ref, "Thanks, perfect!", true, ""},
		{"thanks", all, "Thanks, perfect!", true, described.Satisfied},
		{"another one", all, "Give me a different suggestion please.", true, described.WantDifferent},
		{"new question", all, "What time zone is Chicago in?", true, ""},
		{"first turn is never feedback", all, "That's wrong.", false, ""},
		{"user-defined rule by description", custom, "Can you cite your sources for that claim?", true, "asks_for_sources"},
		{"user-defined rule beside a known one", custom, "You are wrong about that.", true, described.WrongAnswer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := match(t, emb, tc.f, tc.turn, tc.afterAnswer); got != tc.want {
				t.Errorf("%q matched %q, want %q (scores %v)", tc.turn, got, tc.want, scores(t, emb, tc.f, tc.turn))
			}
		})
	}
}

func scores(t *testing.T, emb embedder, f *described.Family, text string) map[string]float64 {
	cases := []labelled{{in: described.Input{Text: text, AfterAnswer: true}}}
	embedInputs(t, emb, cases)
	return f.Scores(cases[0].in)
}

// randomVecs embeds texts as random unit vectors: for the tests that need
// no real embedding and for the benchmarks.
func randomVecs(texts []string, dims int, seed uint64) map[string][]float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make(map[string][]float32, len(texts))
	for _, s := range texts {
		v := make([]float32, dims)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		out[s] = semantic.Normalize(v)
	}
	return out
}

func TestEvaluateErrorsAndBuild(t *testing.T) {
	k := described.FactCheck()
	vecs := randomVecs(k.Texts(factRules), 16, 1)
	f, err := described.Build(k, factRules, vecs)
	if err != nil {
		t.Fatal(err)
	}
	q := vecs[k.Classes[0].Exemplars[0]]
	if o := f.Evaluate(described.Input{Text: "x"}); !errors.Is(o.Err, described.ErrNoQuery) {
		t.Errorf("no query: err %v", o.Err)
	}
	if o := f.Evaluate(described.Input{Text: "x", Query: make([]float32, 8)}); !errors.Is(o.Err, semantic.ErrDims) {
		t.Errorf("wrong dims: err %v", o.Err)
	}
	// A query equal to an exemplar of needs_fact_check wins it.
	o := f.Evaluate(described.Input{Text: "Who was the first woman to win a Nobel Prize?", Query: q})
	if len(o.Matches) != 1 || o.Matches[0].Name != described.NeedsFactCheck || len(o.Scores) != 2 {
		t.Errorf("exemplar query: %+v", o)
	}
	delete(vecs, factRules[1].Description)
	if _, err := described.Build(described.FactCheck(), factRules, vecs); err == nil || !strings.Contains(err.Error(), `rule "no_fact_check_needed"`) {
		t.Errorf("missing embedding: err %v", err)
	}
	fb, err := described.Build(described.UserFeedback(), feedbackRules, randomVecs(described.UserFeedback().Texts(feedbackRules), 16, 2))
	if err != nil {
		t.Fatal(err)
	}
	if o := fb.Evaluate(described.Input{Text: "That's wrong.", Query: q}); o.Err != nil || o.Matches != nil || o.Scores != nil {
		t.Errorf("feedback without an answer before: %+v", o)
	}
}

// BenchmarkFactCheck is one fact_check evaluation of a short prompt with
// the reference rules on 512-dimension vectors (USE-Lite's size); the
// query embedding is given, as in the classifier.
func BenchmarkFactCheck(b *testing.B) {
	benchFamily(b, described.FactCheck(), factRules, described.Input{Text: "Is it true that the Great Wall of China was built in the 3rd century BC?"})
}

// BenchmarkFactCheckLongPrompt is BenchmarkFactCheck on a 900-byte prompt
// (the cue scan grows with the text; the dot products do not).
func BenchmarkFactCheckLongPrompt(b *testing.B) {
	text := strings.Repeat("The committee reviewed the quarterly numbers and asked whether the projections still held for the next fiscal year. ", 8)
	benchFamily(b, described.FactCheck(), factRules, described.Input{Text: text})
}

// BenchmarkUserFeedback is one user_feedback evaluation of a follow-up
// turn with the four well-known rules.
func BenchmarkUserFeedback(b *testing.B) {
	benchFamily(b, described.UserFeedback(), feedbackRules, described.Input{Text: "No, that's not right, I meant the capital of Australia.", AfterAnswer: true})
}

func benchFamily(b *testing.B, k *described.Knowledge, rules []described.Rule, in described.Input) {
	vecs := randomVecs(append(k.Texts(rules), in.Text), 512, 3)
	f, err := described.Build(k, rules, vecs)
	if err != nil {
		b.Fatal(err)
	}
	in.Query = vecs[in.Text]
	b.ReportAllocs()
	for b.Loop() {
		if o := f.Evaluate(in); o.Err != nil {
			b.Fatal(o.Err)
		}
	}
}
