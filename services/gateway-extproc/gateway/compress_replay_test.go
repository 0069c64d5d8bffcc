package gateway

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// TestCompressedRequestReplayRecord: context_compression replaces the
// request the backend gets, but the replay record keeps the request the
// client sent (as the cache keys do), tool trace included, while the
// forwarded body is the compressed one.
func TestCompressedRequestReplayRecord(t *testing.T) {
	cfg := config.ContextCompressionPlugin{Enabled: true,
		Targets: map[string]config.CompressionTarget{"tool_outputs": {Mode: "extractive", MinTokens: 200, TargetTokens: 150}}}
	spec := compressSpec(t, &cfg, 2000)
	for i := range spec.Decisions {
		if spec.Decisions[i].Name == "complex" {
			spec.Decisions[i].Plugins.RouterReplay = &routes.RouterReplayPlugin{MaxRecords: 10, MaxBodyBytes: 1 << 20, CaptureRequestBody: true}
		}
	}
	g := newGateway(t, spec, Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{dec: &Decision{Name: "complex", Model: "qwen3-32b"}}})
	body := agentBody(400, "")
	x, imm, fwd := chat(g, noHeaders, body)
	if imm != nil {
		t.Fatalf("immediate %d %s", imm.Status, imm.Body)
	}
	if h := headerMap(x.ResponseHeaders(200, "application/json")); h[HeaderContextCompressed] == "" {
		t.Fatalf("not compressed: %v", h)
	}
	sentLog := gjson.Get(body, "messages.3.content").Str
	if gjson.GetBytes(fwd.Body, "messages.3.content").Str == sentLog {
		t.Fatal("the forwarded tool output is not compressed")
	}
	x.ResponseBody([]byte(replayAnswer), true)
	x.End(200)
	rs := g.Replay().List(ReplayFilter{Limit: 1})
	if len(rs) != 1 {
		t.Fatalf("records %+v", rs)
	}
	if got := gjson.Get(rs[0].RequestBody, "messages.3.content").Str; got != sentLog {
		t.Errorf("recorded tool output has %d bytes, the client sent %d", len(got), len(sentLog))
	}
	var out string
	for _, s := range rs[0].ToolTrace {
		if s.Kind == "result" {
			out = s.Output
		}
	}
	if !strings.Contains(out, "INFO request 0 served") {
		t.Errorf("tool trace output %q is not the client's", out)
	}
}
