package extproc

import (
	"fmt"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/grounding"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

func groundingHarness(t *testing.T, action string) *harness {
	sp := spec()
	sp.Decisions = append(sp.Decisions, routes.Decision{Name: "ground", ModelRefs: []routes.ModelRef{{Model: "small"}},
		Plugins: routes.Plugins{Hallucination: &routes.HallucinationPlugin{Action: action, UnverifiedAction: action,
			Details: true, Detector: grounding.New(grounding.Options{})}}})
	// wordScorer is the FAKE classifier of responseguard_test.go: it
	// picks decision "ground".
	return startHarness(t, sp, gateway.Stages{Classifier: wordScorer{dec: "ground"}}, nil, nil)
}

// toolRequest asks about the weather with a tool result as context.
func toolRequest(stream bool) string {
	return fmt.Sprintf(`{"model":"auto","stream":%v,"messages":[{"role":"user","content":"weather in Oslo?"},`+
		`{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"weather","arguments":"{}"}}]},`+
		`{"role":"tool","tool_call_id":"c1","content":"{\"city\":\"Oslo\",\"temp_c\":4}"}]}`, stream)
}

// TestHallucinationBuffered: a JSON answer is held back and checked whole
// at its end; the verdict headers ride on the last body response.
func TestHallucinationBuffered(t *testing.T) {
	cases := []struct {
		name, action, answer string
		wantDetected         string
		wantRefusal          bool
	}{
		{"header flags an invented number", config.HallucinationActionHeader, "It is 9°C in Oslo.", "true", false},
		{"header passes a grounded answer", config.HallucinationActionHeader, "It is 4°C in Oslo.", "false", false},
		{"block replaces an invented number", config.HallucinationActionBlock, "It is 9°C in Oslo.", "true", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := groundingHarness(t, tc.action).open(t)
			e.send(chatHeaders())
			e.send(reqBody(toolRequest(false), true))
			e.send(respHeaders(200, "application/json"))
			answer := fmt.Sprintf(`{"id":"a","object":"chat.completion","created":1,"model":"small","choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}]}`, tc.answer)
			first := e.send(respBody(answer[:20], false)).GetResponseBody().GetResponse()
			if b := first.GetBodyMutation(); b == nil || len(b.GetBody()) != 0 {
				t.Fatalf("first chunk not held back: %v", b)
			}
			last := e.send(respBody(answer[20:], true)).GetResponseBody().GetResponse()
			body := string(last.GetBodyMutation().GetBody())
			set := setHeaders(last.GetHeaderMutation())
			if set[gateway.HeaderHallucinationDetected] != tc.wantDetected {
				t.Errorf("headers %v", set)
			}
			if tc.wantDetected == "true" && (set[gateway.HeaderHallucinationSpans] != "1" ||
				!strings.Contains(set[gateway.HeaderHallucinationDetails], `"missing":["9"]`)) {
				t.Errorf("headers %v", set)
			}
			if tc.wantRefusal != strings.Contains(body, gateway.HallucinationRefusal) || tc.wantRefusal == strings.Contains(body, tc.answer) {
				t.Errorf("body %s", body)
			}
		})
	}
}

// TestHallucinationStreamed: an SSE answer passes chunk by chunk and is
// checked at its end: the verdict comment and (body action) a note chunk
// go out before [DONE].
func TestHallucinationStreamed(t *testing.T) {
	e := groundingHarness(t, config.HallucinationActionBody).open(t)
	e.send(chatHeaders())
	e.send(reqBody(toolRequest(true), true))
	e.send(respHeaders(200, "text/event-stream"))
	chunks := []string{
		`data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"small","choices":[{"index":0,"delta":{"content":"It is 9°C "},"finish_reason":null}]}` + "\n\n",
		`data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"small","choices":[{"index":0,"delta":{"content":"in Oslo."},"finish_reason":null}]}` + "\n\n",
		`data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"small","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\ndata: [DONE]\n\n",
	}
	var got strings.Builder
	for i, c := range chunks {
		r := e.send(respBody(c, i == len(chunks)-1)).GetResponseBody().GetResponse()
		if i < 2 && string(r.GetBodyMutation().GetBody()) != c {
			t.Errorf("chunk %d held or changed: %q", i, r.GetBodyMutation().GetBody())
		}
		got.WriteString(string(r.GetBodyMutation().GetBody()))
	}
	out := got.String()
	wantTail := `: x-vsr-hallucination detected=true spans=1 unverified=false action=body details=`
	if !strings.Contains(out, wantTail) || !strings.Contains(out, `"delta":{"content":"\n\n[semrouter: some statements`) ||
		!strings.HasSuffix(out, "}]}\n\ndata: [DONE]\n\n") {
		t.Errorf("client stream %q", out)
	}
}
