package apimode_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3/option"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/windows"
)

const looperWindowsConfig = `version: v0.3
listeners: [{name: http, port: 8899}]
providers:
  defaults: {default_model: small}
  models:
    - name: small
      pricing: {prompt_per_1m: 0.1, completion_per_1m: 0.2}
      backend_refs: [{name: s, endpoint: "SMALL"}]
    - name: large
      pricing: {prompt_per_1m: 1, completion_per_1m: 2}
      backend_refs: [{name: l, endpoint: "LARGE"}]
routing:
  signals:
    keywords: [{name: kw, keywords: [x]}]
  decisions:
    - name: cascade
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: large}, {model: small}]
      algorithm:
        type: confidence
        confidence: {confidence_method: logprob, threshold: 0.8, escalation_order: small_to_large, on_error: skip}
global:
  services:
    observability:
      metrics:
        windowed_metrics: {enabled: true, time_windows: [1m], update_interval: 1ms, model_metrics: true, queue_depth_estimation: true}
`

// inflightLLM is a FAKE LLM backend (no model server runs here): it
// answers with token logprobs (mode "sure" or "unsure") or an error
// status ("status:<code>"), and while it handles a request it notes the
// gateway's live in-flight count of every model.
type inflightLLM struct {
	name, mode string
	srv        *httptest.Server
	gw         func() *gateway.Gateway
	mu         sync.Mutex
	seen       []map[string]int64 // in-flight per model, one per request
}

func newInflightLLM(t *testing.T, name, mode string, gw func() *gateway.Gateway) *inflightLLM {
	f := &inflightLLM{name: name, mode: mode, gw: gw}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *inflightLLM) serve(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	snap := map[string]int64{}
	if rep := f.gw().ModelStats(); rep != nil {
		for _, m := range rep.Models {
			if m.InFlight != nil {
				snap[m.Model] = *m.InFlight
			}
		}
	}
	f.mu.Lock()
	f.seen = append(f.seen, snap)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	var code int
	if _, err := fmt.Sscanf(f.mode, "status:%d", &code); err == nil {
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error":{"message":"%s is down","type":"server_error"}}`, f.name)
		return
	}
	lp := -0.01
	if f.mode == "unsure" {
		lp = -1.5
	}
	fmt.Fprintf(w, `{"id":"c-%[1]s","object":"chat.completion","created":1,"model":"%[1]s","choices":[{"index":0,"message":{"role":"assistant","content":"answer from %[1]s"},"finish_reason":"stop","logprobs":{"content":[{"token":"a","logprob":%[2]g,"top_logprobs":[]}]}}],"usage":{"prompt_tokens":7,"completion_tokens":5,"total_tokens":12}}`, f.name, lp)
}

func (f *inflightLLM) snapshots() []map[string]int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]int64(nil), f.seen...)
}

// TestLooperWindowsCountSubCalls: a confidence cascade over two FAKE
// models counts each sub-call in its own model's windows (in flight while
// it runs, then one request with its latency, tokens and error), never
// the whole run on the served model, and every in-flight count returns to
// 0.
func TestLooperWindowsCountSubCalls(t *testing.T) {
	for _, tc := range []struct {
		name        string
		small       string
		smallErrors uint64
		smallTokens bool
	}{
		{name: "unsure small escalates to large", small: "unsure", smallTokens: true},
		{name: "failing small is skipped for large", small: "status:500", smallErrors: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e2e *apimode.E2E
			gw := func() *gateway.Gateway { return e2e.Gateway }
			small, large := newInflightLLM(t, "small", tc.small, gw), newInflightLLM(t, "large", "sure", gw)
			doc := strings.NewReplacer("SMALL", small.srv.Listener.Addr().String(), "LARGE", large.srv.Listener.Addr().String()).Replace(looperWindowsConfig)
			spec := apimode.SpecFromYAML(t, doc, "looper windows", func(config.Problem) bool { return false }, nil)
			// a clock that ticks 10ms per reading: latencies are positive
			// and every report read is past update_interval
			var mu sync.Mutex
			now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
			clock := func() time.Time {
				mu.Lock()
				defer mu.Unlock()
				now = now.Add(10 * time.Millisecond)
				return now
			}
			e2e = apimode.StartE2E(t, spec, gateway.Stages{Classifier: decisionClassifier{}},
				apimode.E2EOptions{GatewayOptions: []gateway.Option{gateway.WithClock(clock)}})
			var resp *http.Response
			comp, err := e2e.Client.Chat.Completions.New(context.Background(), ask("cascade"), option.WithResponseInto(&resp))
			if err != nil {
				t.Fatal(err)
			}
			if got := comp.Choices[0].Message.Content; got != "answer from large" {
				t.Fatalf("answer %q", got)
			}
			if got := resp.Header.Get(apimode.HeaderLooperModels); got != "small,large" {
				t.Fatalf("%s %q", apimode.HeaderLooperModels, got)
			}
			// while each sub-call ran, only its own model was in flight
			for name, f := range map[string]*inflightLLM{"small": small, "large": large} {
				other := map[string]string{"small": "large", "large": "small"}[name]
				snaps := f.snapshots()
				if len(snaps) != 1 || snaps[0][name] != 1 || snaps[0][other] != 0 {
					t.Errorf("in flight seen by %s: %v, want %s 1 and %s 0", name, snaps, name, other)
				}
			}
			rep := e2e.Gateway.ModelStats()
			got := map[string]windows.ModelReport{}
			for _, m := range rep.Models {
				got[m.Model] = m
			}
			for _, w := range []struct {
				model  string
				errors uint64
				tokens bool
			}{{"small", tc.smallErrors, tc.smallTokens}, {"large", 0, true}} {
				m, ok := got[w.model]
				if !ok || len(m.Windows) != 1 {
					t.Fatalf("%s: no windows in %+v", w.model, rep.Models)
				}
				ws := m.Windows[0]
				if ws.Requests != 1 || ws.Errors != w.errors {
					t.Errorf("%s: %d requests, %d errors; want 1, %d", w.model, ws.Requests, ws.Errors, w.errors)
				}
				if ws.Latency == nil || ws.Latency.Count != 1 || ws.Latency.P50 <= 0 {
					t.Errorf("%s: latency %+v, want one positive sample", w.model, ws.Latency)
				}
				if (ws.CompletionTokensPerSecond > 0) != w.tokens {
					t.Errorf("%s: completion tokens/s %g, want tokens %v", w.model, ws.CompletionTokensPerSecond, w.tokens)
				}
				if m.InFlight == nil || *m.InFlight != 0 {
					t.Errorf("%s: in flight %v after the run", w.model, m.InFlight)
				}
			}
		})
	}
}
