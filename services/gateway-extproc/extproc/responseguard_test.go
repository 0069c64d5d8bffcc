package extproc

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// wordScorer is a FAKE classifier stage (the jailbreak model runs in the
// classifier service): decision dec; answers containing FORBIDDEN score
// 0.9, others 0.1.
type wordScorer struct{ dec string }

func (w wordScorer) Classify(context.Context, *gateway.RouteRequest) (*gateway.Decision, error) {
	return &gateway.Decision{Name: w.dec}, nil
}

func (w wordScorer) ScoreText(_ context.Context, text string) (float64, error) {
	if strings.Contains(text, "FORBIDDEN") {
		return 0.9, nil
	}
	return 0.1, nil
}

func guardHarness(t *testing.T, action string) *harness {
	sp := spec()
	sp.Decisions = append(sp.Decisions, routes.Decision{Name: "guard", ModelRefs: []routes.ModelRef{{Model: "small"}},
		Plugins: routes.Plugins{ResponseJailbreak: &routes.ResponseJailbreakPlugin{Threshold: 0.5, Action: action}}})
	return startHarness(t, sp, gateway.Stages{Classifier: wordScorer{dec: "guard"}}, nil, nil)
}

// TestResponseJailbreakBuffered: a JSON answer is held back and screened
// whole at its end; the verdict headers ride on the last body response.
func TestResponseJailbreakBuffered(t *testing.T) {
	cases := []struct {
		name, action, answer string
		wantFlag             string
		wantRefusal          bool
	}{
		{"block flagged", "block", "this is FORBIDDEN", "true", true},
		{"block clean", "block", "all fine", "", false},
		{"header flagged", "header", "this is FORBIDDEN", "true", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := guardHarness(t, tc.action).open(t)
			e.send(chatHeaders())
			e.send(reqBody(`{"model":"auto","messages":[{"role":"user","content":"q"}]}`, true))
			rh := e.send(respHeaders(200, "application/json")).GetResponseHeaders().GetResponse()
			if !slices.Contains(rh.GetHeaderMutation().GetRemoveHeaders(), "content-length") {
				t.Errorf("content-length kept: %v", rh.GetHeaderMutation())
			}
			answer := fmt.Sprintf(`{"id":"a","object":"chat.completion","created":1,"model":"small","choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}]}`, tc.answer)
			first := e.send(respBody(answer[:20], false)).GetResponseBody().GetResponse()
			if b := first.GetBodyMutation(); b == nil || len(b.GetBody()) != 0 {
				t.Fatalf("first chunk not held back: %v", b)
			}
			last := e.send(respBody(answer[20:], true)).GetResponseBody().GetResponse()
			body := string(last.GetBodyMutation().GetBody())
			set := setHeaders(last.GetHeaderMutation())
			if set[gateway.HeaderResponseJailbreakFlagged] != tc.wantFlag || set[gateway.HeaderResponseJailbreak] == "" {
				t.Errorf("headers %v", set)
			}
			if tc.wantRefusal != strings.Contains(body, `"finish_reason":"content_filter"`) || tc.wantRefusal == strings.Contains(body, tc.answer) {
				t.Errorf("body %s", body)
			}
		})
	}
}

// TestResponseJailbreakStreamed: an SSE answer is screened chunk by chunk
// (block: held until it scans clean, cut with content_filter).
func TestResponseJailbreakStreamed(t *testing.T) {
	e := guardHarness(t, "block").open(t)
	e.send(chatHeaders())
	e.send(reqBody(`{"model":"auto","stream":true,"messages":[{"role":"user","content":"q"}]}`, true))
	rh := e.send(respHeaders(200, "text/event-stream"))
	if rh.GetModeOverride().GetResponseBodyMode() != filterv3.ProcessingMode_STREAMED {
		t.Fatalf("mode override %v", rh.GetModeOverride())
	}
	var got strings.Builder
	chunks := []string{
		`data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"small","choices":[{"index":0,"delta":{"content":"hello "},"finish_reason":null}]}` + "\n\n",
		`data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"small","choices":[{"index":0,"delta":{"content":"FORBIDDEN"},"finish_reason":null}]}` + "\n\n",
		`data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"small","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\ndata: [DONE]\n\n",
	}
	for i, c := range chunks {
		r := e.send(respBody(c, i == len(chunks)-1)).GetResponseBody().GetResponse()
		if r.GetBodyMutation() == nil {
			t.Fatalf("chunk %d passed unscreened", i)
		}
		got.WriteString(string(r.GetBodyMutation().GetBody()))
	}
	out := got.String()
	if strings.Contains(out, "FORBIDDEN") || strings.Contains(out, "hello") ||
		!strings.HasSuffix(out, `"finish_reason":"content_filter"}]}`+"\n\ndata: [DONE]\n\n") {
		t.Errorf("client stream %q", out)
	}
}
