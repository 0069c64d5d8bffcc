package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
	"github.com/semrouter/semrouter/services/gateway-extproc/sse"
)

func newGateway(t testing.TB, spec routes.Spec, st Stages, opts ...Option) *Gateway {
	t.Helper()
	tbl, err := routes.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	return New(tbl, st, slog.New(slog.NewTextHandler(io.Discard, nil)), opts...)
}

func headerMap(h []Header) map[string]string {
	m := map[string]string{}
	for _, kv := range h {
		m[kv.Name] = kv.Value
	}
	return m
}

func noHeaders(string) string { return "" }

func debugHeaders(n string) string {
	if n == "x-vsr-debug" {
		return "true"
	}
	return ""
}

func TestDispatch(t *testing.T) {
	g := newGateway(t, testSpec(), Stages{})
	cases := []struct {
		name, method, path string
		kind               Kind
		status             int
	}{
		{"chat", "POST", "/v1/chat/completions", KindChat, 0},
		{"chat with query", "POST", "/v1/chat/completions?x=1", KindChat, 0},
		{"chat wrong method", "GET", "/v1/chat/completions", KindImmediate, 405},
		{"models", "GET", "/v1/models", KindImmediate, 200},
		{"models wrong method", "POST", "/v1/models", KindImmediate, 405},
		{"models head", "HEAD", "/v1/models", KindImmediate, 200},
		{"model head", "HEAD", "/v1/models/auto", KindImmediate, 200},
		{"embeddings", "POST", "/v1/embeddings", KindChat, 0},
		{"completions", "POST", "/v1/completions", KindChat, 0},
		{"embeddings wrong method", "GET", "/v1/embeddings", KindImmediate, 405},
		{"completions wrong method", "PUT", "/v1/completions", KindImmediate, 405},
		{"unknown v1", "POST", "/v1/audio/speech", KindImmediate, 404},
		{"other path", "GET", "/healthz", KindPassthrough, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kind, imm := g.NewExchange().RequestHeaders(tc.method, tc.path, noHeaders)
			if kind != tc.kind {
				t.Fatalf("kind = %v, want %v", kind, tc.kind)
			}
			if tc.status == 0 {
				if imm != nil {
					t.Fatalf("unexpected immediate %d", imm.Status)
				}
				return
			}
			if imm == nil || imm.Status != tc.status {
				t.Fatalf("immediate = %+v, want status %d", imm, tc.status)
			}
			if tc.status != 200 && gjson.GetBytes(imm.Body, "error.message").Str == "" {
				t.Fatalf("error body = %s", imm.Body)
			}
		})
	}
}

func TestModelsList(t *testing.T) {
	tests := []struct {
		name string
		hide bool // global.router.include_config_models_in_list: false
		want string
	}{
		{"all models", false, "auto,MoM,vllm-sr/auto,vllm-sr/privacy,qwen3-8b,qwen3-32b,plain"},
		{"config models hidden", true, "auto,MoM,vllm-sr/auto,vllm-sr/privacy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := testSpec()
			spec.HideConfigModels = tt.hide
			g := newGateway(t, spec, Stages{})
			_, imm := g.NewExchange().RequestHeaders("GET", "/v1/models", noHeaders)
			var ids []string
			for _, v := range gjson.GetBytes(imm.Body, "data.#.id").Array() {
				ids = append(ids, v.Str)
			}
			if got := strings.Join(ids, ","); got != tt.want {
				t.Fatalf("models = %s, want %s", got, tt.want)
			}
			if gjson.GetBytes(imm.Body, "object").Str != "list" {
				t.Fatalf("body = %s", imm.Body)
			}
			// a hidden model is still served and still described
			_, one := g.NewExchange().RequestHeaders("GET", "/v1/models/qwen3-8b", noHeaders)
			if one.Status != 200 || gjson.GetBytes(one.Body, "id").Str != "qwen3-8b" {
				t.Fatalf("GET /v1/models/qwen3-8b: %d %s", one.Status, one.Body)
			}
		})
	}
}

