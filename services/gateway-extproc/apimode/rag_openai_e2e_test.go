package apimode_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

const ragOpenAIConfig = apimode.KeywordDocHead + `    - name: manuals
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: rag
          configuration:
            enabled: true
            backend: openai
            similarity_threshold: 0.7
            top_k: 2
            injection_mode: tool_role
            on_failure: warn
            backend_config:
              vector_store_id: vs_docs_prod
              base_url: "VECTORS"
              api_key_env: SEMROUTER_TEST_VS_KEY
              max_num_results: 12
              file_ids: [file_a, file_b]
              filter: {doc_type: manual}
              timeout_seconds: 20
              workflow_mode: tool_based
    - name: strict
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: rag
          configuration:
            enabled: true
            backend: openai
            on_failure: block
            backend_config: {vector_store_id: vs_docs_prod, base_url: "VECTORS", api_key: sk-inline}
    - name: both
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: rag
          configuration:
            enabled: true
            backend: hybrid
            similarity_threshold: 0.5
            top_k: 3
            on_failure: warn
            backend_config:
              primary: openai
              fallback: external_api
              strategy: parallel
              primary_config: {vector_store_id: vs_docs_prod, base_url: "VECTORS", api_key: sk-inline}
              fallback_config: {endpoint: "SEARCH/query"}
`

// fakeVectorStoreAPI is a FAKE of the OpenAI vector store search endpoint
// (api.openai.com is not reachable here) on a real HTTP server.
type fakeVectorStoreAPI struct {
	srv   *httptest.Server
	mu    sync.Mutex
	down  bool
	calls []map[string]any // path, auth, body
}

