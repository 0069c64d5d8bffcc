package rag

import (
	"strings"
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
)

func TestSelect(t *testing.T) {
	docs := []Document{{Content: "low", Score: 0.2}, {Content: "best", Score: 0.95}, {Content: "   ", Score: 0.99},
		{Content: "mid", Score: 0.8}, {Content: "good", Score: 0.9}, {Content: "héllo wörld", Score: 0.85}}
	cases := []struct {
		name string
		p    Plugin
		want string // contents joined by |
	}{
		{"threshold and rank", Plugin{Threshold: 0.5, TopK: 10}, "best|good|héllo wörld|mid"},
		{"top_k", Plugin{Threshold: 0.5, TopK: 2}, "best|good"},
		{"no threshold keeps low", Plugin{TopK: 10}, "best|good|héllo wörld|mid|low"},
		{"cap truncates by characters", Plugin{Threshold: 0.5, TopK: 10, MaxChars: 4 + 4 + 3}, "best|good|hél"},
		{"cap at a boundary", Plugin{Threshold: 0.5, TopK: 10, MaxChars: 8}, "best|good"},
		{"threshold above all", Plugin{Threshold: 0.99, TopK: 10}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := docs[5].Content
			got := tc.p.Select(docs)
			var names []string
			for _, d := range got {
				names = append(names, d.Content)
			}
			if s := strings.Join(names, "|"); s != tc.want {
				t.Errorf("got %q, want %q", s, tc.want)
			}
			if docs[5].Content != before {
				t.Error("Select modified its input")
			}
		})
	}
}

func TestCompile(t *testing.T) {
	ep := map[string]any{"endpoint": "http://search:9/q"}
	cases := []struct {
		name    string
		c       *config.RAGPlugin
		nilWant bool
		wantErr string
		check   func(t *testing.T, p *Plugin)
	}{
		{"disabled", &config.RAGPlugin{Backend: BackendExternalAPI, BackendConfig: ep}, true, "", nil},
		{"milvus has no effect", &config.RAGPlugin{Enabled: true, Backend: BackendMilvus}, true, "", nil},
		{"mcp has no effect", &config.RAGPlugin{Enabled: true, Backend: BackendMCP}, true, "", nil},
		{"defaults", &config.RAGPlugin{Enabled: true, Backend: BackendExternalAPI, BackendConfig: ep}, false, "", func(t *testing.T, p *Plugin) {
			if p.Mode != InjectSystemPrompt || p.OnFailure != OnFailureWarn || p.TopK != DefaultTopK || p.CacheTTL != 0 {
				t.Errorf("defaults %+v", p)
			}
		}},
		{"cache ttl default", &config.RAGPlugin{Enabled: true, Backend: BackendExternalAPI, BackendConfig: ep, CacheResults: true}, false, "", func(t *testing.T, p *Plugin) {
			if p.CacheTTL != DefaultCacheTTL {
				t.Errorf("ttl %v", p.CacheTTL)
			}
		}},
		{"cache ttl", &config.RAGPlugin{Enabled: true, Backend: BackendExternalAPI, BackendConfig: ep, CacheResults: true, CacheTTLSeconds: 9}, false, "", func(t *testing.T, p *Plugin) {
			if p.CacheTTL != 9*time.Second {
				t.Errorf("ttl %v", p.CacheTTL)
			}
		}},
		{"bad mode", &config.RAGPlugin{Enabled: true, Backend: BackendExternalAPI, BackendConfig: ep, InjectionMode: "x"}, false, "injection_mode", nil},
		{"bad on_failure", &config.RAGPlugin{Enabled: true, Backend: BackendExternalAPI, BackendConfig: ep, OnFailure: "x"}, false, "on_failure", nil},
		{"no endpoint", &config.RAGPlugin{Enabled: true, Backend: BackendExternalAPI}, false, "endpoint: required", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile(tc.c, Options{Cache: NewCache(4, nil)})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (p == nil) != tc.nilWant {
				t.Fatalf("plugin %v, want nil %v", p, tc.nilWant)
			}
			if tc.check != nil {
				tc.check(t, p)
			}
		})
	}
}

func TestCacheBounded(t *testing.T) {
	now := time.Unix(0, 0)
	c := NewCache(2, func() time.Time { return now })
	c.Put("a", []Document{{Content: "a"}}, time.Minute)
	c.Put("b", nil, time.Minute)
	if _, ok := c.Get("a"); !ok { // a is now the most recent
		t.Fatal("a missing")
	}
	c.Put("c", nil, time.Minute)
	if _, ok := c.Get("b"); ok {
		t.Error("b (least recently used) was kept")
	}
	if _, ok := c.Get("a"); !ok {
		t.Error("a was evicted")
	}
	if c.Len() != 2 {
		t.Errorf("len %d", c.Len())
	}
	now = now.Add(time.Minute)
	if _, ok := c.Get("a"); ok {
		t.Error("expired entry served")
	}
}
