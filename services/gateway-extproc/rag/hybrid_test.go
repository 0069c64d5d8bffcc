package rag

import (
	"context"
	"errors"
	"hash/maphash"
	"net/http"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
)

func contents(docs []Document) string {
	var s []string
	for _, d := range docs {
		s = append(s, d.Content)
	}
	return strings.Join(s, "|")
}

func TestMerge(t *testing.T) {
	a := []Document{{Content: "Paris is the capital.", Score: 0.9}, {Content: "low", Score: 0.2}, {Content: "  ", Score: 0.99},
		{Content: "shared by id A", Score: 0.7, Metadata: map[string]any{"id": "7"}}}
	b := []Document{{Content: "paris  is the\ncapital.", Score: 0.95}, {Content: "euro", Score: 0.8},
		{Content: "shared by id B", Score: 0.6, Metadata: map[string]any{"id": "7"}}, {Content: "tie", Score: 0.8}}
	cases := []struct {
		name      string
		topK      int
		threshold float64
		lists     [][]Document
		want      string
	}{
		{"dedupe by text keeps the better score, ranks, cuts", 3, 0.5, [][]Document{a, b}, "paris  is the\ncapital.|euro|tie"},
		{"dedupe by id keeps the better", 0, 0.5, [][]Document{a, b}, "paris  is the\ncapital.|euro|tie|shared by id A"},
		{"threshold drops low and empty", 0, 0, [][]Document{a}, "Paris is the capital.|shared by id A|low"},
		{"earlier list wins a tie", 0, 0, [][]Document{{{Content: "x", Score: 0.5, Metadata: map[string]any{"src": "p"}}}, {{Content: "X", Score: 0.5}}}, "x"},
		{"nothing", 5, 0.5, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := contents(Merge(tc.topK, tc.threshold, tc.lists...)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if a[0].Content != "Paris is the capital." || len(a) != 4 {
		t.Error("Merge modified its input")
	}
}

func TestDedupeKey(t *testing.T) {
	var h maphash.Hash
	cases := []struct {
		name string
		a, b Document
		same bool
	}{
		{"case and spacing", Document{Content: " Hello\n  World "}, Document{Content: "hello world"}, true},
		{"different words", Document{Content: "hello world"}, Document{Content: "helloworld"}, false},
		{"unicode case and spaces", Document{Content: "Ünïcode\u00a0Straße"}, Document{Content: "ünïcode straße"}, true},
		{"id and text do not mix", Document{Content: "7"}, Document{Content: "x", Metadata: map[string]any{"id": "7"}}, false},
		{"id wins over text", Document{Content: "a", Metadata: map[string]any{"id": 1}}, Document{Content: "b", Metadata: map[string]any{"id": 1}}, true},
		{"empty id is ignored", Document{Content: "a", Metadata: map[string]any{"id": ""}}, Document{Content: "a"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := dedupeKey(&h, tc.a) == dedupeKey(&h, tc.b); got != tc.same {
				t.Errorf("same %v, want %v", got, tc.same)
			}
		})
	}
}

// hybridPair starts a real external_api search service (primary) and a
// FAKE OpenAI vector store (fallback) and compiles a hybrid over them.
func hybridPair(t *testing.T, strategy string, threshold float64, topK int) (*Plugin, *searchService, *fakeVectorStore) {
	t.Helper()
	svc := newSearchService(t, `{"results":[{"content":"Primary: reset with the button.","score":0.9},{"content":"France uses the euro.","score":0.85}]}`)
	fake := newFakeVectorStore(t)
	fake.set(http.StatusOK, `[{"file_id":"f1","filename":"m.md","score":0.95,"attributes":{},"content":[{"type":"text","text":"Fallback: the LED blinks twice."}]},
	 {"file_id":"f2","filename":"m.md","score":0.8,"attributes":{},"content":[{"type":"text","text":"france uses  the EURO."}]}]`)
	p, err := Compile(&config.RAGPlugin{Enabled: true, Backend: BackendHybrid, SimilarityThreshold: threshold, TopK: topK,
		BackendConfig: map[string]any{"primary": "external_api", "fallback": "openai", "strategy": strategy,
			"primary_config":  map[string]any{"endpoint": svc.srv.URL},
			"fallback_config": map[string]any{"vector_store_id": "vs", "base_url": fake.srv.URL}}},
		Options{HTTP: svc.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.backend.(*Hybrid); !ok {
		t.Fatalf("backend %T, want *Hybrid", p.backend)
	}
	return p, svc, fake
}

func TestHybridStrategies(t *testing.T) {
	cases := []struct {
		name          string
		strategy      string
		threshold     float64
		topK          int
		primaryStatus int
		fallbackDown  bool
		want          string
		wantPrimary   int
		wantFallback  int
		wantErr       bool
	}{
		{"fallback: primary enough", "fallback", 0.5, 5, 200, false, "Primary: reset with the button.|France uses the euro.", 1, 0, false},
		{"fallback: primary fails", "", 0.5, 5, 500, false, "Fallback: the LED blinks twice.|france uses  the EURO.", 1, 1, false},
		{"fallback: primary has nothing above threshold", "fallback", 0.92, 5, 200, false, "Fallback: the LED blinks twice.", 1, 1, false},
		{"sequential: primary short of top_k, merged and deduped", "sequential", 0.5, 3, 200, false,
			"Fallback: the LED blinks twice.|Primary: reset with the button.|France uses the euro.", 1, 1, false},
		{"sequential: primary has top_k", "sequential", 0.5, 2, 200, false, "Primary: reset with the button.|France uses the euro.", 1, 0, false},
		{"sequential: fallback down keeps the primary's", "sequential", 0.5, 3, 200, true, "Primary: reset with the button.|France uses the euro.", 1, 1, false},
		{"parallel: merged, deduped, top_k", "parallel", 0.5, 2, 200, false, "Fallback: the LED blinks twice.|Primary: reset with the button.", 1, 1, false},
		{"parallel: primary fails", "parallel", 0.5, 5, 502, false, "Fallback: the LED blinks twice.|france uses  the EURO.", 1, 1, false},
		{"parallel: fallback down", "parallel", 0.5, 5, 200, true, "Primary: reset with the button.|France uses the euro.", 1, 1, false},
		{"parallel: both fail", "parallel", 0.5, 5, 500, true, "", 1, 1, true},
		{"fallback: both fail", "fallback", 0.5, 5, 500, true, "", 1, 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, svc, fake := hybridPair(t, tc.strategy, tc.threshold, tc.topK)
			svc.mu.Lock()
			svc.status = tc.primaryStatus
			svc.mu.Unlock()
			if tc.fallbackDown {
				fake.set(http.StatusServiceUnavailable, "")
			}
			res, err := p.Retrieve(context.Background(), "how do I reset?")
			if tc.wantErr {
				if !errors.Is(err, ErrBackend) || !strings.Contains(err.Error(), "hybrid external_api") || !strings.Contains(err.Error(), "hybrid openai") {
					t.Fatalf("err %v, want both sides named", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := contents(res.Docs); got != tc.want {
				t.Errorf("docs %q\nwant %q", got, tc.want)
			}
			if n, m := len(svc.calls()), len(fake.calls()); n != tc.wantPrimary || m != tc.wantFallback {
				t.Errorf("primary asked %d, fallback %d; want %d, %d", n, m, tc.wantPrimary, tc.wantFallback)
			}
		})
	}
}

func TestCompileHybrid(t *testing.T) {
	ext := map[string]any{"endpoint": "http://search:9/q"}
	vs := map[string]any{"vector_store_id": "vs", "workflow_mode": "tool_based"}
	cases := []struct {
		name     string
		bc       map[string]any
		wantType string // "" nil plugin
		wantMode string
		wantErr  string
	}{
		{"reference: milvus primary degrades to the external_api fallback",
			map[string]any{"primary": "milvus", "fallback": "external_api", "strategy": "parallel", "primary_config": map[string]any{"collection": "docs"}, "fallback_config": ext},
			"*rag.ExternalAPI", InjectSystemPrompt, ""},
		{"unusable fallback_config degrades to the primary",
			map[string]any{"primary": "openai", "fallback": "external_api", "primary_config": vs, "fallback_config": map[string]any{"endpoint": "x", "request_format": "pinecone"}},
			"*rag.OpenAIVectorStore", InjectToolRole, ""},
		{"both run", map[string]any{"primary": "external_api", "fallback": "openai", "primary_config": ext, "fallback_config": vs},
			"*rag.Hybrid", InjectToolRole, ""},
		{"neither runs", map[string]any{"primary": "milvus", "fallback": "mcp"}, "", "", ""},
		{"nested hybrid", map[string]any{"primary": "hybrid", "fallback": "external_api", "fallback_config": ext}, "", "", "primary: a hybrid backend cannot contain another"},
		{"missing names, bad strategy", map[string]any{"strategy": "race"}, "", "", "strategy:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile(&config.RAGPlugin{Enabled: true, Backend: BackendHybrid, BackendConfig: tc.bc}, Options{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantType == "" {
				if p != nil {
					t.Fatalf("plugin %+v, want none", p)
				}
				return
			}
			if p == nil {
				t.Fatal("no plugin")
			}
			if got := typeName(p.backend); got != tc.wantType || p.Mode != tc.wantMode {
				t.Errorf("backend %s mode %s, want %s %s", got, p.Mode, tc.wantType, tc.wantMode)
			}
		})
	}
}

func typeName(v any) string {
	switch v.(type) {
	case *ExternalAPI:
		return "*rag.ExternalAPI"
	case *OpenAIVectorStore:
		return "*rag.OpenAIVectorStore"
	case *Hybrid:
		return "*rag.Hybrid"
	}
	return "other"
}
