package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
	"github.com/semrouter/semrouter/services/gateway-extproc/toolselect"
)

// namedDecision is a FAKE classifier (the classifier service lives in
// another module) that always selects one decision.
type namedDecision string

func (n namedDecision) Classify(context.Context, *gateway.RouteRequest) (*gateway.Decision, error) {
	return &gateway.Decision{Name: string(n), Confidence: 1}, nil
}

const toolsBody = `{"model":%q,"messages":[{"role":"user","content":"hi"},` +
	`{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"exec_cmd","arguments":"{}"}}]},` +
	`{"role":"tool","tool_call_id":"c1","content":"done"},{"role":"user","content":"and now?"}],` +
	`"tools":[{"type":"function","function":{"name":"get_weather"}},{"type":"function","function":{"name":"exec_cmd"}}],` +
	`"tool_choice":{"type":"function","function":{"name":"exec_cmd"}}}`

// TestToolsEditEveryTarget: the edit planned once is in the body Envoy
// forwards (ext_proc mode) and in the body of each failover target, next
// to the other plugin edits; a concrete model name is not routed and
// keeps its tools.
func TestToolsEditEveryTarget(t *testing.T) {
	pol := toolselect.New(&config.ToolsPlugin{Enabled: true, Mode: "filtered", BlockTools: []string{"exec_cmd"}, StripToolHistory: true},
		nil, nil, toolselect.NewCache(0))
	spec := routes.Spec{DefaultModel: "b",
		Models: []routes.Model{{Name: "a", ProviderModelID: "a-id"}, {Name: "b", ProviderModelID: "b-id"}},
		Decisions: []routes.Decision{{Name: "agent", ModelRefs: []routes.ModelRef{{Model: "a"}, {Model: "b"}},
			Plugins: routes.Plugins{Tools: pol, SystemPrompt: &routes.SystemPromptPlugin{Enabled: true, SystemPrompt: "be brief"}}}}}
	tbl, err := routes.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	gw := gateway.New(tbl, gateway.Stages{Classifier: namedDecision("agent")}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(gw.Wait)

	check := func(t *testing.T, body []byte, model string) {
		t.Helper()
		var got struct {
			Model    string
			Tools    []struct{ Function struct{ Name string } }
			Choice   any `json:"tool_choice"`
			Messages []map[string]any
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		if got.Model != model || len(got.Tools) != 1 || got.Tools[0].Function.Name != "get_weather" || got.Choice != "auto" {
			t.Errorf("body %s", body)
		}
		var roles []string
		for _, m := range got.Messages {
			roles = append(roles, m["role"].(string))
		}
		if want := []string{"system", "user", "user"}; len(roles) != 3 || roles[0] != want[0] || roles[2] != want[2] {
			t.Errorf("roles %v, want %v", roles, want)
		}
	}
	x := gw.NewExchange()
	if k, _ := x.RequestHeaders(http.MethodPost, "/v1/chat/completions", nil); k != gateway.KindChat {
		t.Fatalf("kind %v", k)
	}
	imm, fwd := x.RequestBody(context.Background(), []byte(fmt.Sprintf(toolsBody, "auto")))
	if imm != nil || !fwd.BodyChanged {
		t.Fatalf("immediate %+v forward %+v", imm, fwd)
	}
	check(t, fwd.Body, "a-id")
	if len(fwd.Targets) != 2 {
		t.Fatalf("targets %d", len(fwd.Targets))
	}
	b, _, err := x.BodyFor(fwd.Targets[1])
	if err != nil {
		t.Fatal(err)
	}
	check(t, b, "b-id")

	x = gw.NewExchange()
	x.RequestHeaders(http.MethodPost, "/v1/chat/completions", nil)
	_, fwd = x.RequestBody(context.Background(), []byte(fmt.Sprintf(toolsBody, "a")))
	var got struct{ Tools []any }
	if err := json.Unmarshal(fwd.Body, &got); err != nil || len(got.Tools) != 2 {
		t.Fatalf("concrete model: tools %d (%v)", len(got.Tools), err)
	}
}
