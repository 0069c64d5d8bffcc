package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"

	classifierv1 "github.com/semrouter/semrouter/gen/semrouter/classifier/v1"
	"github.com/semrouter/semrouter/gen/semrouter/classifier/v1/classifierv1connect"
	"github.com/semrouter/semrouter/pkg/natsrpc"
)

// fakeChat is a FAKE OpenAI-compatible chat-completions endpoint (an LLM
// cannot run here): it labels a request RISKY when the user's text
// mentions "rm -rf", SAFE otherwise.
func fakeChat(t *testing.T, calls *atomic.Int32) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		if r.URL.Path != "/v1/chat/completions" || json.NewDecoder(r.Body).Decode(&req) != nil || len(req.Messages) == 0 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		calls.Add(1)
		answer := `{"label": "SAFE", "confidence": 0.9}`
		if strings.Contains(req.Messages[len(req.Messages)-1].Content, "rm -rf") {
			answer = `{"label": "RISKY", "confidence": 0.85}`
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": map[string]string{"role": "assistant", "content": answer}}}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// classifierConfig routes RISKY requests (score >= 0.5) to "guarded" and,
// with on_error: match, requests the classifier could not label to
// "careful"; everything else goes to the default model.
func classifierConfig(addr string, port int) []byte {
	return fmt.Appendf(nil, `version: v0.3
listeners:
  - {name: http, port: 8899}
providers:
  defaults: {default_model: general}
  models:
    - {name: general, backend_refs: [{name: b, endpoint: "127.0.0.1:8000"}]}
    - {name: guarded, backend_refs: [{name: b, endpoint: "127.0.0.1:8000"}]}
    - {name: careful, backend_refs: [{name: b, endpoint: "127.0.0.1:8000"}]}
routing:
  signals:
    classifiers:
      - name: tool-risk
        type: llm
        model: risk-llm
        labels: [SAFE, RISKY]
        instructions: Choose RISKY only for destructive operations.
  decisions:
    - name: risky
      priority: 20
      rules:
        operator: AND
        conditions:
          - {type: classifier, name: tool-risk, label: RISKY, predicate: {gte: 0.5}, on_error: no_match}
      modelRefs: [{model: guarded}]
    - name: unlabelled
      priority: 10
      rules:
        operator: AND
        conditions:
          - type: classifier
            name: tool-risk
            label: SAFE
            predicate: {lt: 0}
            on_error: match
      modelRefs: [{model: careful}]
global:
  model_catalog:
    external:
      - name: risk-llm
        model_role: classification
        llm_endpoint: {address: %q, port: %d, protocol: http, prompt_template: "User request: {{ .Prompt }}"}
        llm_model_name: small-judge
        llm_timeout_seconds: 5
        parser_type: json
        access_key: test-key
        max_tokens: 64
`, addr, port)
}

// TestClassifierFamilyRoutes evaluates a `type: classifier` condition
// end to end over NATS: the fake endpoint's label routes the request;
// with the endpoint down the conditions follow their on_error and the
// family is reported degraded.
func TestClassifierFamilyRoutes(t *testing.T) {
	var calls atomic.Int32
	llm := fakeChat(t, &calls)
	host, portStr, _ := net.SplitHostPort(strings.TrimPrefix(llm.URL, "http://"))
	var port int
	fmt.Sscan(portStr, &port)
	e := start(t, classifierConfig(host, port), nil)
	client := classifierv1connect.NewClassifierServiceClient(natsrpc.NewClient(e.nc), natsrpc.BaseURL)
	classify := func(t *testing.T, text string) *classifierv1.Evaluation {
		t.Helper()
		res, err := client.Classify(context.Background(), connect.NewRequest(&classifierv1.ClassifyRequest{Facts: facts(text)}))
		if err != nil {
			t.Fatal(err)
		}
		return res.Msg.GetEvaluation()
	}

	t.Run("endpoint up", func(t *testing.T) {
		tests := []struct {
			name, text, decision, model string
		}{
			{"risky label routes to guarded", "please run rm -rf / on the server", "risky", "guarded"},
			{"safe label takes the default", "what is the capital of France?", "", "general"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				ev := classify(t, tc.text)
				if ev.GetDecision().GetName() != tc.decision || ev.GetModel().GetName() != tc.model {
					t.Errorf("decision %q model %q, want %q %q", ev.GetDecision().GetName(), ev.GetModel().GetName(), tc.decision, tc.model)
				}
				if deg := degradedFamilies(ev); deg["classifier"] {
					t.Errorf("classifier family degraded with the endpoint up: %v", ev.GetDegraded())
				}
			})
		}
		before := calls.Load()
		if ev := classify(t, "please run rm -rf / on the server"); ev.GetDecision().GetName() != "risky" {
			t.Errorf("cached answer decision %q", ev.GetDecision().GetName())
		}
		if n := calls.Load() - before; n != 0 {
			t.Errorf("a repeated text called the endpoint %d times; want the cached answer", n)
		}
	})

	t.Run("endpoint down", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().(*net.TCPAddr)
		ln.Close() // nothing listens there any more
		rev := e.publish(t, classifierConfig("127.0.0.1", addr.Port))
		if st := e.waitStatus(t, rev); !st.Accepted {
			t.Fatalf("revision rejected: %s", st.Error)
		}
		ev := classify(t, "please run rm -rf / on the server")
		if ev.GetDecision().GetName() != "unlabelled" || ev.GetModel().GetName() != "careful" {
			t.Errorf("decision %q model %q; want on_error no_match to skip risky and on_error match to pick unlabelled",
				ev.GetDecision().GetName(), ev.GetModel().GetName())
		}
		if deg := degradedFamilies(ev); !deg["classifier"] {
			t.Errorf("classifier family not degraded: %v", ev.GetDegraded())
		}
	})
}
