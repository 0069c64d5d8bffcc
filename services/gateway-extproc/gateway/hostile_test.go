package gateway

// Hostile-client cases of the API-mode audit that the gateway owns:
// unknown endpoints, turns without text, clients that hang up.

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/pkg/metrics"
)

// The 404 for a path the router does not serve says what it serves, and
// tells an OpenAI endpoint it does not implement from a mistyped path.
func TestUnknownPathsNameServedEndpoints(t *testing.T) {
	g := newGateway(t, testSpec(), Stages{})
	cases := []struct{ name, method, path, code string }{
		// /v1/completions and /v1/embeddings are served (endpoints.go);
		// what lies under them is not.
		{"under embeddings", "POST", "/v1/embeddings/x", "unsupported_endpoint"},
		{"images", "POST", "/v1/images/generations", "unsupported_endpoint"},
		{"files", "GET", "/v1/files", "unsupported_endpoint"},
		// API mode and ext_proc serve /v1/responses before the gateway
		// sees it (package responses); with enabled: false it gets this.
		{"responses", "POST", "/v1/responses", "unsupported_endpoint"},
		{"audio", "POST", "/v1/audio/transcriptions", "unsupported_endpoint"},
		{"typo", "POST", "/v1/chat/completion", "not_found"},
		{"unknown", "GET", "/v1/whatever", "not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, imm := g.NewExchange().RequestHeaders(tc.method, tc.path, noHeaders)
			if imm == nil || imm.Status != 404 || gjson.GetBytes(imm.Body, "error.code").Str != tc.code {
				t.Fatalf("immediate = %+v", imm)
			}
			msg := gjson.GetBytes(imm.Body, "error.message").Str
			if !strings.Contains(msg, tc.path) || !strings.Contains(msg, "POST /v1/chat/completions") {
				t.Fatalf("message %q does not name the path and the served endpoints", msg)
			}
		})
	}
}

// A last user turn without text (null content, image parts only) has
// nothing to embed: the embedder is not called and the request is not
// marked degraded (it used to be, with a warning per request).
func TestNoTextSkipsEmbedder(t *testing.T) {
	emb := &fakeEmbedder{}
	g := newGateway(t, testSpec(), Stages{Embedder: emb, Classifier: &fakeClassifier{dec: &Decision{Name: "business", Confidence: 0.9}}})
	for _, body := range []string{
		`{"model":"auto","messages":[{"role":"user","content":null}]}`,
		`{"model":"auto","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}`,
	} {
		x, imm, fwd := chat(g, debugHeaders, body)
		if imm != nil || fwd == nil {
			t.Fatalf("%s: immediate %+v", body, imm)
		}
		if d := headerMap(x.ResponseHeaders(200, "application/json"))["x-vsr-degraded"]; d != "" {
			t.Fatalf("%s: degraded %q", body, d)
		}
	}
	if emb.calls != 0 {
		t.Fatalf("embedder called %d times for turns without text", emb.calls)
	}
	if _, _, fwd := chat(g, noHeaders, `{"model":"auto","messages":[{"role":"user","content":"some text"}]}`); fwd == nil || emb.calls != 1 {
		t.Fatalf("a turn with text: forward %v, embedder calls %d", fwd != nil, emb.calls)
	}
}

// A client that hangs up while the stages run does not make them count
// as degraded (stage metric, warning, x-vsr-degraded): the stages did
// nothing wrong.
func TestClientGoneIsNoDegradedStage(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.NewGateway(reg)
	if err != nil {
		t.Fatal(err)
	}
	emb := &fakeEmbedder{block: true}
	g := newGateway(t, testSpec(), Stages{Embedder: emb, Classifier: &fakeClassifier{block: true, dec: &Decision{Name: "business"}}},
		WithMetrics(m))
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client is gone before routing
	x := g.NewExchange()
	x.RequestHeaders("POST", "/v1/chat/completions", debugHeaders)
	imm, fwd := x.RequestBody(ctx, []byte(`{"model":"auto","messages":[{"role":"user","content":"hello"}]}`))
	if imm != nil || fwd == nil {
		t.Fatalf("immediate %+v", imm)
	}
	if d := headerMap(x.ResponseHeaders(200, "application/json"))["x-vsr-degraded"]; d != "" {
		t.Fatalf("degraded %q for a client that hung up", d)
	}
	if out := exposition(t, reg, "semrouter_gateway_stage_degraded_total"); out != "" {
		t.Fatalf("stage degraded series: %s", out)
	}
}
