package gateway

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/compress"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// agentBody is an agent conversation whose last tool output is a log of
// n lines with one relevant line about db-7.
func agentBody(n int, extra string) string {
	var log strings.Builder
	for i := 0; i < n; i++ {
		if i == n/2 {
			log.WriteString("ERROR host db-7 disk full: write failed on /var/lib/postgres\n")
			continue
		}
		fmt.Fprintf(&log, "INFO request %d served in %d ms\n", i, i%50)
	}
	msgs, _ := json.Marshal([]map[string]any{
		{"role": "system", "content": "You are an SRE assistant."},
		{"role": "user", "content": "why is the disk on db-7 full?"},
		{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{"id": "c1", "type": "function",
			"function": map[string]any{"name": "logs", "arguments": "{}"}}}},
		{"role": "tool", "tool_call_id": "c1", "content": log.String()},
	})
	return `{"model":"auto"` + extra + `,"messages":` + string(msgs) + `}`
}

// compressSpec is testSpec with a context_compression plugin on decision
// "complex" (modelRefs qwen3-32b, plain; request_params max_tokens_limit
// 100) and qwen3-32b's context window set to window.
func compressSpec(t *testing.T, c *config.ContextCompressionPlugin, window int) routes.Spec {
	t.Helper()
	pol, err := compress.New(c)
	if err != nil {
		t.Fatal(err)
	}
	spec := testSpec()
	for i := range spec.Decisions {
		if spec.Decisions[i].Name == "complex" {
			spec.Decisions[i].Plugins.Compression = pol
		}
	}
	for i := range spec.Models {
		if spec.Models[i].Name == "qwen3-32b" {
			spec.Models[i].ContextWindow = window
		}
	}
	return spec
}