func newFakeVectorStoreAPI(t *testing.T) *fakeVectorStoreAPI {
	f := &fakeVectorStoreAPI{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(b, &body)
		f.mu.Lock()
		f.calls = append(f.calls, map[string]any{"path": r.URL.Path, "auth": r.Header.Get("Authorization"), "body": body})
		down := f.down
		f.mu.Unlock()
		if down {
			http.Error(w, `{"error":{"message":"unavailable","type":"server_error"}}`, http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"object":"vector_store.search_results.page","search_query":["q"],"has_more":false,"next_page":null,"data":[
			{"file_id":"file_a","filename":"router.md","score":0.91,"attributes":{"doc_type":"manual"},"content":[{"type":"text","text":"Hold the reset button for 10 seconds."}]},
			{"file_id":"file_b","filename":"leds.md","score":0.84,"attributes":{"doc_type":"manual"},"content":[{"type":"text","text":"A blinking amber LED means no uplink."}]},
			{"file_id":"file_c","filename":"other.md","score":0.97,"attributes":{"doc_type":"manual"},"content":[{"type":"text","text":"A file outside file_ids."}]},
			{"file_id":"file_a","filename":"router.md","score":0.4,"attributes":{"doc_type":"manual"},"content":[{"type":"text","text":"Below the threshold."}]}]}`)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeVectorStoreAPI) last(t *testing.T) map[string]any {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		t.Fatal("the vector store was not asked")
	}
	return f.calls[len(f.calls)-1]
}

// TestRAGOpenAIThroughAPIMode sends requests with the OpenAI SDK through
// API mode to a FAKE LLM backend; the rag plugin searches a FAKE OpenAI
// vector store (and, for hybrid, a real HTTP search service).
func TestRAGOpenAIThroughAPIMode(t *testing.T) {
	t.Setenv("SEMROUTER_TEST_VS_KEY", "sk-from-env")
	llm := newRecordingLLM(t)
	vectors := newFakeVectorStoreAPI(t)
	search := newSearchAPI(t)
	doc := strings.NewReplacer("BACKEND", llm.srv.Listener.Addr().String(), "VECTORS", vectors.srv.URL, "SEARCH", search.srv.URL).Replace(ragOpenAIConfig)
	spec := apimode.SpecFromYAML(t, doc, "rag openai e2e", apimode.PluginProblem, nil)
	spec.StageTimeout = 30 * time.Second // a slow CI machine must not degrade the loopback search
	client := apimode.StartE2E(t, spec, gateway.Stages{Classifier: decisionClassifier{}}, apimode.E2EOptions{}).Client
	ctx := context.Background()
	ask := func(text string) (*http.Response, error) {
		var resp *http.Response
		_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "auto",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}}, option.WithResponseInto(&resp))
		return resp, err
	}

	t.Run("tool_based injects the vector store passages as a tool result", func(t *testing.T) {
		resp, err := ask("manuals how do I reset the router?")
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Header.Get("x-vsr-rag-documents"); got != "2" {
			t.Errorf("x-vsr-rag-documents %q, want 2", got)
		}
		call := vectors.last(t)
		if call["path"] != "/v1/vector_stores/vs_docs_prod/search" || call["auth"] != "Bearer sk-from-env" {
			t.Errorf("search request %v", call)
		}
		body, _ := json.Marshal(call["body"])
		if want := `{"filters":{"key":"doc_type","type":"eq","value":"manual"},"max_num_results":12,"query":"manuals how do I reset the router?","ranking_options":{"score_threshold":0.7}}`; string(body) != want {
			t.Errorf("search body %s\nwant %s", body, want)
		}
		got := llm.last(t)
		if r := strings.Join(roles(got), ","); r != "user,assistant+tool_calls,tool" {
			t.Fatalf("backend messages %s", r)
		}
		tool := got["messages"].([]any)[2].(map[string]any)["content"].(string)
		if !strings.Contains(tool, "[1] Hold the reset button for 10 seconds.") || !strings.Contains(tool, "[2] A blinking amber LED means no uplink.") ||
			strings.Contains(tool, "outside file_ids") || strings.Contains(tool, "Below the threshold") {
			t.Errorf("tool message %q", tool)
		}
	})
	t.Run("hybrid parallel merges both backends", func(t *testing.T) {
		resp, err := ask("both what do the LEDs mean?")
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Header.Get("x-vsr-rag-documents"); got != "3" {
			t.Errorf("x-vsr-rag-documents %q, want 3", got)
		}
		sys := llm.last(t)["messages"].([]any)[0].(map[string]any)["content"].(string)
		// Vector store 0.97, 0.91 (file_ids unset here) and the search
		// service's 0.92: best first.
		if !strings.Contains(sys, "[1] A file outside file_ids.") || !strings.Contains(sys, "[2] Widgets ship within 3 days.") ||
			!strings.Contains(sys, "[3] Hold the reset button") {
			t.Errorf("system message %q", sys)
		}
	})
	vectors.mu.Lock()
	vectors.down = true
	vectors.mu.Unlock()
	t.Run("vector store down: on_failure warn degrades", func(t *testing.T) {
		resp, err := ask("manuals is the LED amber?")
		if err != nil {
			t.Fatal(err)
		}
		if d := resp.Header.Get("x-vsr-degraded"); d != "rag" {
			t.Errorf("x-vsr-degraded %q, want rag", d)
		}
		if got := resp.Header.Get("x-vsr-rag-documents"); got != "0" {
			t.Errorf("x-vsr-rag-documents %q, want 0", got)
		}
		if r := strings.Join(roles(llm.last(t)), ","); r != "user" {
			t.Errorf("backend messages %s, want the request unchanged", r)
		}
	})
	t.Run("vector store down: hybrid answers from the other backend", func(t *testing.T) {
		resp, err := ask("both is the LED amber?")
		if err != nil {
			t.Fatal(err)
		}
		if d := resp.Header.Get("x-vsr-degraded"); d != "" {
			t.Errorf("x-vsr-degraded %q, want none", d)
		}
		if got := resp.Header.Get("x-vsr-rag-documents"); got != "3" {
			t.Errorf("x-vsr-rag-documents %q, want 3 (from the search service)", got)
		}
	})
	t.Run("vector store down: on_failure block", func(t *testing.T) {
		llm.mu.Lock()
		n := len(llm.bodies)
		llm.mu.Unlock()
		_, err := ask("strict anything")
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable || apiErr.Code != "rag_unavailable" {
			t.Fatalf("err %v, want a 503 rag_unavailable", err)
		}
		if call := vectors.last(t); call["auth"] != "Bearer sk-inline" {
			t.Errorf("auth %v", call["auth"])
		}
		llm.mu.Lock()
		defer llm.mu.Unlock()
		if len(llm.bodies) != n {
			t.Error("a blocked request reached the backend")
		}
	})
}
