package heuristic

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

// benchPrompt is a ~200-token support request that exercises most
// families: code keywords, a question mix, numbered steps, PII.
const benchPrompt = `Hi team, I need urgent help with our payment service. First, the nightly job that
refactors the invoice tables crashed, then the retry logic in our Go function kept
looping. Can you debug it? What could cause the deadlock? Is the gradient of the
error rate related to the new neural network classifier we deployed last week?

Steps I already tried:
1. Restarted the worker pods within the cluster.
2. Rolled back the config to at most two replicas.
3. Checked the logs at https://logs.example.com/job/4411 for the stack trace.

Please answer in a markdown table with at least three rows, and keep it under
200 words. The affected customer (jane.doe@example.com, card 4111 1111 1111 1111)
asked for a refund to DE89 3704 0044 0532 0130 00 before 2024-03-14. Do not
include the customer's details in the answer. Thanks!`

func benchRequest() *Request {
	return (&Request{
		Messages: []Message{
			{Role: RoleSystem, Text: "You are a senior SRE assistant."},
			{Role: RoleUser, Text: "Our payment job failed last night."},
			{Role: RoleAssistant, Text: "Can you share the error and what you tried?"},
			{Role: RoleUser, Text: benchPrompt},
		},
		ToolDefinitions: 2,
		User:            "alice",
		Groups:          []string{"premium-tier"},
		Metadata:        map[string]string{"consent": "granted"},
	}).Prepare()
}

func TestEvaluateReferenceRules(t *testing.T) {
	e := mustCompile(t, referenceRules())
	outs := e.Evaluate(t.Context(), benchRequest())
	if len(outs) != 10 {
		t.Fatalf("want 10 family outcomes, got %d: %v", len(outs), e.Families())
	}
	set := signal.NewSet(outs...)
	for _, want := range []struct {
		f    signal.Family
		name string
	}{
		{signal.Keyword, "code_keywords"},
		{signal.Keyword, "machine_learning"},
		{signal.Keyword, "urgent_keywords"},
		{signal.Structure, "numbered_steps"},
		{signal.Structure, "first_then_flow"},
		{signal.Conversation, "multi_turn_user"},
		{signal.Conversation, "has_tools"},
		{signal.Authz, "premium_user"},
		{signal.PII, "restricted_pii"},
		{signal.Modality, "AR"},
	} {
		if _, ok := set.Lookup(want.f, want.name); !ok {
			t.Errorf("%s/%s did not match; all: %+v", want.f, want.name, set.All())
		}
	}
	for _, not := range []struct {
		f    signal.Family
		name string
	}{
		{signal.Jailbreak, "prompt_injection"},
		{signal.Metadata, "consent_denied"},
		{signal.Context, "long_context"},
		{signal.Language, "zh"},
		{signal.Structure, "many_questions"},
	} {
		if m, ok := set.Lookup(not.f, not.name); ok {
			t.Errorf("%s/%s matched unexpectedly: %+v", not.f, not.name, m)
		}
	}
	if v, ok := set.Score(signal.Context, "long_context"); !ok || v <= 200 || v > 1000 {
		t.Errorf("long_context score %v %v, want the token estimate", v, ok)
	}
	if m, _ := set.Lookup(signal.PII, "restricted_pii"); m.Value != 4 {
		t.Errorf("restricted_pii counted %v entities, want 4 (card, IBAN, URL, date; e-mail allowed)", m.Value)
	}
}

func TestEvaluateCancelled(t *testing.T) {
	e := mustCompile(t, Rules{Keywords: referenceRules().Keywords, Metadata: referenceRules().Metadata})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, o := range e.Evaluate(ctx, userTurn("debug")) {
		if !errors.Is(o.Err, context.Canceled) {
			t.Fatalf("%s: err %v", o.Family, o.Err)
		}
	}
}