func chat(g *Gateway, hdr func(string) string, body string) (*Exchange, *Immediate, *Forward) {
	x := g.NewExchange()
	kind, imm := x.RequestHeaders("POST", "/v1/chat/completions", hdr)
	if kind != KindChat {
		return x, imm, nil
	}
	imm, fwd := x.RequestBody(context.Background(), []byte(body))
	return x, imm, fwd
}

func TestBadBodies(t *testing.T) {
	spec := testSpec()
	spec.MaxBodyBytes = 200
	g := newGateway(t, spec, Stages{})
	cases := []struct {
		name   string
		body   string
		status int
		msg    string
	}{
		{"malformed", `{"model":`, 400, "not valid JSON"},
		{"missing messages", `{"model":"auto"}`, 400, "messages"},
		{"empty messages", `{"model":"auto","messages":[]}`, 400, "at least one"},
		{"unknown model", `{"model":"gpt-9","messages":[{"role":"user","content":"x"}]}`, 404, `model "gpt-9" is not available`},
		{"too large", `{"model":"auto","messages":[{"role":"user","content":"` + strings.Repeat("x", 300) + `"}]}`, 413, "exceeds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, imm, fwd := chat(g, noHeaders, tc.body)
			if fwd != nil || imm == nil || imm.Status != tc.status {
				t.Fatalf("imm=%+v fwd=%+v", imm, fwd)
			}
			if m := gjson.GetBytes(imm.Body, "error.message").Str; !strings.Contains(m, tc.msg) {
				t.Fatalf("message %q does not contain %q", m, tc.msg)
			}
		})
	}
}

func TestConcreteModelPassthrough(t *testing.T) {
	cls := &fakeClassifier{dec: &Decision{Name: "complex"}}
	g := newGateway(t, testSpec(), Stages{Classifier: cls})
	body := `{"model":"plain", "messages":[{"role":"user","content":"hi"}],"stream":true}`
	_, imm, fwd := chat(g, noHeaders, body)
	if imm != nil {
		t.Fatalf("immediate %s", imm.Body)
	}
	if fwd.BodyChanged || string(fwd.Body) != body {
		t.Fatalf("concrete body changed: %s", fwd.Body)
	}
	if headerMap(fwd.SetHeaders)["x-selected-model"] != "plain" || len(fwd.Targets) != 1 {
		t.Fatalf("forward = %+v", fwd)
	}
	if cls.last() != nil {
		t.Fatal("classifier called for a concrete model")
	}
	// A model whose provider id differs gets only its model field rewritten.
	_, _, fwd = chat(g, noHeaders, `{"model":"qwen3-8b","messages":[{"role":"user","content":"hi"}]}`)
	if string(fwd.Body) != `{"model":"qwen3-8b-instruct","messages":[{"role":"user","content":"hi"}]}` {
		t.Fatalf("body = %s", fwd.Body)
	}
}

