package gateway

import (
	"context"
	"testing"

	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// TestLooperAnswerCachedWhereLookedUp: a multi-call algorithm (API mode
// runs it and calls LooperRan, then UseTarget with the model whose answer
// it serves) stores the answer in the partition the request was looked up
// in (the routed model), not in the serving model's, which no lookup of
// the decision asks; the entry still names the model that answered.
func TestLooperAnswerCachedWhereLookedUp(t *testing.T) {
	const body = `{"model":"auto","messages":[{"role":"user","content":"q"}]}`
	for _, tc := range []struct {
		name      string
		looper    bool
		wantModel string // partition model of the stored entry
	}{
		{"failover answer keeps the serving model's partition", false, "plain"},
		{"looper answer goes to the routed model's partition", true, "qwen3-8b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := testSpec()
			spec.Decisions[0].ModelRefs = []routes.ModelRef{{Model: "qwen3-8b"}, {Model: "plain"}}
			cache := &fakeCache{}
			g := newGateway(t, spec, Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{dec: &Decision{Name: "business"}}, Cache: cache})
			x, imm, _ := chat(g, noHeaders, body)
			if imm != nil {
				t.Fatalf("immediate %s", imm.Body)
			}
			if len(cache.queries) != 1 || cache.queries[0].Partition.Model != "qwen3-8b" {
				t.Fatalf("queries %+v", cache.queries)
			}
			targets := x.Targets()
			if tc.looper {
				x.LooperRan("confidence", []string{"qwen3-8b", "plain"})
			}
			x.UseTarget(targets[1])
			x.ResponseHeaders(200, "application/json")
			x.ResponseBody([]byte(cachedBody), true)
			x.Finish(context.Background())
			g.Wait()
			e := cache.entries()
			if len(e) != 1 || e[0].Partition.Model != tc.wantModel || e[0].Model != "plain" {
				t.Fatalf("entries %+v", e)
			}
		})
	}
}
