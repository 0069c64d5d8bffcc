package apimode_test

import (
	"context"
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

const ragConfig = apimode.KeywordDocHead + `    - name: docs
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: system_prompt
          configuration: {enabled: true, system_prompt: "You answer questions about our product."}
        - type: rag
          configuration:
            enabled: true
            backend: external_api
            similarity_threshold: 0.7
            top_k: 2
            max_context_length: 2000
            injection_mode: system_prompt
            on_failure: block
            cache_results: true
            cache_ttl_seconds: 600
            backend_config:
              endpoint: "SEARCH/query"
              api_key: search-api-key
              auth_header: X-API-Key
              request_format: custom
              request_template: '{"query":"{{.Query}}","top_k":{{.TopK}},"threshold":{{.Threshold}}}'
              timeout_seconds: 15
              headers: {X-Environment: test}
    - name: agent
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: rag
          configuration:
            enabled: true
            backend: external_api
            injection_mode: tool_role
            on_failure: warn
            backend_config: {endpoint: "SEARCH/query"}
`

// searchAPI is a real HTTP server playing the search service.
type searchAPI struct {
	srv   *httptest.Server
	mu    sync.Mutex
	fail  bool
	calls []string // request bodies
	keys  []string // X-API-Key values
}

func newSearchAPI(t *testing.T) *searchAPI {
	s := &searchAPI{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.calls = append(s.calls, string(b))
		s.keys = append(s.keys, r.Header.Get("X-API-Key"))
		fail := s.fail
		s.mu.Unlock()
		if fail {
			http.Error(w, "index offline", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"results":[
			{"content":"Widgets ship within 3 days.","score":0.92,"metadata":{"source":"shipping.md"}},
			{"content":"Returns are free for 30 days.","score":0.81},
			{"content":"Our office dog is called Rex.","score":0.3},
			{"content":"Gift cards never expire.","score":0.75}]}`)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *searchAPI) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// TestRAGThroughAPIMode sends requests with the OpenAI SDK through API
// mode (config → routes → gateway → upstream) and checks what the FAKE LLM
// backend received and what the search service was asked.
func TestRAGThroughAPIMode(t *testing.T) {
	llm := newRecordingLLM(t)
	search := newSearchAPI(t)
	doc := strings.NewReplacer("BACKEND", llm.srv.Listener.Addr().String(), "SEARCH", search.srv.URL).Replace(ragConfig)
	spec := apimode.SpecFromYAML(t, doc, "rag e2e", apimode.PluginProblem, nil)
	spec.StageTimeout = 30 * time.Second // a slow CI machine must not degrade the loopback search
	client := apimode.StartE2E(t, spec, gateway.Stages{Classifier: decisionClassifier{}}, apimode.E2EOptions{}).Client
	ctx := context.Background()
	ask := func(text string) (*http.Response, error) {
		var resp *http.Response
		_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "auto",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}}, option.WithResponseInto(&resp))
		return resp, err
	}

	t.Run("system_prompt with a custom request", func(t *testing.T) {
		resp, err := ask(`docs how fast do "widgets" ship?`)
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Header.Get("x-vsr-rag-documents"); got != "2" {
			t.Errorf("x-vsr-rag-documents %q, want 2", got)
		}
		got := llm.last(t)
		if r := strings.Join(roles(got), ","); r != "system,user" {
			t.Fatalf("backend messages %s", r)
		}
		sys := got["messages"].([]any)[0].(map[string]any)["content"].(string)
		if !strings.HasPrefix(sys, "You answer questions about our product.\n\n") ||
			!strings.Contains(sys, "[1] Widgets ship within 3 days.") || !strings.Contains(sys, "[2] Returns are free for 30 days.") ||
			strings.Contains(sys, "Gift cards") || strings.Contains(sys, "Rex") {
			t.Errorf("system message %q", sys)
		}
		search.mu.Lock()
		body, key := search.calls[0], search.keys[0]
		search.mu.Unlock()
		if want := `{"query":"docs how fast do \"widgets\" ship?","top_k":2,"threshold":0.7}`; body != want {
			t.Errorf("search request %s, want %s", body, want)
		}
		if key != "search-api-key" {
			t.Errorf("search X-API-Key %q", key)
		}
	})
	t.Run("cache_results answers the same query again", func(t *testing.T) {
		before := search.count()
		if _, err := ask(`docs how fast do "widgets" ship?`); err != nil {
			t.Fatal(err)
		}
		if search.count() != before {
			t.Errorf("search asked again: %d calls, want %d", search.count(), before)
		}
		if !strings.Contains(llm.last(t)["messages"].([]any)[0].(map[string]any)["content"].(string), "Widgets ship") {
			t.Error("cached context not injected")
		}
	})
	t.Run("tool_role", func(t *testing.T) {
		resp, err := ask("agent where is my parcel?")
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Header.Get("x-vsr-rag-documents"); got != "4" {
			t.Errorf("x-vsr-rag-documents %q, want 4 (no threshold)", got)
		}
		if r := strings.Join(roles(llm.last(t)), ","); r != "user,assistant+tool_calls,tool" {
			t.Errorf("backend messages %s", r)
		}
	})
	search.mu.Lock()
	search.fail = true
	search.mu.Unlock()
	t.Run("on_failure warn", func(t *testing.T) {
		resp, err := ask("agent where is my parcel now?")
		if err != nil {
			t.Fatal(err)
		}
		if d := resp.Header.Get("x-vsr-degraded"); d != "rag" {
			t.Errorf("x-vsr-degraded %q, want rag", d)
		}
		if r := strings.Join(roles(llm.last(t)), ","); r != "user" {
			t.Errorf("backend messages %s, want the request unchanged", r)
		}
	})
	t.Run("on_failure block", func(t *testing.T) {
		llm.mu.Lock()
		n := len(llm.bodies)
		llm.mu.Unlock()
		_, err := ask("docs a question never asked before")
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable || apiErr.Code != "rag_unavailable" {
			t.Fatalf("err %v, want a 503 rag_unavailable", err)
		}
		llm.mu.Lock()
		defer llm.mu.Unlock()
		if len(llm.bodies) != n {
			t.Error("a blocked request reached the backend")
		}
	})
}
