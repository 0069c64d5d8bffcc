package apimode_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/devllm"
	"github.com/semrouter/semrouter/pkg/redistest"
	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

const sharedReplayConfig = apimode.KeywordDocHead + `    - name: rec
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins: [{type: router_replay, configuration: {enabled: true, max_records: 50, capture_request_body: true}}]
global:
  services:
    router_replay:
      enabled: true
      store_backend: redis
      ttl_seconds: 3600
      async_writes: true
      redis: {address: "REDIS", key_prefix: "e2e:replay:", pool_size: 4}
`

// recDecision is a TEST DOUBLE of the classifier stage (the real one
// lives in another module): every request is routed by decision rec.
type recDecision struct{}

func (recDecision) Classify(context.Context, *gateway.RouteRequest) (*gateway.Decision, error) {
	return &gateway.Decision{Name: "rec", Confidence: 1, Matched: map[string][]string{"keyword": {"kw"}}}, nil
}

// TestRouterReplaySharedRedis runs two API-mode replicas against one
// real redis-server (store_backend: redis, async writes) in front of
// pkg/devllm: each replica lists both replicas' records, a replica
// started later (a restart) still reads them, and with redis down
// requests are still served while reads answer 503.
func TestRouterReplaySharedRedis(t *testing.T) {
	rs := redistest.Start(t)
	llm := httptest.NewServer(devllm.New(devllm.Options{Name: "m1"}))
	t.Cleanup(llm.Close)
	doc := strings.NewReplacer("BACKEND", llm.Listener.Addr().String(), "REDIS", rs.Addr).Replace(sharedReplayConfig)
	spec := apimode.SpecFromYAML(t, doc, "replay e2e", func(p config.Problem) bool {
		return strings.HasPrefix(p.Path, "global.services.router_replay") || apimode.PluginProblem(p)
	}, nil)
	start := func() *apimode.E2E {
		return apimode.StartE2E(t, spec, gateway.Stages{Classifier: recDecision{}}, apimode.E2EOptions{})
	}
	a, b := start(), start()
	ctx := context.Background()
	send := func(t *testing.T, e *apimode.E2E, rid string) {
		t.Helper()
		if _, err := e.Client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "auto",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x marks " + rid)}},
			option.WithHeader("x-request-id", rid)); err != nil {
			t.Fatalf("request %s: %v", rid, err)
		}
	}
	for i := range 3 {
		send(t, a, fmt.Sprintf("a-%d", i))
		send(t, b, fmt.Sprintf("b-%d", i))
	}
	a.Gateway.Wait() // the async writes
	b.Gateway.Wait()
	list := func(t *testing.T, e *apimode.E2E) replayList {
		t.Helper()
		code, body := getReplay(t, e.URL+apimode.PathRouterReplay, "")
		var l replayList
		if code != http.StatusOK || json.Unmarshal(body, &l) != nil {
			t.Fatalf("list: %d %s", code, body)
		}
		return l
	}
	for name, e := range map[string]*apimode.E2E{"a": a, "b": b, "restarted": start()} {
		l := list(t, e)
		var got []string
		for _, r := range l.Data {
			got = append(got, r.RequestID)
		}
		if want := "b-2,a-2,b-1,a-1,b-0,a-0"; strings.Join(got, ",") != want {
			t.Errorf("replica %s lists %v, want %s", name, got, want)
		}
		if l.Stats.Records != 6 || l.Stats.Backend != "redis" {
			t.Errorf("replica %s: stats %+v", name, l.Stats)
		}
	}
	code, body := getReplay(t, a.URL+apimode.PathRouterReplay+"/b-1", "")
	var rec gateway.ReplayRecord
	if code != http.StatusOK || json.Unmarshal(body, &rec) != nil || rec.RequestID != "b-1" || rec.Decision != "rec" ||
		rec.SelectedModel != "m1" || rec.Status != 200 || !strings.Contains(rec.RequestBody, "x marks b-1") {
		t.Fatalf("b's record through a: %d %s", code, body)
	}

	rs.Stop()
	send(t, a, "a-down") // served although its record cannot be kept
	a.Gateway.Wait()
	if code, body := getReplay(t, a.URL+apimode.PathRouterReplay, ""); code != http.StatusServiceUnavailable ||
		!strings.Contains(string(body), "replay_store_unavailable") {
		t.Errorf("list with redis down: %d %s, want 503", code, body)
	}
	s, ok := a.Gateway.ReplayStore().(*gateway.RedisReplayStore)
	if !ok {
		t.Fatalf("store %T", a.Gateway.ReplayStore())
	}
	if qf, failed := s.Dropped(); qf != 0 || failed != 1 {
		t.Errorf("dropped %d to a full queue, %d failed; want 1 failed", qf, failed)
	}
}
