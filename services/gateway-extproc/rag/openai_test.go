package rag

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

	"github.com/semrouter/semrouter/pkg/config"
)

// fakeVectorStore is a FAKE of the OpenAI vector store search endpoint
// (the real API is not reachable here), served by a real HTTP server. It
// records each request (path, Authorization, JSON body) and answers the
// configured results, or a status.
type fakeVectorStore struct {
	srv *httptest.Server

	mu       sync.Mutex
	status   int
	results  string // the "data" array
	block    bool
	requests []vsRequest
}

type vsRequest struct {
	Method, Path, Auth string
	Body               map[string]any
}

const vsResults = `[
 {"file_id":"file_a","filename":"manual.md","score":0.93,"attributes":{"doc_type":"manual"},
  "content":[{"type":"text","text":"Reset the router by holding the button for 10 seconds."},{"type":"text","text":"The LED blinks twice."}]},
 {"file_id":"file_b","filename":"faq.md","score":0.81,"attributes":{},"content":[{"type":"text","text":"Firmware updates install overnight."}]},
 {"file_id":"file_z","filename":"other.md","score":0.99,"attributes":{},"content":[{"type":"text","text":"Not in the allowed files."}]}]`

func newFakeVectorStore(t testing.TB) *fakeVectorStore {
	t.Helper()
	f := &fakeVectorStore{status: http.StatusOK, results: vsResults}
	stop := make(chan struct{})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(b, &body)
		f.mu.Lock()
		f.requests = append(f.requests, vsRequest{r.Method, r.URL.Path, r.Header.Get("Authorization"), body})
		status, results, block := f.status, f.results, f.block
		f.mu.Unlock()
		if block {
			select {
			case <-r.Context().Done():
			case <-stop:
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if status != http.StatusOK {
			w.WriteHeader(status)
			_, _ = io.WriteString(w, `{"error":{"message":"store offline","type":"server_error","code":null}}`)
			return
		}
		_, _ = io.WriteString(w, `{"object":"vector_store.search_results.page","search_query":["q"],"has_more":false,"next_page":null,"data":`+results+`}`)
	}))
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(stop) })
	return f
}

func (f *fakeVectorStore) calls() []vsRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]vsRequest(nil), f.requests...)
}