func TestAutoRouteAppliesDecision(t *testing.T) {
	cls := &fakeClassifier{dec: &Decision{Name: "complex", Confidence: 0.91, Category: "math", Algorithm: "static",
		Matched: map[string][]string{"keyword": {"kw_a", "kw_b"}, "domain": {"math"}, "jailbreak": {"jb"}, "projection": {"p1"}},
		Scores:  map[string]float64{"qwen3-8b": 0.25, "qwen3-32b": 0.8125}}}
	emb := &fakeEmbedder{}
	g := newGateway(t, testSpec(), Stages{Embedder: emb, Classifier: cls})
	body := `{"model":"MoM","logprobs":true,"max_tokens":5000,"messages":[{"role":"user","content":"prove it"}]}`
	x, imm, fwd := chat(g, debugHeaders, body)
	if imm != nil {
		t.Fatalf("immediate %s", imm.Body)
	}
	want := `{"model":"qwen3-32b-instruct","max_tokens":100,"messages":[{"role":"user","content":"prove it"}],"reasoning":{"effort":"medium"}}`
	if string(fwd.Body) != want || !fwd.BodyChanged {
		t.Fatalf("body\n got %s\nwant %s", fwd.Body, want)
	}
	set := headerMap(fwd.SetHeaders)
	if set["x-selected-model"] != "qwen3-32b" || set["x-tenant-tier"] != "premium" || set["x-route-source"] != "semantic-router" {
		t.Fatalf("set headers %v", set)
	}
	if len(fwd.RemoveHeaders) != 1 || fwd.RemoveHeaders[0] != "x-debug-trace" || !fwd.ClearRouteCache {
		t.Fatalf("remove=%v clear=%v", fwd.RemoveHeaders, fwd.ClearRouteCache)
	}
	var order []string
	for _, tg := range fwd.Targets {
		order = append(order, tg.Model.Name)
	}
	if strings.Join(order, ",") != "qwen3-32b,plain,qwen3-8b" {
		t.Fatalf("targets %v", order)
	}
	rr := cls.last()
	if rr.Model != "MoM" || rr.LastUser != 0 || len(rr.Embedding) != 2 || rr.EmbeddingDegraded {
		t.Fatalf("route request %+v", rr)
	}
	got := headerMap(x.ResponseHeaders(200, "application/json"))
	wantH := map[string]string{
		"x-vsr-response-path":       "upstream",
		"x-vsr-schema-version":      "2",
		"x-vsr-selected-decision":   "complex",
		"x-vsr-selected-confidence": "0.9100",
		"x-vsr-selected-model":      "qwen3-32b",
		"x-vsr-selected-reasoning":  "on",
		"x-vsr-selected-algorithm":  "static",
		"x-vsr-selected-category":   "math",
		"x-vsr-matched-keywords":    "kw_a,kw_b",
		"x-vsr-matched-domains":     "math",
		"x-vsr-matched-jailbreak":   "jb",
		"x-vsr-matched-projections": "p1",
		"x-vsr-selection-scores":    "qwen3-32b=0.8125,qwen3-8b=0.2500",
	}
	for k, v := range wantH {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got["x-vsr-degraded"]; ok {
		t.Errorf("unexpected degraded header %v", got)
	}
	// Without x-vsr-debug the matched-signal lists are omitted; on a 5xx only
	// the response path is attached.
	x2, _, _ := chat(g, noHeaders, body)
	plain := headerMap(x2.ResponseHeaders(200, "application/json"))
	if _, ok := plain["x-vsr-matched-keywords"]; ok {
		t.Fatalf("matched signals without debug: %v", plain)
	}
	if _, ok := plain["x-vsr-selection-scores"]; ok {
		t.Fatalf("selection scores without debug: %v", plain)
	}
	x3, _, _ := chat(g, noHeaders, body)
	if h := headerMap(x3.ResponseHeaders(503, "application/json")); h["x-vsr-selected-decision"] != "" || h["x-vsr-response-path"] != "upstream" {
		t.Fatalf("5xx headers %v", h)
	}
}

func TestReasoningAndSystemPromptPerFamily(t *testing.T) {
	off := false
	cases := []struct {
		name string
		dec  *Decision
		body string
		want string
	}{
		{"qwen3 off + system prompt insert", &Decision{Name: "business"},
			`{"model":"auto","messages":[{"role":"user","content":"q"}]}`,
			`{"model":"qwen3-8b-instruct","messages":[{"role":"system","content":"You are a consultant."},{"role":"user","content":"q"}],"chat_template_kwargs":{"enable_thinking":false}}`},
		{"decision overrides reasoning off keeps client effort", &Decision{Name: "complex", UseReasoning: &off},
			`{"model":"auto","reasoning":{"effort":"low"},"messages":[{"role":"user","content":"q"}]}`,
			`{"model":"qwen3-32b-instruct","reasoning":{"effort":"low"},"messages":[{"role":"user","content":"q"}]}`},
		{"explicit model choice with effort", &Decision{Name: "complex", Model: "qwen3-32b", ReasoningEffort: "high"},
			`{"model":"auto","stream":true,"messages":[{"role":"user","content":"q"}]}`,
			`{"model":"qwen3-32b-instruct","stream":true,"messages":[{"role":"user","content":"q"}],"reasoning":{"effort":"high"},"stream_options":{"include_usage":true}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t, testSpec(), Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{dec: tc.dec}})
			_, imm, fwd := chat(g, noHeaders, tc.body)
			if imm != nil {
				t.Fatalf("immediate %s", imm.Body)
			}
			if string(fwd.Body) != tc.want {
				t.Fatalf("body\n got %s\nwant %s", fwd.Body, tc.want)
			}
		})
	}
}

func TestEntrypointPassesRecipe(t *testing.T) {
	cls := &fakeClassifier{dec: &Decision{Name: "business"}}
	g := newGateway(t, testSpec(), Stages{Embedder: &fakeEmbedder{}, Classifier: cls})
	x, _, fwd := chat(g, noHeaders, `{"model":"vllm-sr/privacy","messages":[{"role":"user","content":"ssn"}]}`)
	if fwd == nil || cls.last().Recipe != "privacy-first" {
		t.Fatalf("recipe not passed: %+v", cls.last())
	}
	if h := headerMap(x.ResponseHeaders(200, "application/json")); h["x-vsr-selected-recipe"] != "privacy-first" {
		t.Fatalf("headers %v", h)
	}
}

func TestDegradedStages(t *testing.T) {
	biz := &Decision{Name: "complex"}
	cached := &Decision{Name: "business"} // the decision that enables the cache
	cases := []struct {
		name      string
		stages    func() Stages
		degraded  string
		model     string
		embDegrad bool
	}{
		{"all missing", func() Stages { return Stages{} }, "embedder,classifier", "qwen3-8b", false},
		{"embedder errors", func() Stages {
			return Stages{Embedder: &fakeEmbedder{err: errStage}, Classifier: &fakeClassifier{dec: biz}}
		}, "embedder", "qwen3-32b", true},
		{"embedder late", func() Stages {
			return Stages{Embedder: &fakeEmbedder{block: true}, Classifier: &fakeClassifier{dec: biz}}
		}, "embedder", "qwen3-32b", true},
		{"classifier errors", func() Stages {
			return Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{err: errStage}}
		}, "classifier", "qwen3-8b", false},
		{"classifier late", func() Stages {
			return Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{dec: biz, block: true}}
		}, "classifier", "qwen3-8b", false},
		{"cache errors", func() Stages {
			return Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{dec: cached}, Cache: &fakeCache{err: errStage}}
		}, "cache", "qwen3-8b", false},
		{"cache late", func() Stages {
			return Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{dec: cached}, Cache: &fakeCache{block: true}}
		}, "cache", "qwen3-8b", false},
		{"cache ignores its deadline", func() Stages {
			release := make(chan struct{})
			t.Cleanup(func() { close(release) })
			return Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{dec: cached}, Cache: &fakeCache{stuck: true, release: release}}
		}, "cache", "qwen3-8b", false},
		{"cache not asked for a decision without it", func() Stages {
			return Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{dec: biz}, Cache: &fakeCache{err: errStage}}
		}, "", "qwen3-32b", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.stages()
			g := newGateway(t, testSpec(), st)
			x, imm, fwd := chat(g, noHeaders, `{"model":"auto","messages":[{"role":"user","content":"q"}]}`)
			if imm != nil {
				t.Fatalf("router fault became a client response: %d %s", imm.Status, imm.Body)
			}
			if got := headerMap(fwd.SetHeaders)["x-selected-model"]; got != tc.model {
				t.Fatalf("model = %s, want %s", got, tc.model)
			}
			h := headerMap(x.ResponseHeaders(200, "application/json"))
			if h["x-vsr-degraded"] != tc.degraded {
				t.Fatalf("x-vsr-degraded = %q, want %q", h["x-vsr-degraded"], tc.degraded)
			}
			if c, ok := st.Classifier.(*fakeClassifier); ok && c.last().EmbeddingDegraded != tc.embDegrad {
				t.Fatalf("EmbeddingDegraded = %v", c.last().EmbeddingDegraded)
			}
		})
	}
}

func TestNoEmbeddingWhenConfigNeedsNone(t *testing.T) {
	spec := testSpec()
	spec.NeedsEmbedding = false
	emb := &fakeEmbedder{}
	g := newGateway(t, spec, Stages{Embedder: emb, Classifier: &fakeClassifier{dec: &Decision{Name: "complex"}}})
	x, _, _ := chat(g, noHeaders, `{"model":"auto","messages":[{"role":"user","content":"q"}]}`)
	if emb.calls != 0 {
		t.Fatalf("embedder called %d times", emb.calls)
	}
	if h := headerMap(x.ResponseHeaders(200, "application/json")); h["x-vsr-degraded"] != "" {
		t.Fatalf("degraded %v", h)
	}
}

const cachedBody = `{"id":"c9","object":"chat.completion","created":5,"model":"qwen3-8b-instruct","choices":[{"index":0,"message":{"role":"assistant","content":"cached answer"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`

func TestCacheHit(t *testing.T) {
	cases := []struct {
		name   string
		hits   []CachedResponse
		stream bool
		hit    bool
	}{
		{"semantic hit", []CachedResponse{{Decision: "business", Similarity: 0.9, Body: []byte(cachedBody)}}, false, true},
		{"exact hit streamed", []CachedResponse{{Decision: "business", Exact: true, Body: []byte(cachedBody)}}, true, true},
		{"below threshold", []CachedResponse{{Decision: "business", Similarity: 0.5, Body: []byte(cachedBody)}}, false, false},
		{"other decision scope", []CachedResponse{{Decision: "complex", Similarity: 0.99, Body: []byte(cachedBody)}}, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t, testSpec(), Stages{Embedder: &fakeEmbedder{},
				Classifier: &fakeClassifier{dec: &Decision{Name: "business"}}, Cache: &fakeCache{hits: tc.hits}})
			body := `{"model":"auto","messages":[{"role":"user","content":"q"}]}`
			if tc.stream {
				body = `{"model":"auto","stream":true,"messages":[{"role":"user","content":"q"}]}`
			}
			_, imm, fwd := chat(g, debugHeaders, body)
			if !tc.hit {
				if imm != nil || fwd == nil {
					t.Fatalf("unexpected immediate %+v", imm)
				}
				return
			}
			if imm == nil || imm.Status != 200 {
				t.Fatalf("want cache hit, got fwd=%v", fwd)
			}
			h := headerMap(imm.Headers)
			if h["x-vsr-cache-hit"] != "true" || h["x-vsr-response-path"] != "cache" || h["x-vsr-cache-similarity"] == "" {
				t.Fatalf("headers %v", h)
			}
			if !tc.stream {
				if string(imm.Body) != cachedBody || h["content-type"] != "application/json" {
					t.Fatalf("body %s", imm.Body)
				}
				return
			}
			if h["content-type"] != "text/event-stream" || !strings.HasSuffix(string(imm.Body), "data: [DONE]\n\n") {
				t.Fatalf("replay %s", imm.Body)
			}
			r := sse.New(0)
			r.Write(imm.Body)
			if !r.Complete() || r.Content() != "cached answer" {
				t.Fatalf("replay reassembles to %q", r.Content())
			}
		})
	}
}

func TestFastResponseAndBlock(t *testing.T) {
	g := newGateway(t, testSpec(), Stages{Classifier: &fakeClassifier{dec: &Decision{Name: "terse"}}})
	_, imm, _ := chat(g, noHeaders, `{"model":"auto","messages":[{"role":"user","content":"q"}]}`)
	h := headerMap(imm.Headers)
	if imm.Status != 200 || h["x-vsr-fast-response"] != "true" || h["x-vsr-response-path"] != "fast_response" || h["x-vsr-selected-decision"] != "terse" {
		t.Fatalf("fast response %d %v", imm.Status, h)
	}
	var c struct {
		Object  string `json:"object"`
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(imm.Body, &c); err != nil || c.Object != "chat.completion" || c.Choices[0].Message.Content != "Busy: short answer." {
		t.Fatalf("body %s (%v)", imm.Body, err)
	}
	_, imm, _ = chat(g, noHeaders, `{"model":"auto","stream":true,"messages":[{"role":"user","content":"q"}]}`)
	r := sse.New(0)
	r.Write(imm.Body)
	if !r.Complete() || r.Content() != "Busy: short answer." || headerMap(imm.Headers)["content-type"] != "text/event-stream" {
		t.Fatalf("streamed fast response %s", imm.Body)
	}

	g = newGateway(t, testSpec(), Stages{Classifier: &fakeClassifier{dec: &Decision{Name: "complex", Block: &Block{Message: "jailbreak detected", Signal: "jailbreak"}}}})
	_, imm, _ = chat(g, noHeaders, `{"model":"auto","messages":[{"role":"user","content":"q"}]}`)
	if imm.Status != http.StatusForbidden || headerMap(imm.Headers)["x-vsr-response-path"] != "blocked" ||
		gjson.GetBytes(imm.Body, "error.message").Str != "jailbreak detected" {
		t.Fatalf("block %d %s %v", imm.Status, imm.Body, imm.Headers)
	}
}

func TestSwapKeepsRunningExchanges(t *testing.T) {
	g := newGateway(t, testSpec(), Stages{})
	x := g.NewExchange()
	spec := testSpec()
	spec.DefaultModel = "plain"
	tbl, err := routes.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	g.Swap(tbl)
	x.RequestHeaders("POST", "/v1/chat/completions", nil)
	_, fwd := x.RequestBody(context.Background(), []byte(`{"model":"auto","messages":[{"role":"user","content":"q"}]}`))
	if headerMap(fwd.SetHeaders)["x-selected-model"] != "qwen3-8b" {
		t.Fatal("running exchange saw the new table")
	}
	_, _, fwd = chat(g, noHeaders, `{"model":"auto","messages":[{"role":"user","content":"q"}]}`)
	if headerMap(fwd.SetHeaders)["x-selected-model"] != "plain" {
		t.Fatal("new exchange did not see the new table")
	}
}

func TestResponsePathPublishes(t *testing.T) {
	streamBody := "data: {\"id\":\"u1\",\"model\":\"qwen3-8b-instruct\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n" +
		"data: {\"id\":\"u1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hello\"}}]}\n\n" +
		"data: {\"id\":\"u1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":5,\"total_tokens\":9}}\n\n" +
		"data: [DONE]\n\n"
	cases := []struct {
		name      string
		status    int
		ctype     string
		chunks    []string
		wantStore bool
		// noEnd: the client hung up before the end of the upstream body
		// was relayed.
		noEnd bool
	}{
		{"stream complete", 200, "text/event-stream", []string{streamBody[:50], streamBody[50:120], streamBody[120:]}, true, false},
		{"stream done, client gone before end of body", 200, "text/event-stream", []string{streamBody}, true, true},
		{"stream cut before done", 200, "text/event-stream", []string{streamBody[:150]}, false, false},
		{"json complete", 200, "application/json", []string{cachedBody[:40], cachedBody[40:]}, true, false},
		{"json 500", 500, "application/json", []string{`{"error":{"message":"x"}}`}, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := &manualClock{t: time.Unix(1000, 0)}
			cache, lat := &fakeCache{}, &fakeLatency{}
			g := newGateway(t, testSpec(), Stages{Embedder: &fakeEmbedder{},
				Classifier: &fakeClassifier{dec: &Decision{Name: "business"}}, Cache: cache, Latency: lat}, WithClock(clk.Now))
			x, imm, _ := chat(g, noHeaders, `{"model":"auto","stream":true,"messages":[{"role":"user","content":"q"}]}`)
			if imm != nil {
				t.Fatalf("immediate %s", imm.Body)
			}
			clk.Advance(100 * time.Millisecond)
			x.ResponseHeaders(tc.status, tc.ctype)
			for i, c := range tc.chunks {
				clk.Advance(100 * time.Millisecond)
				x.ResponseBody([]byte(c), i == len(tc.chunks)-1 && !tc.noEnd)
			}
			clk.Advance(400 * time.Millisecond)
			x.Finish(context.Background())
			x.Finish(context.Background()) // idempotent
			g.Wait()
			stored := cache.entries()
			if tc.wantStore != (len(stored) == 1) {
				t.Fatalf("stored %d entries, want store=%v", len(stored), tc.wantStore)
			}
			if tc.wantStore {
				e := stored[0]
				if e.Decision != "business" || e.Query != "q" || e.TTL != time.Hour || len(e.Embedding) != 2 {
					t.Fatalf("entry %+v", e)
				}
				if gjson.GetBytes(e.Body, "object").Str != "chat.completion" {
					t.Fatalf("stored body %s", e.Body)
				}
			}
			obs := lat.all()
			if len(obs) != 1 || obs[0].Status != tc.status || obs[0].Model != "qwen3-8b" || obs[0].Decision != "business" {
				t.Fatalf("observations %+v", obs)
			}
			if tc.name == "stream complete" {
				o := obs[0]
				// The first content event completes in the third chunk:
				// 100ms to headers + 3×100ms.
				if o.TTFT != 400*time.Millisecond || o.Total != 800*time.Millisecond || o.CompletionTokens != 5 || o.PromptTokens != 4 {
					t.Fatalf("latency %+v", o)
				}
				if o.TPOT != 100*time.Millisecond {
					t.Fatalf("TPOT = %v", o.TPOT)
				}
			}
		})
	}
}

func TestRoutingLatencyHeader(t *testing.T) {
	clk := &manualClock{t: time.Unix(50, 0)}
	slow := &clockClassifier{clk: clk, step: 1500 * time.Microsecond, dec: &Decision{Name: "complex"}}
	g := newGateway(t, testSpec(), Stages{Classifier: slow}, WithClock(clk.Now))
	x, _, _ := chat(g, noHeaders, `{"model":"auto","messages":[{"role":"user","content":"q"}]}`)
	if h := headerMap(x.ResponseHeaders(200, "application/json")); h["x-vsr-routing-latency-ms"] != "1.500" {
		t.Fatalf("routing latency header %q", h["x-vsr-routing-latency-ms"])
	}
	x, _, _ = chat(g, noHeaders, `{"model":"plain","messages":[{"role":"user","content":"q"}]}`)
	if h := headerMap(x.ResponseHeaders(200, "application/json")); h["x-vsr-routing-latency-ms"] != "" {
		t.Fatal("routing latency on a concrete-model passthrough")
	}
}

// clockClassifier is a FAKE classifier that advances the injected clock by
// step, standing in for the time a real classification takes.
type clockClassifier struct {
	clk  *manualClock
	step time.Duration
	dec  *Decision
}

func (c *clockClassifier) Classify(context.Context, *RouteRequest) (*Decision, error) {
	c.clk.Advance(c.step)
	return c.dec, nil
}

func TestCacheRequestControls(t *testing.T) {
	cases := []struct {
		name      string
		header    string
		allowed   []string
		wantHit   bool
		wantStore bool
	}{
		{"no header", "", []string{"no-cache", "no-store", "bypass"}, true, true},
		{"no-cache skips lookup", "no-cache", []string{"no-cache"}, false, true},
		{"no-store skips store", "no-store", []string{"no-store"}, true, false},
		{"bypass skips both", "max-age=3, bypass", []string{"bypass"}, false, false},
		{"directive not allowed", "no-cache", []string{"no-store"}, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := testSpec()
			spec.Decisions[0].Plugins.ResponseCache.Controls = &routes.CacheControls{Allowed: tc.allowed}
			hdr := func(n string) string {
				if n == "x-vsr-cache-control" {
					return tc.header
				}
				return ""
			}
			for _, phase := range []string{"lookup", "store"} {
				cache := &fakeCache{}
				if phase == "lookup" {
					cache.hits = []CachedResponse{{Decision: "business", Exact: true, Body: []byte(cachedBody)}}
				}
				g := newGateway(t, spec, Stages{Classifier: &fakeClassifier{dec: &Decision{Name: "business"}}, Cache: cache})
				x, imm, _ := chat(g, hdr, `{"model":"auto","messages":[{"role":"user","content":"q"}]}`)
				if phase == "lookup" {
					if (imm != nil) != tc.wantHit {
						t.Fatalf("hit = %v, want %v", imm != nil, tc.wantHit)
					}
					continue
				}
				x.ResponseHeaders(200, "application/json")
				x.ResponseBody([]byte(cachedBody), true)
				x.Finish(context.Background())
				g.Wait()
				if got := len(cache.entries()) == 1; got != tc.wantStore {
					t.Fatalf("stored = %v, want %v", got, tc.wantStore)
				}
			}
		})
	}
}
