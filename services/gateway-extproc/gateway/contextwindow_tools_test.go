package gateway

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/toolselect"
)

// TestContextWindowCountsOnlyKeptTools: the context-window filter runs
// before the tools plugin edits the body, so it estimates the tools the
// plugin keeps by name, not every tool the client sent: forty large tool
// definitions of which the decision keeps one still fit qwen3-32b's
// 600-token window, and mode none counts no tool.
func TestContextWindowCountsOnlyKeptTools(t *testing.T) {
	var tools []string
	for i := range 40 {
		tools = append(tools, fmt.Sprintf(`{"type":"function","function":{"name":"tool_%d","description":%q}}`, i, strings.Repeat("does things ", 20)))
	}
	body := `{"model":"auto","messages":[{"role":"user","content":"use tool_3"}],"tools":[` + strings.Join(tools, ",") + `]}`
	for _, tc := range []struct {
		name      string
		plugin    *config.ToolsPlugin
		wantModel string
		wantTools int
	}{
		{"passthrough counts every tool", nil, "plain", 40},
		{"filtered counts the allowed tools", &config.ToolsPlugin{Enabled: true, Mode: "filtered", AllowTools: []string{"tool_3"}}, "qwen3-32b", 1},
		{"block list counts the rest", &config.ToolsPlugin{Enabled: true, Mode: "filtered", BlockTools: []string{"tool_3"}}, "plain", 39},
		{"none counts no tool", &config.ToolsPlugin{Enabled: true, Mode: "none"}, "qwen3-32b", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := testSpec()
			for i := range spec.Models {
				if spec.Models[i].Name == "qwen3-32b" {
					spec.Models[i].ContextWindow = 600
				}
			}
			for i := range spec.Decisions {
				if spec.Decisions[i].Name == "complex" && tc.plugin != nil {
					spec.Decisions[i].Plugins.Tools = toolselect.New(tc.plugin, nil, nil, nil)
				}
			}
			g := newGateway(t, spec, Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{dec: &Decision{Name: "complex", Model: "qwen3-32b"}}})
			_, imm, fwd := chat(g, noHeaders, body)
			if imm != nil {
				t.Fatalf("immediate %d %s", imm.Status, imm.Body)
			}
			if got := headerMap(fwd.SetHeaders)["x-selected-model"]; got != tc.wantModel {
				t.Errorf("model %s, want %s", got, tc.wantModel)
			}
			if n := len(gjson.GetBytes(fwd.Body, "tools").Array()); n != tc.wantTools {
				t.Errorf("%d tools sent, want %d", n, tc.wantTools)
			}
		})
	}
}

// BenchmarkFitContextFilteredTools measures the context-window filter of
// a request with 40 tools under a tools plugin that keeps one by name.
func BenchmarkFitContextFilteredTools(b *testing.B) {
	var tools []string
	for i := range 40 {
		tools = append(tools, fmt.Sprintf(`{"type":"function","function":{"name":"tool_%d","description":%q}}`, i, strings.Repeat("does things ", 20)))
	}
	spec := testSpec()
	for i := range spec.Models {
		spec.Models[i].ContextWindow = 4096
	}
	for i := range spec.Decisions {
		if spec.Decisions[i].Name == "complex" {
			spec.Decisions[i].Plugins.Tools = toolselect.New(&config.ToolsPlugin{Enabled: true, Mode: "filtered", AllowTools: []string{"tool_3"}}, nil, nil, nil)
		}
	}
	g := newGateway(b, spec, Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{dec: &Decision{Name: "complex"}}})
	x, _, _ := chat(g, noHeaders, `{"model":"auto","messages":[{"role":"user","content":"use tool_3"}],"tools":[`+strings.Join(tools, ",")+`]}`)
	targets := append([]Target(nil), x.routed.targets...)
	b.ReportAllocs()
	for b.Loop() {
		x.routed.targets = append(x.routed.targets[:0], targets...)
		if imm := x.fitContext(); imm != nil {
			b.Fatal("unexpected rejection")
		}
	}
}
