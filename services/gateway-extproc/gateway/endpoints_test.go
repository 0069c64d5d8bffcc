package gateway

import (
	"context"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// endpointRequest runs one POST of body to path through a new exchange.
func endpointRequest(g *Gateway, path, body string) (*Exchange, *Immediate, *Forward) {
	x := g.NewExchange()
	if kind, imm := x.RequestHeaders("POST", path, noHeaders); kind != KindChat {
		return x, imm, nil
	}
	imm, fwd := x.RequestBody(context.Background(), []byte(body))
	return x, imm, fwd
}

// What the gateway does with completions and embeddings bodies: concrete
// models pass with their provider id, the auto name routes a prompt (and
// only rewrites model; the decision's system prompt, request_params and
// reasoning do not apply), embeddings refuse the auto name.
func TestEndpointBodies(t *testing.T) {
	cases := []struct {
		name, path, body string
		decision         string
		status           int    // immediate status; 0: forwarded
		code             string // the immediate's error code
		wantBody         string // forwarded body
		model            string // x-selected-model
	}{
		{name: "embeddings concrete", path: "/v1/embeddings", body: `{"model":"qwen3-8b","input":"hi","dimensions":8}`,
			wantBody: `{"model":"qwen3-8b-instruct","input":"hi","dimensions":8}`, model: "qwen3-8b"},
		{name: "embeddings same id unchanged", path: "/v1/embeddings", body: `{"input":[1,2,3],"model":"plain"}`,
			wantBody: `{"input":[1,2,3],"model":"plain"}`, model: "plain"},
		{name: "embeddings auto", path: "/v1/embeddings", body: `{"model":"auto","input":"hi"}`, status: 400, code: "model_not_supported"},
		{name: "embeddings entrypoint name", path: "/v1/embeddings", body: `{"model":"vllm-sr/privacy","input":"hi"}`, status: 400, code: "model_not_supported"},
		{name: "embeddings unknown", path: "/v1/embeddings", body: `{"model":"gpt-x","input":"hi"}`, status: 404, code: "model_not_found"},
		{name: "completions concrete stream", path: "/v1/completions", body: `{"model":"qwen3-32b","prompt":"x","stream":true,"logprobs":2}`,
			wantBody: `{"model":"qwen3-32b-instruct","prompt":"x","stream":true,"logprobs":2}`, model: "qwen3-32b"},
		{name: "completions routed", path: "/v1/completions", decision: "complex",
			body:     `{"model":"MoM","prompt":["a","b"],"max_tokens":4000,"logprobs":2,"stream":true}`,
			wantBody: `{"model":"qwen3-32b-instruct","prompt":["a","b"],"max_tokens":4000,"logprobs":2,"stream":true}`, model: "qwen3-32b"},
		{name: "completions routed with system prompt decision", path: "/v1/completions", decision: "business",
			body: `{"model":"auto","prompt":"q"}`, wantBody: `{"model":"qwen3-8b-instruct","prompt":"q"}`, model: "qwen3-8b"},
		{name: "completions fast_response decision still forwards", path: "/v1/completions", decision: "terse",
			body: `{"model":"auto","prompt":"q"}`, wantBody: `{"model":"qwen3-8b-instruct","prompt":"q"}`, model: "qwen3-8b"},
		{name: "completions token prompt", path: "/v1/completions", decision: "complex",
			body: `{"model":"auto","prompt":[[1,2],[3]]}`, wantBody: `{"model":"qwen3-32b-instruct","prompt":[[1,2],[3]]}`, model: "qwen3-32b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := testSpec()
			spec.NeedsEmbedding = false
			g := newGateway(t, spec, Stages{Classifier: staticClassifier{&Decision{Name: tc.decision, Confidence: 0.7}}})
			x, imm, fwd := endpointRequest(g, tc.path, tc.body)
			if tc.status != 0 {
				if imm == nil || imm.Status != tc.status || gjson.GetBytes(imm.Body, "error.code").Str != tc.code {
					t.Fatalf("immediate %+v, want %d %s", imm, tc.status, tc.code)
				}
				if gjson.GetBytes(imm.Body, "error.param").Str != "model" {
					t.Fatalf("error does not name model: %s", imm.Body)
				}
				return
			}
			if imm != nil {
				t.Fatalf("immediate %d %s", imm.Status, imm.Body)
			}
			if string(fwd.Body) != tc.wantBody || fwd.BodyChanged != (tc.wantBody != tc.body) {
				t.Fatalf("body %s (changed %v), want %s", fwd.Body, fwd.BodyChanged, tc.wantBody)
			}
			h := map[string]string{}
			for _, s := range fwd.SetHeaders {
				h[s.Name] = s.Value
			}
			if h["x-selected-model"] != tc.model || !fwd.ClearRouteCache {
				t.Fatalf("set headers %v", fwd.SetHeaders)
			}
			if tc.decision == "complex" && h["x-tenant-tier"] != "premium" {
				t.Fatalf("header_mutation not applied: %v", fwd.SetHeaders)
			}
			// Failover targets get only their model id too.
			for _, tg := range fwd.Targets[1:] {
				b, _, err := x.BodyFor(tg)
				if err != nil || gjson.GetBytes(b, "model").Str != tg.Model.UpstreamModelID() || strings.Contains(string(b), "enable_thinking") {
					t.Fatalf("body for %s: %s %v", tg.Model.Name, b, err)
				}
			}
			rh := headerMap(x.ResponseHeaders(200, "application/json"))
			if rh[HeaderSelectedModel] != tc.model || rh[HeaderSelectedDecision] != tc.decision {
				t.Fatalf("response headers %v", rh)
			}
			if tc.decision != "" && rh[HeaderSelectedReasoning] != "off" {
				t.Fatalf("reasoning header %q for a body without reasoning fields", rh[HeaderSelectedReasoning])
			}
		})
	}
}

// BenchmarkEndpointRequestBody measures the request inspection of POST
// /v1/embeddings and /v1/completions: parse and validation, model
// resolution and the model rewrite; for the auto name, the classification
// (a FAKE classifier answering at once) and decision application.
func BenchmarkEndpointRequestBody(b *testing.B) {
	spec := testSpec()
	spec.NeedsEmbedding = false
	g := newGateway(b, spec, Stages{Classifier: staticClassifier{&Decision{Name: "complex", Confidence: 0.8}}})
	batch := make([]string, 64)
	for i := range batch {
		batch[i] = `"` + strings.Repeat("a sentence to embed, ", 4) + `"`
	}
	cases := []struct{ name, path, body string }{
		{"embeddings_batch64", "/v1/embeddings", `{"model":"qwen3-8b","input":[` + strings.Join(batch, ",") + `]}`},
		{"completions_concrete", "/v1/completions", `{"model":"qwen3-32b","max_tokens":64,"prompt":"` + strings.Repeat("Explain churn. ", 40) + `"}`},
		{"completions_routed", "/v1/completions", `{"model":"auto","max_tokens":64,"prompt":"` + strings.Repeat("Explain churn. ", 40) + `"}`},
	}
	ctx := context.Background()
	for _, bc := range cases {
		body := []byte(bc.body)
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				x := g.NewExchange()
				x.RequestHeaders("POST", bc.path, noHeaders)
				imm, fwd := x.RequestBody(ctx, body)
				if imm != nil || !fwd.BodyChanged {
					b.Fatal("unexpected result")
				}
				_ = x.ResponseHeaders(200, "application/json")
			}
		})
	}
}
