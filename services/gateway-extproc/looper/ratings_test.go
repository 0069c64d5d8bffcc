package looper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
)

var update = flag.Bool("update", false, "rewrite golden files")

// ratingsAnswer is the decoded shape of a ratings answer the tests check.
type ratingsAnswer struct {
	Model   string `json:"model"`
	Choices []struct {
		Index   int    `json:"index"`
		Model   string `json:"model"`
		Message struct {
			Content   string `json:"content"`
			ToolCalls []struct {
				ID       string `json:"id"`
				Function struct {
					Name string `json:"name"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
}

func ratingsPlan(refs []string, rc *config.RatingsAlgorithm, algOnError string) *Plan {
	cands := make([]Candidate, len(refs))
	for i, r := range refs {
		cands[i] = Candidate{Name: r}
	}
	p, _ := NewPlan(&config.Algorithm{Type: Ratings, Ratings: rc, OnError: algOnError}, cands, nil)
	return p
}

func TestRatings(t *testing.T) {
	toolAnswer := `{"id":"c-t","object":"chat.completion","created":2,"model":"tooly","choices":[{"index":0,"message":{"role":"assistant","content":null,` +
		`"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":"tool_calls"}],` +
		`"usage":{"prompt_tokens":11,"completion_tokens":4,"total_tokens":15}}`
	for _, tc := range []struct {
		name       string
		refs       []string
		models     map[string]fakeModel
		cfg        *config.RatingsAlgorithm
		algOnError string
		wantModels []string // choice order; nil: the request fails
		wantStatus int      // of the relayed failure (0: none to relay)
		wantUsage  [3]int
		wantFailed []string
	}{
		{name: "every model answers, in modelRefs order", refs: []string{"c", "a", "b"},
			models:     map[string]fakeModel{"a": {logprobs: sure}, "b": {logprobs: unsure}, "c": {logprobs: []float64{-1}}},
			wantModels: []string{"c", "a", "b"}, wantUsage: [3]int{15, 7, 22}},
		{name: "skip leaves a failed model out", refs: []string{"a", "b", "c"},
			models:     map[string]fakeModel{"a": {}, "b": {status: 503}, "c": {}},
			wantModels: []string{"a", "c"}, wantUsage: [3]int{10, 0, 10}, wantFailed: []string{"b"}},
		{name: "skip is the default and fallback acts as skip", refs: []string{"a", "b"}, algOnError: OnErrorFallback,
			models:     map[string]fakeModel{"a": {err: errors.New("connection refused")}, "b": {}},
			wantModels: []string{"b"}, wantUsage: [3]int{5, 0, 5}, wantFailed: []string{"a"}},
		{name: "an answer without a choice is a failure", refs: []string{"a", "b"},
			models:     map[string]fakeModel{"a": {raw: `{"id":"x","choices":[]}`}, "b": {}},
			wantModels: []string{"b"}, wantUsage: [3]int{5, 0, 5}},
		{name: "fail fails on any failed model", refs: []string{"a", "b", "c"}, cfg: &config.RatingsAlgorithm{OnError: OnErrorFail},
			models:     map[string]fakeModel{"a": {}, "b": {status: 429}, "c": {status: 500}},
			wantStatus: 429, wantFailed: []string{"b", "c"}},
		{name: "fail with a 2xx answer without a choice relays nothing", refs: []string{"a", "b"}, cfg: &config.RatingsAlgorithm{OnError: OnErrorFail},
			models: map[string]fakeModel{"a": {}, "b": {raw: `{"choices":[{"index":0}]}`}}},
		{name: "all failing is an error", refs: []string{"a", "b"},
			models:     map[string]fakeModel{"a": {status: 500}, "b": {status: 502}},
			wantStatus: 502, wantFailed: []string{"a", "b"}},
		{name: "tool calls pass through per choice", refs: []string{"a", "tooly"},
			models:     map[string]fakeModel{"a": {}, "tooly": {raw: toolAnswer}},
			wantModels: []string{"a", "tooly"}, wantUsage: [3]int{16, 4, 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeCaller{models: tc.models}
			obs := &countObs{}
			res := ratingsPlan(tc.refs, tc.cfg, tc.algOnError).Run(context.Background(), f, obs, discard())
			called := f.calledModels()
			slices.Sort(called)
			if want := slices.Sorted(slices.Values(tc.refs)); !slices.Equal(called, want) {
				t.Errorf("called %v, want every modelRef once %v", called, want)
			}
			if !slices.Equal(res.Called, tc.refs) {
				t.Errorf("Result.Called = %v, want %v", res.Called, tc.refs)
			}
			for _, m := range tc.wantFailed {
				if obs.calls[m+"/"+OutcomeFailed] != 1 {
					t.Errorf("failed call of %s not counted: %v", m, obs.calls)
				}
			}
			if tc.wantModels == nil {
				if res.Err == nil {
					t.Fatalf("no error; served %s", res.Reply.Body)
				}
				if res.Reply.Status != tc.wantStatus {
					t.Errorf("relayed status %d, want %d", res.Reply.Status, tc.wantStatus)
				}
				return
			}
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if res.Model != tc.wantModels[0] || res.Reply.Status != 200 {
				t.Errorf("served model %q status %d, want %q 200", res.Model, res.Reply.Status, tc.wantModels[0])
			}
			var got ratingsAnswer
			if err := json.Unmarshal(res.Reply.Body, &got); err != nil {
				t.Fatalf("answer is not JSON: %v\n%s", err, res.Reply.Body)
			}
			if got.Model != strings.Join(tc.wantModels, ",") {
				t.Errorf("model %q, want %q", got.Model, strings.Join(tc.wantModels, ","))
			}
			if len(got.Choices) != len(tc.wantModels) {
				t.Fatalf("%d choices, want %d: %s", len(got.Choices), len(tc.wantModels), res.Reply.Body)
			}
			for i, ch := range got.Choices {
				m := tc.wantModels[i]
				if ch.Index != i || ch.Model != m {
					t.Errorf("choice %d: index %d model %q, want %d %q", i, ch.Index, ch.Model, i, m)
				}
				if m == "tooly" {
					if len(ch.Message.ToolCalls) != 1 || ch.Message.ToolCalls[0].Function.Name != "get_weather" || ch.FinishReason != "tool_calls" {
						t.Errorf("tool choice %+v", ch)
					}
				} else if ch.Message.Content != "answer from "+m {
					t.Errorf("choice %d content %q", i, ch.Message.Content)
				}
			}
			if u := got.Usage; u == nil || [3]int{u.PromptTokens, u.CompletionTokens, u.TotalTokens} != tc.wantUsage {
				t.Errorf("usage %+v, want %v", u, tc.wantUsage)
			}
		})
	}
}

// TestRatingsConcurrencyBound: with max_concurrent 2 the four calls run
// two at a time. Each fake call holds until the test releases it; the
// test releases one only after the bound is full, so the peak reaches the
// bound, and a call past the bound shows as a higher peak.
func TestRatingsConcurrencyBound(t *testing.T) {
	for _, tc := range []struct {
		name      string
		limit     int
		wantPeak  int
		modelRefs int
	}{
		{"bounded", 2, 2, 4},
		{"one at a time", 1, 1, 3},
		{"zero is all at once", 0, 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			inflight, peak := 0, 0
			entered, release := make(chan struct{}), make(chan struct{})
			gate := func() {
				mu.Lock()
				inflight++
				peak = max(peak, inflight)
				mu.Unlock()
				entered <- struct{}{}
				<-release
				mu.Lock()
				inflight--
				mu.Unlock()
			}
			models := map[string]fakeModel{}
			var refs []string
			for i := range tc.modelRefs {
				name := string(rune('a' + i))
				models[name] = fakeModel{}
				refs = append(refs, name)
			}
			f := &fakeCaller{models: models, gate: gate}
			done := make(chan Result)
			go func() {
				done <- ratingsPlan(refs, &config.RatingsAlgorithm{MaxConcurrent: tc.limit}, "").Run(context.Background(), f, nil, discard())
			}()
			full := tc.wantPeak
			for range full {
				<-entered
			}
			for i := range tc.modelRefs {
				release <- struct{}{}
				if i+full < tc.modelRefs {
					<-entered // the freed slot is taken by the next call
				}
			}
			res := <-done
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if peak != tc.wantPeak {
				t.Errorf("peak concurrency %d, want %d", peak, tc.wantPeak)
			}
			if n := bytes.Count(res.Reply.Body, []byte(`"model":"`)); n != tc.modelRefs+1 {
				t.Errorf("%d model fields in %s", n, res.Reply.Body)
			}
		})
	}
}

// TestRatingsGolden pins the combined answer and its SSE rendering
// (testdata/ratings.*.golden; go test -update rewrites them).
func TestRatingsGolden(t *testing.T) {
	answers := []Answer{
		{Model: "small", Body: completion("small", fakeModel{logprobs: []float64{-0.5}, top2: -2})},
		{Model: "tools", Body: []byte(`{
  "id": "c-tools", "object": "chat.completion", "created": 9, "model": "tools-v2",
  "choices": [{"index": 0, "model": "ignored",
    "message": {"role": "assistant", "content": null, "reasoning_content": "need weather",
      "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
    "finish_reason": "tool_calls"}],
  "usage": {"prompt_tokens": 20, "completion_tokens": 6, "total_tokens": 26}}`)},
		{Model: `odd "name"`, Body: []byte(`{"choices":[{"message":{"content":"no id, no usage, no finish"}}]}`)},
	}
	body, err := Combine(nil, answers)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(body) {
		t.Fatalf("invalid JSON: %s", body)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body, "", "  "); err != nil {
		t.Fatal(err)
	}
	goldenFile(t, "ratings.completion.golden.json", append(pretty.Bytes(), '\n'))
	for _, tc := range []struct {
		name  string
		usage bool
	}{{"stream", false}, {"stream_usage", true}} {
		// the indented form too: line breaks must not reach a data line
		for _, in := range [][]byte{body, pretty.Bytes()} {
			stream, err := AppendStream(nil, in, tc.usage)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range strings.Split(strings.TrimSuffix(string(stream), "\n\n"), "\n\n") {
				data, ok := strings.CutPrefix(ev, "data: ")
				if !ok || strings.Contains(data, "\n") || (data != "[DONE]" && !json.Valid([]byte(data))) {
					t.Errorf("bad event %q", ev)
				}
			}
			goldenFile(t, "ratings."+tc.name+".golden.txt", stream)
		}
	}
	if _, err := AppendStream(nil, []byte(`{"error":"x"}`), false); err == nil {
		t.Error("an error body renders as a stream")
	}
	if _, err := Combine(nil, []Answer{{Model: "a", Body: []byte(`{"choices":[]}`)}}); err == nil {
		t.Error("an answer without a choice combines")
	}
}

func goldenFile(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (go test -update writes it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
