package extproc

// The Envoy side of these tests is played over a real gRPC stream (Envoy
// cannot run here); the upstream answers are FAKE Anthropic Messages API
// bodies fed as Envoy would pass them on.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

func anthropicSpec() routes.Spec {
	sp := spec()
	sp.Models = append(sp.Models, routes.Model{Name: "claude", ProviderModelID: "claude-test-1", APIFormat: routes.APIFormatAnthropic,
		Backends: []routes.Backend{{Name: "ant", BaseURL: "https://api.anthropic.example", Weight: 1, APIKey: hostedKey, APIVersion: "v9"}}})
	return sp
}

// TestAnthropicRequestTranslation: the request-body response carries the
// Messages API body, its content-length, :path /v1/messages (with the
// backend's api-version), x-api-key and anthropic-version, and removes the
// client's Authorization.
func TestAnthropicRequestTranslation(t *testing.T) {
	e := startHarness(t, anthropicSpec(), gateway.Stages{}, nil, credOptions(0)).open(t)
	e.send(chatHeaders("authorization", "Bearer client-token"))
	resp := e.send(reqBody(`{"model":"claude","max_tokens":20,"messages":[{"role":"system","content":"S"},{"role":"user","content":"hi"}]}`, true))
	cr := resp.GetRequestBody().GetResponse()
	body := cr.GetBodyMutation().GetBody()
	if gjson.GetBytes(body, "model").Str != "claude-test-1" || gjson.GetBytes(body, "system").Str != "S" ||
		gjson.GetBytes(body, "max_tokens").Int() != 20 || gjson.GetBytes(body, "messages.0.content.0.text").Str != "hi" {
		t.Fatalf("body %s", body)
	}
	set := setHeaders(cr.GetHeaderMutation())
	want := map[string]string{":path": "/v1/messages?api-version=v9", "x-api-key": hostedKey, "anthropic-version": "2023-06-01",
		"content-length": strconv.Itoa(len(body)), "x-selected-model": "claude"}
	for k, v := range want {
		if set[k] != v {
			t.Errorf("%s = %q, want %q", k, set[k], v)
		}
	}
	if _, ok := set["authorization"]; ok || !contains(cr.GetHeaderMutation().GetRemoveHeaders(), "authorization") {
		t.Errorf("authorization not removed: %v", cr.GetHeaderMutation())
	}
}

func TestAnthropicUntranslatableRequestIs400(t *testing.T) {
	e := startHarness(t, anthropicSpec(), gateway.Stages{}, nil, credOptions(0)).open(t)
	e.send(chatHeaders())
	resp := e.send(reqBody(`{"model":"claude","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/tiff;base64,AA=="}}]}]}`, true))
	imm := resp.GetImmediateResponse()
	if imm == nil || imm.GetStatus().GetCode() != 400 || gjson.GetBytes(imm.GetBody(), "error.code").Str != "invalid_image_url" {
		t.Fatalf("want an immediate 400, got %v", resp)
	}
}

// TestAnthropicBufferedResponse: a JSON message (held back chunk by chunk)
// becomes a chat.completion; an error body an OpenAI error, 529 → 503.
func TestAnthropicBufferedResponse(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		chunks     []string
		wantStatus string // :status mutation ("" none)
		check      func(t *testing.T, body []byte)
	}{
		{name: "message in two chunks", status: 200,
			chunks: []string{`{"id":"msg_1","type":"message","model":"claude-test-1","content":[{"type":"text","text":"hel`,
				`lo"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":2}}`},
			check: func(t *testing.T, b []byte) {
				if gjson.GetBytes(b, "object").Str != "chat.completion" || gjson.GetBytes(b, "choices.0.message.content").Str != "hello" ||
					gjson.GetBytes(b, "usage.total_tokens").Int() != 5 || gjson.GetBytes(b, "choices.0.finish_reason").Str != "stop" {
					t.Errorf("body %s", b)
				}
			}},
		{name: "overloaded", status: 529, chunks: []string{`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`},
			wantStatus: "503",
			check: func(t *testing.T, b []byte) {
				if gjson.GetBytes(b, "error.code").Str != "overloaded_error" || gjson.GetBytes(b, "error.message").Str != "Overloaded" {
					t.Errorf("body %s", b)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := startHarness(t, anthropicSpec(), gateway.Stages{}, nil, credOptions(0)).open(t)
			e.send(chatHeaders())
			e.send(reqBody(`{"model":"claude","messages":[{"role":"user","content":"hi"}]}`, true))
			rh := e.send(respHeaders(tc.status, "application/json")).GetResponseHeaders().GetResponse().GetHeaderMutation()
			set := setHeaders(rh)
			if set[":status"] != tc.wantStatus || !contains(rh.GetRemoveHeaders(), "content-length") || set["content-type"] != "application/json" {
				t.Fatalf("response header mutation %v", rh)
			}
			var got []byte
			for i, c := range tc.chunks {
				last := i == len(tc.chunks)-1
				m := e.send(respBody(c, last)).GetResponseBody().GetResponse().GetBodyMutation()
				if m == nil {
					t.Fatalf("chunk %d not replaced", i)
				}
				if !last && len(m.GetBody()) != 0 {
					t.Fatalf("chunk %d not held back: %s", i, m.GetBody())
				}
				got = append(got, m.GetBody()...)
			}
			tc.check(t, got)
		})
	}
}

// TestAnthropicStreamedResponse: an SSE answer is switched to STREAMED and
// translated chunk by chunk into OpenAI chunks ending with [DONE]; the
// usage chunk the router asked for is cut out for a client that did not.
func TestAnthropicStreamedResponse(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("..", "anthropic", "testdata", "tool_stream.sse"))
	if err != nil {
		t.Fatal(err)
	}
	for _, withUsage := range []bool{false, true} {
		name := "without usage"
		opts := ""
		if withUsage {
			name, opts = "with usage", `,"stream_options":{"include_usage":true}`
		}
		t.Run(name, func(t *testing.T) {
			e := startHarness(t, anthropicSpec(), gateway.Stages{}, nil, credOptions(0)).open(t)
			e.send(chatHeaders())
			rb := e.send(reqBody(`{"model":"claude","stream":true`+opts+`,"messages":[{"role":"user","content":"hi"}]}`, true))
			if !gjson.GetBytes(rb.GetRequestBody().GetResponse().GetBodyMutation().GetBody(), "stream").Bool() {
				t.Fatalf("upstream body not streaming: %v", rb)
			}
			rh := e.send(respHeaders(200, "text/event-stream"))
			if rh.GetModeOverride().GetResponseBodyMode().String() != "STREAMED" {
				t.Fatalf("no STREAMED override: %v", rh)
			}
			var got strings.Builder
			const size = 97
			for off := 0; off < len(in); off += size {
				end := min(off+size, len(in))
				m := e.send(respBody(string(in[off:end]), end == len(in))).GetResponseBody().GetResponse().GetBodyMutation()
				got.WriteString(string(m.GetBody()))
			}
			out := got.String()
			if !strings.HasSuffix(out, "data: [DONE]\n\n") || !strings.Contains(out, `"finish_reason":"tool_calls"`) ||
				!strings.Contains(out, `"name":"get_weather"`) {
				t.Fatalf("translated stream:\n%s", out)
			}
			if hasUsage := strings.Contains(out, `"usage":{`); hasUsage != withUsage {
				t.Fatalf("usage chunk present %v, want %v:\n%s", hasUsage, withUsage, out)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
