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

// searchService is a real HTTP server playing the search service: it
// records each request and answers a configured body and status.
type searchService struct {
	srv *httptest.Server

	mu       sync.Mutex
	status   int
	answer   string
	block    bool // wait for the client to give up
	requests []seen
}

type seen struct {
	method, query string
	header        http.Header
	body          string
}

func newSearchService(t *testing.T, answer string) *searchService {
	t.Helper()
	s := &searchService{status: http.StatusOK, answer: answer}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.requests = append(s.requests, seen{r.Method, r.URL.RawQuery, r.Header.Clone(), string(b)})
		status, answer, block := s.status, s.answer, s.block
		s.mu.Unlock()
		if block {
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *searchService) calls() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.requests...)
}

const threeDocs = `{"results":[
 {"content":"Paris is the capital of France.","score":0.91,"metadata":{"source":"geo.md"}},
 {"content":"Lyon is known for its food.","score":0.62},
 {"text":"France uses the euro.","score":0.83}]}`

func TestExternalAPIRequest(t *testing.T) {
	cases := []struct {
		name       string
		bc         map[string]any
		wantMethod string
		wantBody   string
		wantQuery  string
		wantHeader map[string]string
	}{
		{"default json body, bearer key",
			map[string]any{"api_key": "s3cret"}, "POST",
			`{"query":"capital \"of\" France?","top_k":2,"threshold":0.7}`, "",
			map[string]string{"Authorization": "Bearer s3cret", "Content-Type": "application/json"}},
		{"custom template, custom auth header, extra headers",
			map[string]any{"request_format": "custom", "api_key": "k1", "auth_header": "X-API-Key",
				"request_template": `{"query":"{{.Query}}","top_k":{{.TopK}},"threshold":{{.Threshold}}}`,
				"headers":          map[string]any{"X-Environment": "admin"}}, "POST",
			`{"query":"capital \"of\" France?","top_k":2,"threshold":0.7}`, "",
			map[string]string{"X-API-Key": "k1", "X-Environment": "admin", "Authorization": ""}},
		{"QueryJSON and RawQuery", map[string]any{"request_format": "custom", "content_type": "text/plain",
			"request_template": `q={{.QueryJSON}} raw={{.RawQuery}}`}, "POST",
			`q="capital \"of\" France?" raw=capital "of" France?`, "", map[string]string{"Content-Type": "text/plain"}},
		{"GET parameters", map[string]any{"method": "get"}, "GET", "",
			"query=capital+%22of%22+France%3F&threshold=0.7&top_k=2", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := newSearchService(t, threeDocs)
			tc.bc["endpoint"] = svc.srv.URL + "/query"
			e, err := NewExternalAPI(tc.bc, svc.srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			docs, err := e.Retrieve(context.Background(), Query{Text: `capital "of" France?`, TopK: 2, Threshold: 0.7})
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) != 3 {
				t.Fatalf("docs %d, want 3", len(docs))
			}
			c := svc.calls()[0]
			if c.method != tc.wantMethod || c.body != tc.wantBody || c.query != tc.wantQuery {
				t.Errorf("got %s body %q query %q, want %s %q %q", c.method, c.body, c.query, tc.wantMethod, tc.wantBody, tc.wantQuery)
			}
			if c.header.Get("Content-Type") == "application/json" && !json.Valid([]byte(c.body)) {
				t.Errorf("body is not JSON: %s", c.body)
			}
			for k, v := range tc.wantHeader {
				if got := c.header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestExternalAPIParse(t *testing.T) {
	cases := []struct {
		name    string
		bc      map[string]any
		body    string
		want    []Document
		wantErr string
	}{
		{"results object, content then text", nil, threeDocs, []Document{
			{Content: "Paris is the capital of France.", Score: 0.91, Metadata: map[string]any{"source": "geo.md"}},
			{Content: "Lyon is known for its food.", Score: 0.62},
			{Content: "France uses the euro.", Score: 0.83}}, ""},
		{"top-level array, strings, no score", nil, `["a",{"content":"b"}]`,
			[]Document{{Content: "a", Score: 1}, {Content: "b", Score: 1}}, ""},
		{"configured fields", map[string]any{"results_field": "data.hits", "content_field": "body", "score_field": "sim", "metadata_field": "meta"},
			`{"data":{"hits":[{"body":"x","sim":0.5,"meta":{"id":7}}]}}`,
			[]Document{{Content: "x", Score: 0.5, Metadata: map[string]any{"id": float64(7)}}}, ""},
		{"documents key", nil, `{"documents":[{"content":"d","score":0.4}]}`, []Document{{Content: "d", Score: 0.4}}, ""},
		{"not json", nil, `<html>`, nil, "not JSON"},
		{"no array", nil, `{"answer":"x"}`, nil, "no result array"},
		{"score not a number", nil, `[{"content":"x","score":"high"}]`, nil, `score_field "score" is not a number`},
		{"results_field not an array", map[string]any{"results_field": "x"}, `{"x":1}`, nil, "is not an array"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bc := map[string]any{"endpoint": "http://search.invalid/q"}
			for k, v := range tc.bc {
				bc[k] = v
			}
			e, err := NewExternalAPI(bc, nil)
			if err != nil {
				t.Fatal(err)
			}
			docs, err := e.Parse([]byte(tc.body))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			g, _ := json.Marshal(docs)
			w, _ := json.Marshal(tc.want)
			if string(g) != string(w) {
				t.Errorf("docs\n got %s\nwant %s", g, w)
			}
		})
	}
}

func TestNewExternalAPIErrors(t *testing.T) {
	_, err := NewExternalAPI(map[string]any{"endpoint": "ftp://x", "method": "PUT", "request_format": "custom",
		"headers": "x", "timeout_seconds": "slow"}, nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"endpoint:", "method:", "request_template: required", "headers:", "timeout_seconds:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if _, err := NewExternalAPI(map[string]any{"endpoint": "http://x", "request_format": "custom", "request_template": "{{.Nope"}, nil); err == nil {
		t.Error("bad template accepted")
	}
}

func TestExternalAPIFailures(t *testing.T) {
	t.Run("status", func(t *testing.T) {
		svc := newSearchService(t, `{"error":"boom"}`)
		svc.status = http.StatusBadGateway
		e, _ := NewExternalAPI(map[string]any{"endpoint": svc.srv.URL, "api_key": "hidden-key"}, svc.srv.Client())
		_, err := e.Retrieve(context.Background(), Query{Text: "q", TopK: 1})
		if !errors.Is(err, ErrBackend) || !strings.Contains(err.Error(), "status 502") {
			t.Fatalf("err %v", err)
		}
		if strings.Contains(err.Error(), "hidden-key") {
			t.Errorf("error leaks the api key: %v", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		svc := newSearchService(t, threeDocs)
		svc.block = true
		e, _ := NewExternalAPI(map[string]any{"endpoint": svc.srv.URL}, svc.srv.Client())
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := e.Retrieve(ctx, Query{Text: "q", TopK: 1})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v, want a deadline error", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		svc := newSearchService(t, threeDocs)
		url := svc.srv.URL
		svc.srv.Close()
		e, _ := NewExternalAPI(map[string]any{"endpoint": url}, nil)
		if _, err := e.Retrieve(context.Background(), Query{Text: "q", TopK: 1}); !errors.Is(err, ErrBackend) {
			t.Fatalf("err %v", err)
		}
	})
}

// TestPluginRetrieveCache: cache_results keeps a query's results for
// cache_ttl_seconds (injected clock), per backend and query.
func TestPluginRetrieveCache(t *testing.T) {
	svc := newSearchService(t, threeDocs)
	now := time.Unix(1000, 0)
	cache := NewCache(0, func() time.Time { return now })
	p, err := Compile(&config.RAGPlugin{Enabled: true, Backend: BackendExternalAPI, SimilarityThreshold: 0.7, TopK: 5,
		CacheResults: true, CacheTTLSeconds: 60, BackendConfig: map[string]any{"endpoint": svc.srv.URL}},
		Options{Cache: cache, HTTP: svc.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	step := func(name, q string, wantCached bool, wantCalls int) {
		t.Helper()
		res, err := p.Retrieve(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.Cached != wantCached || len(svc.calls()) != wantCalls || len(res.Docs) != 2 {
			t.Errorf("%s: cached %v calls %d docs %d, want %v %d 2", name, res.Cached, len(svc.calls()), len(res.Docs), wantCached, wantCalls)
		}
	}
	step("first", "capital of France", false, 1)
	step("hit", "capital of France", true, 1)
	step("other query", "euro", false, 2)
	now = now.Add(59 * time.Second)
	step("still fresh", "capital of France", true, 2)
	now = now.Add(time.Second)
	step("expired", "capital of France", false, 3)

	// Failures are not cached.
	svc.mu.Lock()
	svc.status = http.StatusInternalServerError
	svc.mu.Unlock()
	if _, err := p.Retrieve(ctx, "new question"); err == nil {
		t.Fatal("no error")
	}
	svc.mu.Lock()
	svc.status = http.StatusOK
	svc.mu.Unlock()
	step("after failure", "new question", false, 5)
}