func TestContextCompression(t *testing.T) {
	tools := map[string]config.CompressionTarget{"tool_outputs": {Mode: "extractive", MinTokens: 200, TargetTokens: 150}}
	controls := &config.CompressionRequestControls{Enabled: true, Allowed: []string{"bypass", "target"}, MaxTargetTokens: 1000}
	ctlHeader := func(v string) func(string) string {
		return func(n string) string {
			if n == compress.DefaultControlHeader {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name       string
		cfg        config.ContextCompressionPlugin
		window     int
		hdr        func(string) string
		lines      int
		extra      string
		wantModel  string // first target; "" for an immediate answer
		wantStatus int
		wantCode   string
		compressed bool
		degraded   string
	}{
		{name: "auto budgets compress so the selected model fits", cfg: config.ContextCompressionPlugin{Targets: tools},
			window: 2000, lines: 400, wantModel: "qwen3-32b", compressed: true},
		{name: "under the auto trigger nothing changes", cfg: config.ContextCompressionPlugin{Targets: tools},
			window: 100000, lines: 400, wantModel: "qwen3-32b"},
		{name: "numeric budgets apply without a window", cfg: config.ContextCompressionPlugin{Targets: tools,
			Budget: &config.CompressionBudget{TriggerTokens: "1000", TargetTokens: "500"}},
			window: 0, lines: 400, wantModel: "qwen3-32b", compressed: true},
		{name: "auto budgets without a window do nothing", cfg: config.ContextCompressionPlugin{Targets: tools},
			window: 0, lines: 400, wantModel: "qwen3-32b"},
		{name: "bypass control leaves it to the window filter", cfg: config.ContextCompressionPlugin{Targets: tools, RequestControls: controls},
			window: 2000, lines: 400, hdr: ctlHeader("bypass"), wantModel: "plain"},
		{name: "target control compresses a request under the trigger", cfg: config.ContextCompressionPlugin{Targets: tools, RequestControls: controls},
			window: 100000, lines: 400, hdr: ctlHeader("target=300"), wantModel: "qwen3-32b", compressed: true},
		{name: "unknown control is a 400", cfg: config.ContextCompressionPlugin{Targets: tools, RequestControls: controls},
			window: 2000, lines: 10, hdr: ctlHeader("squeeze"), wantStatus: 400, wantCode: "invalid_compression_control"},
		{name: "fail_open: no room leaves the request, degraded", cfg: config.ContextCompressionPlugin{Targets: tools},
			window: 90, lines: 10, extra: `,"max_tokens":100`, wantModel: "plain", degraded: StageContextCompression},
		{name: "fail_closed: no room is an error", cfg: config.ContextCompressionPlugin{Targets: tools, FailureMode: "fail_closed"},
			window: 90, lines: 10, extra: `,"max_tokens":100`, wantStatus: 400, wantCode: CodeContextCompressionFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m, err := metrics.NewGateway(reg)
			if err != nil {
				t.Fatal(err)
			}
			cfg := tc.cfg
			cfg.Enabled = true
			g := newGateway(t, compressSpec(t, &cfg, tc.window),
				Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{dec: &Decision{Name: "complex", Model: "qwen3-32b"}}},
				WithMetrics(m))
			hdr := tc.hdr
			if hdr == nil {
				hdr = noHeaders
			}
			body := agentBody(tc.lines, tc.extra)
			x, imm, fwd := chat(g, hdr, body)
			if tc.wantModel == "" {
				if imm == nil || imm.Status != tc.wantStatus || gjson.GetBytes(imm.Body, "error.code").Str != tc.wantCode {
					t.Fatalf("want %d %s, got immediate %+v forward %v", tc.wantStatus, tc.wantCode, imm, fwd != nil)
				}
				return
			}
			if imm != nil {
				t.Fatalf("immediate %d %s", imm.Status, imm.Body)
			}
			if got := headerMap(fwd.SetHeaders)["x-selected-model"]; got != tc.wantModel {
				t.Fatalf("model %s, want %s", got, tc.wantModel)
			}
			h := headerMap(x.ResponseHeaders(200, "application/json"))
			if h["x-vsr-degraded"] != tc.degraded {
				t.Errorf("degraded %q, want %q", h["x-vsr-degraded"], tc.degraded)
			}
			series := exposition(t, reg, "semrouter_gateway_stage_degraded_total")
			if got := strings.Contains(series, `stage="context_compression"`); got != (tc.degraded != "") {
				t.Errorf("stage metric:\n%s", series)
			}
			tool := gjson.GetBytes(fwd.Body, "messages.3.content").Str
			if !tc.compressed {
				if h[HeaderContextCompressed] != "" || tool != gjson.Get(body, "messages.3.content").Str {
					t.Fatalf("request changed: header %q", h[HeaderContextCompressed])
				}
				return
			}
			var before, after int
			if _, err := fmt.Sscanf(h[HeaderContextCompressed], "%d->%d", &before, &after); err != nil || after >= before {
				t.Fatalf("%s = %q (%v)", HeaderContextCompressed, h[HeaderContextCompressed], err)
			}
			if !strings.Contains(tool, "ERROR host db-7 disk full") || !strings.Contains(tool, "segments omitted]") {
				t.Errorf("compressed tool output:\n%s", tool)
			}
			if EstimateTokens(tool) > 150 {
				t.Errorf("tool output %d tokens, want <= 150", EstimateTokens(tool))
			}
			// The failover body is compressed too; the system message and
			// the user turn are untouched.
			alt, _, err := x.BodyFor(fwd.Targets[len(fwd.Targets)-1])
			if err != nil || gjson.GetBytes(alt, "messages.3.content").Str != tool {
				t.Errorf("failover body not compressed (%v)", err)
			}
			for _, i := range []string{"0", "1"} {
				if gjson.GetBytes(fwd.Body, "messages."+i+".content").Str != gjson.Get(body, "messages."+i+".content").Str {
					t.Errorf("message %s changed", i)
				}
			}
		})
	}
}
