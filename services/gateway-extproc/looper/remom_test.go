package looper

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
)

func TestReMoM(t *testing.T) {
	long := strings.Repeat("a", 100) + "TAIL"
	for _, tc := range []struct {
		name       string
		cfg        config.ReMoMAlgorithm
		onError    string
		models     map[string]fakeModel
		wantCalled []string // sorted per round
		wantModel  string
		wantStatus int
		// check inspects the calls (round prompts).
		check func(t *testing.T, calls []call)
	}{
		{name: "two rounds then synthesis", cfg: config.ReMoMAlgorithm{BreadthSchedule: []int{3, 2}, SynthesisModel: "judge"},
			models:     map[string]fakeModel{"a": {text: "A1"}, "b": {text: "B1"}, "judge": {}},
			wantCalled: []string{"a", "a", "b", "a", "b", "judge"}, wantModel: "judge",
			check: func(t *testing.T, calls []call) {
				for _, c := range calls[:3] {
					if c.edit.AppendUser != "" {
						t.Errorf("round one call to %s got %q", c.model, c.edit.AppendUser)
					}
				}
				for _, c := range calls[3:] {
					if !strings.Contains(c.edit.AppendUser, "A1") || !strings.Contains(c.edit.AppendUser, "B1") {
						t.Errorf("call to %s lacks the previous answers: %q", c.model, c.edit.AppendUser)
					}
				}
				if s := calls[5].edit.AppendUser; !strings.HasPrefix(s, defaultSynthesis) {
					t.Errorf("synthesis prompt %q", s)
				}
			}},
		{name: "compaction keeps the last tokens", cfg: config.ReMoMAlgorithm{BreadthSchedule: []int{1, 1}, CompactionStrategy: "last_n_tokens", CompactionTokens: 2,
			MaxResponsesPerRound: 1, SynthesisTemplate: "Fuse."},
			models:     map[string]fakeModel{"a": {text: long}, "b": {text: "B"}},
			wantCalled: []string{"a", "b", "b"}, wantModel: "b",
			check: func(t *testing.T, calls []call) {
				p := calls[1].edit.AppendUser
				if !strings.Contains(p, "aaaaTAIL") || strings.Contains(p, "aaaaaTAIL") {
					t.Errorf("round two prompt not compacted to 8 bytes: %q", p)
				}
				if !strings.HasPrefix(calls[2].edit.AppendUser, "Fuse.") {
					t.Errorf("synthesis prompt %q", calls[2].edit.AppendUser)
				}
			}},
		{name: "a failed call is skipped", cfg: config.ReMoMAlgorithm{BreadthSchedule: []int{2}, SynthesisModel: "judge", OnError: OnErrorSkip},
			models:     map[string]fakeModel{"a": {status: 500}, "b": {text: "B1"}, "judge": {}},
			wantCalled: []string{"a", "b", "judge"}, wantModel: "judge"},
		{name: "on_error fail", cfg: config.ReMoMAlgorithm{BreadthSchedule: []int{2}, SynthesisModel: "judge"}, onError: OnErrorFail,
			models:     map[string]fakeModel{"a": {status: 500}, "b": {text: "B1"}, "judge": {}},
			wantCalled: []string{"a", "b"}, wantStatus: 500},
		{name: "below min with fallback", cfg: config.ReMoMAlgorithm{BreadthSchedule: []int{2}, SynthesisModel: "judge", MinSuccessfulResponses: 2, OnError: OnErrorFallback},
			models:     map[string]fakeModel{"a": {status: 500}, "b": {text: "B1"}, "judge": {}},
			wantCalled: []string{"a", "b", "judge"}, wantModel: "judge",
			check: func(t *testing.T, calls []call) {
				if calls[2].edit.AppendUser != "" {
					t.Errorf("fallback synthesis got answers: %q", calls[2].edit.AppendUser)
				}
			}},
		{name: "below min fails", cfg: config.ReMoMAlgorithm{BreadthSchedule: []int{2}, SynthesisModel: "judge", MinSuccessfulResponses: 2},
			models:     map[string]fakeModel{"a": {status: 503}, "b": {text: "B1"}, "judge": {}},
			wantCalled: []string{"a", "b"}, wantStatus: 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			p, _ := NewPlan(&config.Algorithm{Type: ReMoM, OnError: tc.onError, ReMoM: &cfg}, refs("a", "b"), nil)
			f := &fakeCaller{models: tc.models}
			res := p.Run(context.Background(), f, nil, discard())
			got := f.calledModels()
			// the calls of a round run concurrently: compare per round
			at := 0
			for _, n := range tc.cfg.BreadthSchedule {
				if at+n <= len(got) {
					slices.Sort(got[at : at+n])
				}
				at += n
			}
			if !slices.Equal(got, tc.wantCalled) {
				t.Errorf("called %v, want %v", got, tc.wantCalled)
			}
			if tc.wantModel == "" {
				if res.Err == nil || res.Reply.Status != tc.wantStatus {
					t.Fatalf("result %+v, want an error relaying %d", res, tc.wantStatus)
				}
				return
			}
			if res.Err != nil || res.Model != tc.wantModel {
				t.Fatalf("result %+v, want %s served", res, tc.wantModel)
			}
			if tc.check != nil {
				calls := f.calls
				// order calls as got (rounds sorted by model)
				sorted := make([]call, 0, len(calls))
				at := 0
				for _, n := range tc.cfg.BreadthSchedule {
					round := slices.Clone(calls[at : at+n])
					slices.SortStableFunc(round, func(a, b call) int { return strings.Compare(a.model, b.model) })
					sorted = append(sorted, round...)
					at += n
				}
				tc.check(t, append(sorted, calls[at:]...))
			}
		})
	}
}

func TestLastBytes(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		n        int
		want     string
	}{
		{"short", "abc", 5, "abc"},
		{"cut", "abcdef", 3, "def"},
		{"rune boundary", "xé", 1, ""},
		{"whole rune", "xé", 2, "é"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := lastBytes(tc.in, tc.n); got != tc.want {
				t.Errorf("lastBytes(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
		})
	}
}