func (f *fakeVectorStore) set(status int, results string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.results = status, results
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestOpenAIVectorStoreRequest(t *testing.T) {
	cases := []struct {
		name      string
		bc        map[string]any
		env       map[string]string
		q         Query
		wantPath  string
		wantAuth  string
		wantBody  string // JSON of the decoded request body
		wantFiles []string
	}{
		{"reference shape: filter, file_ids, threshold",
			map[string]any{"vector_store_id": "vs_docs", "api_key": "sk-test", "max_num_results": 12,
				"file_ids": []any{"file_b", "file_a"}, "filter": map[string]any{"doc_type": "manual"}},
			nil, Query{Text: "how do I reset?", TopK: 8, Threshold: 0.73},
			"/v1/vector_stores/vs_docs/search", "Bearer sk-test",
			`{"filters":{"key":"doc_type","type":"eq","value":"manual"},"max_num_results":12,"query":"how do I reset?","ranking_options":{"score_threshold":0.73}}`,
			[]string{"file_a", "file_b"}},
		{"several keys: compound and, in for a list; key from env; base_url with /v1",
			map[string]any{"vector_store_id": "vs_2", "api_key_env": "VS_KEY", "base_url": "BASE/v1/",
				"filter": map[string]any{"tier": []any{"gold", 2}, "lang": "en", "public": true}},
			map[string]string{"VS_KEY": "sk-env"}, Query{Text: "q", TopK: 3},
			"/v1/vector_stores/vs_2/search", "Bearer sk-env",
			`{"filters":{"filters":[{"key":"lang","type":"eq","value":"en"},{"key":"public","type":"eq","value":true},{"key":"tier","type":"in","value":["gold",2]}],"type":"and"},"max_num_results":3,"query":"q"}`,
			[]string{"file_a", "file_b", "file_z"}},
		{"no key: no Authorization; top_k above 50 is capped",
			map[string]any{"vector_store_id": "vs_3"}, nil, Query{Text: "q", TopK: 80},
			"/v1/vector_stores/vs_3/search", "", `{"max_num_results":50,"query":"q"}`,
			[]string{"file_a", "file_b", "file_z"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFakeVectorStore(t)
			bc := map[string]any{"base_url": fake.srv.URL}
			for k, v := range tc.bc {
				if s, ok := v.(string); ok {
					v = strings.Replace(s, "BASE", fake.srv.URL, 1)
				}
				bc[k] = v
			}
			o, err := NewOpenAIVectorStore(bc, fake.srv.Client(), func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			docs, err := o.Retrieve(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			c := fake.calls()
			if len(c) != 1 {
				t.Fatalf("%d requests", len(c))
			}
			if c[0].Method != http.MethodPost || c[0].Path != tc.wantPath || c[0].Auth != tc.wantAuth {
				t.Errorf("request %s %s auth %q, want POST %s %q", c[0].Method, c[0].Path, c[0].Auth, tc.wantPath, tc.wantAuth)
			}
			if got := jsonOf(c[0].Body); got != tc.wantBody {
				t.Errorf("body\n got %s\nwant %s", got, tc.wantBody)
			}
			var files []string
			for _, d := range docs {
				files = append(files, d.Metadata["file_id"].(string))
				if d.Metadata["file_id"] == "file_a" && !strings.Contains(d.Content, "LED blinks") {
					t.Errorf("text parts not joined: %q", d.Content)
				}
			}
			if strings.Join(files, ",") != strings.Join(tc.wantFiles, ",") {
				t.Errorf("files %v, want %v", files, tc.wantFiles)
			}
		})
	}
}

func TestOpenAIVectorStoreDocuments(t *testing.T) {
	fake := newFakeVectorStore(t)
	o, err := NewOpenAIVectorStore(map[string]any{"vector_store_id": "vs", "base_url": fake.srv.URL}, fake.srv.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := o.Retrieve(context.Background(), Query{Text: "reset", TopK: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 3 {
		t.Fatalf("%d docs", len(docs))
	}
	d := docs[0]
	if d.Content != "Reset the router by holding the button for 10 seconds.\nThe LED blinks twice." || d.Score != 0.93 {
		t.Errorf("doc %+v", d)
	}
	want := `{"attributes":{"doc_type":"manual"},"file_id":"file_a","filename":"manual.md","score":0.93}`
	if got := jsonOf(d.Metadata); got != want {
		t.Errorf("metadata %s, want %s", got, want)
	}
}

func TestNewOpenAIVectorStoreErrors(t *testing.T) {
	cases := []struct {
		name string
		bc   map[string]any
		want []string
	}{
		{"missing store, bad url", map[string]any{"base_url": "ftp://x"}, []string{"vector_store_id: required", "base_url:"}},
		{"both keys", map[string]any{"vector_store_id": "v", "api_key": "a", "api_key_env": "B"}, []string{"set only one"}},
		{"max_num_results range", map[string]any{"vector_store_id": "v", "max_num_results": 0}, []string{"max_num_results: must be between 1 and 50"}},
		{"max_num_results type", map[string]any{"vector_store_id": "v", "max_num_results": "many"}, []string{"max_num_results: expected an integer"}},
		{"file_ids", map[string]any{"vector_store_id": "v", "file_ids": []any{"ok", 3}}, []string{"file_ids[1]"}},
		{"filter values", map[string]any{"vector_store_id": "v", "filter": map[string]any{"a": map[string]any{}, "b": []any{}}}, []string{"filter: a:", "b: an empty list"}},
		{"timeout", map[string]any{"vector_store_id": "v", "timeout_seconds": -1}, []string{"timeout_seconds: must not be negative"}},
		{"workflow", map[string]any{"vector_store_id": "v", "workflow_mode": "agentic"}, []string{"workflow_mode:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewOpenAIVectorStore(tc.bc, nil, nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestOpenAIVectorStoreFailures(t *testing.T) {
	t.Run("status, key not leaked", func(t *testing.T) {
		fake := newFakeVectorStore(t)
		fake.set(http.StatusUnauthorized, "")
		o, _ := NewOpenAIVectorStore(map[string]any{"vector_store_id": "vs", "base_url": fake.srv.URL, "api_key": "sk-hidden"}, fake.srv.Client(), nil)
		_, err := o.Retrieve(context.Background(), Query{Text: "q", TopK: 1})
		if !errors.Is(err, ErrBackend) || !strings.Contains(err.Error(), "status 401") {
			t.Fatalf("err %v", err)
		}
		if strings.Contains(err.Error(), "sk-hidden") {
			t.Errorf("error leaks the key: %v", err)
		}
		if n := len(fake.calls()); n != 1 {
			t.Errorf("%d requests, want 1 (no retries)", n)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		fake := newFakeVectorStore(t)
		fake.block = true
		o, _ := NewOpenAIVectorStore(map[string]any{"vector_store_id": "vs", "base_url": fake.srv.URL}, fake.srv.Client(), nil)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := o.Retrieve(ctx, Query{Text: "q", TopK: 1}); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrBackend) {
			t.Fatalf("err %v, want a backend deadline error", err)
		}
	})
	t.Run("server down", func(t *testing.T) {
		fake := newFakeVectorStore(t)
		url := fake.srv.URL
		fake.srv.Close()
		o, _ := NewOpenAIVectorStore(map[string]any{"vector_store_id": "vs", "base_url": url}, nil, nil)
		if _, err := o.Retrieve(context.Background(), Query{Text: "q", TopK: 1}); !errors.Is(err, ErrBackend) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("api_key_env unset", func(t *testing.T) {
		fake := newFakeVectorStore(t)
		o, err := NewOpenAIVectorStore(map[string]any{"vector_store_id": "vs", "base_url": fake.srv.URL, "api_key_env": "NOPE"},
			fake.srv.Client(), func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := o.Retrieve(context.Background(), Query{Text: "q", TopK: 1}); !errors.Is(err, ErrBackend) || !strings.Contains(err.Error(), "NOPE is not set") {
			t.Fatalf("err %v", err)
		}
		if len(fake.calls()) != 0 {
			t.Error("searched without the key")
		}
	})
}

// TestCompileOpenAI: the plugin settings apply to backend openai as to
// external_api (threshold, top_k, cap, cache), and workflow_mode
// tool_based injects as tool_role.
func TestCompileOpenAI(t *testing.T) {
	fake := newFakeVectorStore(t)
	now := time.Unix(1000, 0)
	cache := NewCache(0, func() time.Time { return now })
	c := &config.RAGPlugin{Enabled: true, Backend: BackendOpenAI, SimilarityThreshold: 0.8, TopK: 2, MaxContextLength: 84,
		CacheResults: true, CacheTTLSeconds: 30, InjectionMode: InjectSystemPrompt,
		BackendConfig: map[string]any{"vector_store_id": "vs", "base_url": fake.srv.URL, "workflow_mode": "tool_based", "file_ids": []any{"file_a", "file_b"}}}
	p, err := Compile(c, Options{Cache: cache, HTTP: fake.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != InjectToolRole {
		t.Errorf("mode %q, want tool_role (workflow_mode tool_based)", p.Mode)
	}
	res, err := p.Retrieve(context.Background(), "reset")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Docs) != 2 || res.Docs[0].Metadata["file_id"] != "file_a" || res.Docs[1].Content != "Firmware" {
		t.Errorf("docs %s", jsonOf(res.Docs))
	}
	if res2, _ := p.Retrieve(context.Background(), "reset"); !res2.Cached || len(fake.calls()) != 1 {
		t.Errorf("second query: cached %v, %d requests", res2.Cached, len(fake.calls()))
	}
}