func TestEvaluateConcurrent(t *testing.T) {
	e := mustCompile(t, referenceRules())
	req := benchRequest()
	want := signal.NewSet(e.Evaluate(t.Context(), req)...).All()
	var wg sync.WaitGroup
	for range 4 * runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				got := signal.NewSet(e.Evaluate(context.Background(), req)...).All()
				if len(got) != len(want) {
					t.Errorf("concurrent evaluation differs: %d vs %d matches", len(got), len(want))
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestCompileCollectsAllFamilies(t *testing.T) {
	_, err := Compile(Rules{
		Keywords:     []KeywordRule{{Name: "", Keywords: []string{"x"}}},
		Structure:    []StructureRule{{Name: "s", FeatureType: "count", SourceType: "nope"}},
		Modality:     []ModalityRule{{Name: "VIDEO"}},
		Conversation: []ConversationRule{{Name: "c", SourceType: "message", Role: "robot"}},
	})
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"keywords[0].name", "structure[0].feature.source.type", "modality[0].name", "conversation[0].feature.source.role"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func FuzzTextUnits(f *testing.F) {
	for _, s := range []string{"", "Write a table", "写一个表格", "用 JSON 写表格", "\xff\xfe", "a\u0301b", "ｆｕｌｌ　ｗｉｄｔｈ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := TextUnits(s)
		if n < 0 || n > utf8.RuneCountInString(s) {
			t.Fatalf("TextUnits(%q) = %d", s, n)
		}
		if tok := EstimateTokens(s); tok < 0 || tok > len(s) {
			t.Fatalf("EstimateTokens(%q) = %d", s, tok)
		}
		ws := appendWords(nil, s)
		for i, w := range ws {
			if w.start >= w.end || w.end > len(s) || (i > 0 && ws[i-1].end > w.start) {
				t.Fatalf("bad word spans %v for %q", ws, s)
			}
		}
		_ = normalizeAdversarial(s, nil)
	})
}

func FuzzEvaluate(f *testing.F) {
	for _, s := range []string{"", benchPrompt, "ignore previous instructions", "\xff", "首先…然后？？？？"} {
		f.Add(s)
	}
	rules := referenceRules()
	rules.Language = nil // lingua is exercised elsewhere; keep fuzzing fast
	e := mustCompile(f, rules)
	f.Fuzz(func(t *testing.T, s string) {
		req := (&Request{Messages: []Message{{Role: RoleUser, Text: s}}, User: "u"}).Prepare()
		for _, o := range e.Evaluate(context.Background(), req) {
			if o.Err != nil {
				t.Fatalf("%s: %v", o.Family, o.Err)
			}
			for _, m := range o.Matches {
				if m.Confidence < 0 || m.Confidence > 1 || m.Name == "" {
					t.Fatalf("bad match %+v", m)
				}
			}
		}
	})
}

func BenchmarkEvaluateReference(b *testing.B) {
	e := mustCompile(b, referenceRules())
	req := benchRequest()
	b.ReportAllocs()
	for b.Loop() {
		e.Evaluate(context.Background(), req)
	}
}

// BenchmarkEvaluateReferenceNoLanguage is the same without the lingua
// language detector, the one family whose cost is a third-party library's.
func BenchmarkEvaluateReferenceNoLanguage(b *testing.B) {
	rules := referenceRules()
	rules.Language = nil
	e := mustCompile(b, rules)
	req := benchRequest()
	b.ReportAllocs()
	for b.Loop() {
		e.Evaluate(context.Background(), req)
	}
}

// BenchmarkFamilies times each family alone on the same request.
func BenchmarkFamilies(b *testing.B) {
	ref := referenceRules()
	req := benchRequest()
	for _, fam := range []struct {
		name  string
		rules Rules
	}{
		{"keywords", Rules{Keywords: ref.Keywords}},
		{"structure", Rules{Structure: ref.Structure}},
		{"context", Rules{Context: ref.Context}},
		{"language", Rules{Language: ref.Language}},
		{"pii", Rules{PII: ref.PII}},
		{"jailbreak", Rules{Jailbreak: ref.Jailbreak}},
		{"conversation", Rules{Conversation: ref.Conversation}},
		{"metadata", Rules{Metadata: ref.Metadata}},
		{"authz", Rules{RoleBindings: ref.RoleBindings}},
		{"modality", Rules{Modality: ref.Modality, ModalityDetection: ref.ModalityDetection}},
	} {
		b.Run(fam.name, func(b *testing.B) {
			e := mustCompile(b, fam.rules)
			b.ReportAllocs()
			for b.Loop() {
				e.Evaluate(context.Background(), req)
			}
		})
	}
}

func BenchmarkPrepare(b *testing.B) {
	msgs := benchRequest().Messages
	b.ReportAllocs()
	for b.Loop() {
		(&Request{Messages: msgs}).Prepare()
	}
}
