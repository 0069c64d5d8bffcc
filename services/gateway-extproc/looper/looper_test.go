package looper

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
)

var (
	sure   = []float64{-0.01, -0.02, -0.01}
	unsure = []float64{-1.5, -2.0, -1.0}
)

func TestScores(t *testing.T) {
	inf := math.Inf(-1)
	for _, tc := range []struct {
		name   string
		method string
		w      Weights
		toks   []Token
		want   float64
	}{
		{"empty", MethodLogprob, Weights{}, nil, 0},
		{"logprob is exp of the mean", MethodLogprob, Weights{}, []Token{{Logprob: math.Log(0.5)}, {Logprob: math.Log(0.125)}}, 0.25},
		{"unknown method is logprob", "entropy", Weights{}, []Token{{Logprob: math.Log(0.5)}}, 0.5},
		{"margin of top two", MethodMargin, Weights{}, []Token{{Logprob: math.Log(0.7), Top1: math.Log(0.7), Top2: math.Log(0.2)}}, 0.5},
		{"margin without alternatives", MethodMargin, Weights{}, []Token{{Logprob: math.Log(0.9), Top1: inf, Top2: inf}}, 0.9},
		{"margin averages tokens", MethodMargin, Weights{}, []Token{
			{Logprob: math.Log(0.6), Top1: math.Log(0.6), Top2: math.Log(0.4)},
			{Logprob: math.Log(1), Top1: math.Log(1), Top2: inf}}, 0.6},
		{"hybrid weighs both", MethodHybrid, Weights{Logprob: 3, Margin: 1}, []Token{{Logprob: math.Log(0.8), Top1: math.Log(0.8), Top2: math.Log(0.2)}}, (3*0.8 + 0.6) / 4},
		{"hybrid without weights is the mean", MethodHybrid, Weights{}, []Token{{Logprob: math.Log(0.8), Top1: math.Log(0.8), Top2: math.Log(0.2)}}, 0.7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Score(tc.method, tc.w, tc.toks); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("Score = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAppendTokens(t *testing.T) {
	body := completion("m", fakeModel{logprobs: []float64{-0.5, -0.25}, top2: -3})
	toks, ok := AppendTokens(nil, body)
	if !ok || len(toks) != 2 {
		t.Fatalf("tokens = %v, %v", toks, ok)
	}
	if toks[0].Logprob != -0.5 || toks[0].Top1 != -0.5 || toks[0].Top2 != -3 {
		t.Errorf("token 0 = %+v", toks[0])
	}
	if _, ok := AppendTokens(nil, completion("m", fakeModel{})); ok {
		t.Error("an answer without logprobs has tokens")
	}
}

func TestApply(t *testing.T) {
	body := []byte(`{"model":"m","stream":true,"stream_options":{"include_usage":true},"max_tokens":9,"messages":[{"role":"user","content":"hi"}]}`)
	temp := 0.25
	out, err := Apply(body, Edit{Logprobs: true, TopLogprobs: 2, Temperature: &temp, MaxCompletionTokens: 64, System: "be brief", AppendUser: "fuse"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"logprobs":true,"max_completion_tokens":64,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"},{"role":"user","content":"fuse"}],"model":"m","temperature":0.25,"top_logprobs":2}`
	if string(out) != want {
		t.Errorf("Apply =\n%s\nwant\n%s", out, want)
	}
	if _, err := Apply([]byte(`[`), Edit{}); err == nil {
		t.Error("a broken body was accepted")
	}
}

func refs(names ...string) []Candidate {
	out := make([]Candidate, len(names))
	for i, n := range names {
		out[i] = Candidate{Name: n}
	}
	return out
}

func TestConfidenceCascade(t *testing.T) {
	down := errors.New("connection refused")
	for _, tc := range []struct {
		name       string
		algo       config.Algorithm
		refs       []Candidate
		models     map[string]fakeModel
		wantCalled []string
		wantModel  string // "" : an error
		wantStatus int    // the failed answer relayed with an error
		wantEsc    int
	}{
		{name: "confident first answer", algo: config.Algorithm{Type: Confidence, Confidence: &config.ConfidenceAlgorithm{Threshold: 0.8}},
			refs: refs("small", "large"), models: map[string]fakeModel{"small": {logprobs: sure}, "large": {logprobs: sure}},
			wantCalled: []string{"small"}, wantModel: "small"},
		{name: "low confidence escalates", algo: config.Algorithm{Type: Confidence, Confidence: &config.ConfidenceAlgorithm{Threshold: 0.8}},
			refs: refs("small", "large"), models: map[string]fakeModel{"small": {logprobs: unsure}, "large": {logprobs: sure}},
			wantCalled: []string{"small", "large"}, wantModel: "large", wantEsc: 1},
		{name: "none passes: the last model serves", algo: config.Algorithm{Type: Confidence, Confidence: &config.ConfidenceAlgorithm{Threshold: 0.99}},
			refs: refs("small", "large"), models: map[string]fakeModel{"small": {logprobs: sure}, "large": {logprobs: unsure}},
			wantCalled: []string{"small", "large"}, wantModel: "large", wantEsc: 1},
		{name: "no logprobs never passes", algo: config.Algorithm{Type: Confidence},
			refs: refs("small", "large"), models: map[string]fakeModel{"small": {}, "large": {logprobs: sure}},
			wantCalled: []string{"small", "large"}, wantModel: "large", wantEsc: 1},
		{name: "priced models go cheapest first", algo: config.Algorithm{Type: Confidence, Confidence: &config.ConfidenceAlgorithm{EscalationOrder: SmallToLarge}},
			refs: []Candidate{{"large", 10}, {"small", 1}}, models: map[string]fakeModel{"small": {logprobs: sure}, "large": {logprobs: sure}},
			wantCalled: []string{"small"}, wantModel: "small"},
		{name: "large_to_small reverses", algo: config.Algorithm{Type: Confidence, Confidence: &config.ConfidenceAlgorithm{EscalationOrder: LargeToSmall}},
			refs: refs("small", "large"), models: map[string]fakeModel{"small": {logprobs: sure}, "large": {logprobs: sure}},
			wantCalled: []string{"large"}, wantModel: "large"},
		{name: "margin method", algo: config.Algorithm{Type: Confidence, Confidence: &config.ConfidenceAlgorithm{ConfidenceMethod: MethodMargin, Threshold: 0.5}},
			refs: refs("small", "large"), models: map[string]fakeModel{"small": {logprobs: sure, top2: -0.1}, "large": {logprobs: sure, top2: -9}},
			wantCalled: []string{"small", "large"}, wantModel: "large", wantEsc: 1},
		{name: "failing first model, on_error skip", algo: config.Algorithm{Type: Confidence, Confidence: &config.ConfidenceAlgorithm{OnError: OnErrorSkip}},
			refs: refs("small", "large"), models: map[string]fakeModel{"small": {status: 503}, "large": {logprobs: unsure}},
			wantCalled: []string{"small", "large"}, wantModel: "large", wantEsc: 1},
		{name: "failing first model, on_error fail", algo: config.Algorithm{Type: Confidence, OnError: OnErrorFail},
			refs: refs("small", "large"), models: map[string]fakeModel{"small": {status: 503}, "large": {logprobs: sure}},
			wantCalled: []string{"small"}, wantStatus: 503},
		{name: "unreachable first model, on_error fail", algo: config.Algorithm{Type: Confidence, Confidence: &config.ConfidenceAlgorithm{OnError: OnErrorFail}},
			refs: refs("small", "large"), models: map[string]fakeModel{"small": {err: down}, "large": {logprobs: sure}},
			wantCalled: []string{"small"}},
		{name: "failing last model serves the weak answer", algo: config.Algorithm{Type: Confidence},
			refs: refs("small", "large"), models: map[string]fakeModel{"small": {logprobs: unsure}, "large": {err: down}},
			wantCalled: []string{"small", "large"}, wantModel: "small", wantEsc: 1},
		{name: "on_error fallback keeps the answer so far", algo: config.Algorithm{Type: Confidence, OnError: OnErrorFallback},
			refs: refs("a", "b", "c"), models: map[string]fakeModel{"a": {logprobs: unsure}, "b": {status: 500}, "c": {logprobs: sure}},
			wantCalled: []string{"a", "b"}, wantModel: "a", wantEsc: 1},
		{name: "every model fails", algo: config.Algorithm{Type: Confidence},
			refs: refs("a", "b"), models: map[string]fakeModel{"a": {status: 500}, "b": {status: 502}},
			wantCalled: []string{"a", "b"}, wantStatus: 502, wantEsc: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := NewPlan(&tc.algo, tc.refs, nil)
			if !ok {
				t.Fatal("plan not built")
			}
			f := &fakeCaller{models: tc.models}
			obs := &countObs{}
			res := p.Run(context.Background(), f, obs, discard())
			check(t, res, f, tc.wantCalled, tc.wantModel, tc.wantStatus)
			if obs.escalations != tc.wantEsc {
				t.Errorf("escalations = %d, want %d", obs.escalations, tc.wantEsc)
			}
			for _, c := range f.calls {
				needTop := tc.algo.Confidence != nil && needsTop(tc.algo.Confidence.ConfidenceMethod)
				if !c.edit.Logprobs || (c.edit.TopLogprobs > 0) != needTop {
					t.Errorf("call to %s asked logprobs=%v top=%d", c.model, c.edit.Logprobs, c.edit.TopLogprobs)
				}
			}
		})
	}
}

func check(t *testing.T, res Result, f *fakeCaller, called []string, model string, status int) {
	t.Helper()
	if got := f.calledModels(); !slices.Equal(got, called) {
		t.Errorf("called %v, want %v", got, called)
	}
	if !slices.Equal(res.Called, called) {
		t.Errorf("Result.Called = %v, want %v", res.Called, called)
	}
	if model == "" {
		if res.Err == nil {
			t.Fatalf("served %s, want an error", res.Model)
		}
		if res.Reply.Status != status {
			t.Errorf("relayed status %d, want %d", res.Reply.Status, status)
		}
		return
	}
	if res.Err != nil {
		t.Fatalf("error %v, want %s served", res.Err, model)
	}
	if res.Model != model || !strings.Contains(string(res.Reply.Body), "answer from "+model) {
		t.Errorf("served %s (%s), want %s", res.Model, res.Reply.Body, model)
	}
}

func TestAutoMix(t *testing.T) {
	mid := []float64{-0.3, -0.3} // 0.74
	low := []float64{-0.4, -0.4} // 0.67
	for _, tc := range []struct {
		name       string
		cfg        config.AutoMixConfig
		refs       []Candidate
		models     map[string]fakeModel
		wantCalled []string
		wantModel  string
	}{
		{"verified first answer", config.AutoMixConfig{VerificationThreshold: 0.9},
			refs("a", "b"), map[string]fakeModel{"a": {logprobs: sure}, "b": {logprobs: sure}}, []string{"a"}, "a"},
		{"escalates below the threshold", config.AutoMixConfig{VerificationThreshold: 0.9},
			refs("a", "b"), map[string]fakeModel{"a": {logprobs: mid}, "b": {logprobs: sure}}, []string{"a", "b"}, "b"},
		{"max_escalations bounds the cascade", config.AutoMixConfig{VerificationThreshold: 0.99, MaxEscalations: 1},
			refs("a", "b", "c"), map[string]fakeModel{"a": {logprobs: low}, "b": {logprobs: mid}, "c": {logprobs: sure}}, []string{"a", "b"}, "b"},
		{"cost aware: cheapest first", config.AutoMixConfig{VerificationThreshold: 0.9, CostAwareRouting: true},
			[]Candidate{{"big", 20}, {"cheap", 1}}, map[string]fakeModel{"big": {logprobs: sure}, "cheap": {logprobs: sure}}, []string{"cheap"}, "cheap"},
		{"cost aware: a small quality gap keeps the cheaper answer", config.AutoMixConfig{VerificationThreshold: 0.99, CostAwareRouting: true, CostQualityTradeoff: 0.5},
			[]Candidate{{"cheap", 1}, {"big", 20}}, map[string]fakeModel{"cheap": {logprobs: low}, "big": {logprobs: mid}}, []string{"cheap", "big"}, "cheap"},
		{"cost aware: a large quality gap takes the better answer", config.AutoMixConfig{VerificationThreshold: 0.99, CostAwareRouting: true, CostQualityTradeoff: 0.05},
			[]Candidate{{"cheap", 1}, {"big", 20}}, map[string]fakeModel{"cheap": {logprobs: low}, "big": {logprobs: mid}}, []string{"cheap", "big"}, "big"},
		{"not cost aware: the best score", config.AutoMixConfig{VerificationThreshold: 0.99},
			refs("a", "b"), map[string]fakeModel{"a": {logprobs: mid}, "b": {logprobs: low}}, []string{"a", "b"}, "a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			p, _ := NewPlan(&config.Algorithm{Type: AutoMix, AutoMix: &cfg}, tc.refs, nil)
			f := &fakeCaller{models: tc.models}
			res := p.Run(context.Background(), f, nil, discard())
			check(t, res, f, tc.wantCalled, tc.wantModel, 0)
			if !res.HasScore {
				t.Error("no verification score")
			}
		})
	}
}

func TestFusion(t *testing.T) {
	for _, tc := range []struct {
		name       string
		fusion     config.FusionAlgorithm
		onError    string
		models     map[string]fakeModel
		wantCalled []string
		wantModel  string
		wantStatus int
		// wantInPrompt are texts the synthesis prompt must hold;
		// wantNotInPrompt must be absent.
		wantInPrompt, wantNotInPrompt []string
	}{
		{name: "panel then judge", fusion: config.FusionAlgorithm{Model: "judge", AnalysisModels: []string{"a", "b"}},
			models:     map[string]fakeModel{"a": {text: "A says 4"}, "b": {text: "B says 5"}, "judge": {}},
			wantCalled: []string{"a", "b", "judge"}, wantModel: "judge", wantInPrompt: []string{"A says 4", "B says 5", "(a)", defaultSynthesis}},
		{name: "one failed analysis is skipped", fusion: config.FusionAlgorithm{Model: "judge", AnalysisModels: []string{"a", "b"}, OnError: OnErrorSkip},
			models:     map[string]fakeModel{"a": {status: 500}, "b": {text: "B says 5"}, "judge": {}},
			wantCalled: []string{"a", "b", "judge"}, wantModel: "judge", wantInPrompt: []string{"B says 5"}, wantNotInPrompt: []string{"(a)"}},
		{name: "one failed analysis with on_error fail", fusion: config.FusionAlgorithm{Model: "judge", AnalysisModels: []string{"a", "b"}}, onError: OnErrorFail,
			models:     map[string]fakeModel{"a": {status: 500}, "b": {text: "B"}, "judge": {}},
			wantCalled: []string{"a", "b"}, wantStatus: 500},
		{name: "below min_successful_responses", fusion: config.FusionAlgorithm{Model: "judge", AnalysisModels: []string{"a", "b"}, MinSuccessfulResponses: 2},
			models:     map[string]fakeModel{"a": {status: 503}, "b": {text: "B"}, "judge": {}},
			wantCalled: []string{"a", "b"}, wantStatus: 503},
		{name: "below min with fallback: the judge answers alone", fusion: config.FusionAlgorithm{Model: "judge", AnalysisModels: []string{"a"}, OnError: OnErrorFallback},
			models:     map[string]fakeModel{"a": {err: errors.New("refused")}, "judge": {}},
			wantCalled: []string{"a", "judge"}, wantModel: "judge", wantNotInPrompt: []string{"(a)"}},
		{name: "custom synthesis template", fusion: config.FusionAlgorithm{Model: "judge", AnalysisModels: []string{"a"}, SynthesisTemplate: "Merge these."},
			models:     map[string]fakeModel{"a": {text: "A"}, "judge": {}},
			wantCalled: []string{"a", "judge"}, wantModel: "judge", wantInPrompt: []string{"Merge these."}, wantNotInPrompt: []string{defaultSynthesis}},
		{name: "failed synthesis", fusion: config.FusionAlgorithm{Model: "judge", AnalysisModels: []string{"a"}},
			models:     map[string]fakeModel{"a": {text: "A"}, "judge": {status: 502}},
			wantCalled: []string{"a", "judge"}, wantStatus: 502},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc := tc.fusion
			p, _ := NewPlan(&config.Algorithm{Type: Fusion, OnError: tc.onError, Fusion: &fc}, refs("a", "b"), nil)
			f := &fakeCaller{models: tc.models}
			res := p.Run(context.Background(), f, nil, discard())
			got := f.calledModels()
			slices.Sort(got[:len(tc.fusion.AnalysisModels)]) // the panel runs concurrently
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
			prompt := f.calls[len(f.calls)-1].edit.AppendUser
			for _, s := range tc.wantInPrompt {
				if !strings.Contains(prompt, s) {
					t.Errorf("synthesis prompt lacks %q:\n%s", s, prompt)
				}
			}
			for _, s := range tc.wantNotInPrompt {
				if strings.Contains(prompt, s) {
					t.Errorf("synthesis prompt has %q:\n%s", s, prompt)
				}
			}
		})
	}
}

func TestFusionOverrides(t *testing.T) {
	fc := config.FusionAlgorithm{Model: "judge", AnalysisModels: []string{"a", "b"}, Temperature: 0.3, MaxCompletionTokens: 100,
		AnalysisTemplate: "Analyse.", AnalysisOverrides: []config.FusionOverride{{Model: "a", Temperature: 0.1, MaxCompletionTokens: 10}}}
	p, _ := NewPlan(&config.Algorithm{Type: Fusion, Fusion: &fc}, nil, nil)
	f := &fakeCaller{models: map[string]fakeModel{"a": {}, "b": {}, "judge": {}}}
	if res := p.Run(context.Background(), f, nil, discard()); res.Err != nil {
		t.Fatal(res.Err)
	}
	edits := map[string]Edit{}
	for _, c := range f.calls {
		edits[c.model] = c.edit
	}
	for _, tc := range []struct {
		model  string
		temp   float64
		tokens int
		system string
	}{{"a", 0.1, 10, "Analyse."}, {"b", 0.3, 100, "Analyse."}, {"judge", 0.3, 100, ""}} {
		e := edits[tc.model]
		if e.Temperature == nil || *e.Temperature != tc.temp || e.MaxCompletionTokens != tc.tokens || e.System != tc.system {
			t.Errorf("%s edit = %+v (temperature %v), want %v/%d/%q", tc.model, e, e.Temperature, tc.temp, tc.tokens, tc.system)
		}
	}
}

// TestFusionConcurrencyBound: with max_concurrent 2, four analyses never
// run more than two at a time, and do run two at a time. Every call waits
// until two are in flight (or no more can start), so a pool without the
// bound would reach more than two.
func TestFusionConcurrencyBound(t *testing.T) {
	const limit, total = 2, 4
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	inflight, started, peak := 0, 0, 0
	gate := func() {
		mu.Lock()
		defer mu.Unlock()
		if started == total {
			return // the judge
		}
		inflight++
		started++
		peak = max(peak, inflight)
		cond.Broadcast()
		for inflight < limit && started < total {
			cond.Wait()
		}
		inflight--
	}
	fc := config.FusionAlgorithm{Model: "judge", AnalysisModels: []string{"a", "b", "c", "d"}, MaxConcurrent: limit}
	p, _ := NewPlan(&config.Algorithm{Type: Fusion, Fusion: &fc}, nil, nil)
	f := &fakeCaller{models: map[string]fakeModel{"a": {}, "b": {}, "c": {}, "d": {}, "judge": {}}, gate: gate}
	if res := p.Run(context.Background(), f, nil, discard()); res.Err != nil {
		t.Fatal(res.Err)
	}
	if peak != limit {
		t.Errorf("peak concurrency %d, want %d", peak, limit)
	}
}
