package gateway

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/cachekey"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

func TestCacheQueryPartitionAndKeys(t *testing.T) {
	const body = `{"model":"auto","temperature":0.5,"messages":[{"role":"user","content":"q"}]}`
	keys, err := cachekey.Compute([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	hdr := func(user string) func(string) string {
		return func(n string) string {
			switch n {
			case "x-authz-user-id":
				return user
			case "x-vsr-cache-control":
				return "max-age=30, ttl=900"
			}
			return ""
		}
	}
	cases := []struct {
		name      string
		scope     string
		user      string
		wantQuery bool
		want      CachePartition
	}{
		{"decision scope", "", "", true, CachePartition{Decision: "business", Model: "qwen3-8b", Scope: "decision", Revision: "e1|||"}},
		{"global scope", "global", "alice", true, CachePartition{Model: "qwen3-8b", Scope: "global", Revision: "e1|||"}},
		{"user scope", "user", "alice", true, CachePartition{Decision: "business", Model: "qwen3-8b", Scope: "user", ScopeID: "alice", Revision: "e1|||"}},
		{"user scope without a user", "user", "", false, CachePartition{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := testSpec()
			rc := spec.Decisions[0].Plugins.ResponseCache
			rc.Scope, rc.Mode, rc.Revision = tc.scope, routes.CacheModeExactThenSemantic, "e1|||"
			rc.Controls = &routes.CacheControls{Allowed: []string{"max-age", "ttl"}, MaxTTL: 10 * time.Minute}
			cache := &fakeCache{}
			g := newGateway(t, spec, Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{dec: &Decision{Name: "business"}}, Cache: cache})
			x, imm, _ := chat(g, hdr(tc.user), body)
			if imm != nil {
				t.Fatalf("immediate %s", imm.Body)
			}
			if got := len(cache.queries); got != map[bool]int{true: 1, false: 0}[tc.wantQuery] {
				t.Fatalf("%d lookups", got)
			}
			x.ResponseHeaders(200, "application/json")
			x.ResponseBody([]byte(cachedBody), true)
			x.Finish(context.Background())
			g.Wait()
			if !tc.wantQuery {
				if len(cache.entries()) != 0 {
					t.Fatal("stored a per-user entry for an anonymous caller")
				}
				return
			}
			q := cache.queries[0]
			if q.Partition != tc.want || q.Keys != keys || q.Decision != "business" || q.Query != "q" ||
				q.Mode != routes.CacheModeExactThenSemantic || q.SimilarityThreshold != 0.82 || q.MaxAge != 30*time.Second || len(q.Embedding) != 2 {
				t.Fatalf("query %+v", q)
			}
			e := cache.entries()
			if len(e) != 1 || e[0].Partition != tc.want || e[0].Keys != keys || e[0].TTL != 10*time.Minute || e[0].CompletionTokens != 2 {
				t.Fatalf("entries %+v", e)
			}
		})
	}
}

func TestCacheRecipeDecision(t *testing.T) {
	spec := testSpec()
	// A recipe decision with the same name as a top-level one but its own
	// plugins: the entrypoint's recipe wins.
	spec.Decisions = append(spec.Decisions, routes.Decision{Recipe: "privacy-first", Name: "business",
		ModelRefs: []routes.ModelRef{{Model: "plain"}},
		Plugins:   routes.Plugins{FastResponse: &routes.FastResponsePlugin{Message: "private"}}})
	g := newGateway(t, spec, Stages{Classifier: &fakeClassifier{dec: &Decision{Name: "business"}}})
	_, imm, _ := chat(g, noHeaders, `{"model":"vllm-sr/privacy","messages":[{"role":"user","content":"q"}]}`)
	if imm == nil || !strings.Contains(string(imm.Body), "private") {
		t.Fatalf("recipe decision not applied: %v", imm)
	}
	_, imm, fwd := chat(g, noHeaders, `{"model":"auto","messages":[{"role":"user","content":"q"}]}`)
	if imm != nil || headerMap(fwd.SetHeaders)["x-selected-model"] != "qwen3-8b" {
		t.Fatalf("top-level decision: imm=%v", imm)
	}
}
