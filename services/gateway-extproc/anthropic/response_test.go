package anthropic

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

var t0 = time.Unix(1_700_000_000, 0)

func TestConvertResponse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string
	}{
		{name: "text, end_turn and usage",
			in: `{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"Hello"},{"type":"text","text":" there"}],` +
				`"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":3,"cache_read_input_tokens":4}}`,
			want: map[string]string{"id": `"chatcmpl-msg_1"`, "object": `"chat.completion"`, "created": `1700000000`, "model": `"claude-x"`,
				"choices.0.message.role": `"assistant"`, "choices.0.message.content": `"Hello there"`, "choices.0.finish_reason": `"stop"`,
				"usage.prompt_tokens": `14`, "usage.completion_tokens": `3`, "usage.total_tokens": `17`, "usage.prompt_tokens_details.cached_tokens": `4`}},
		{name: "prompt cache writes keep their count",
			in: `{"id":"msg_3","type":"message","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn",` +
				`"usage":{"input_tokens":10,"output_tokens":3,"cache_creation_input_tokens":600,"cache_read_input_tokens":300}}`,
			want: map[string]string{"usage.prompt_tokens": `910`, "usage.completion_tokens": `3`, "usage.total_tokens": `913`,
				"usage.prompt_tokens_details.cached_tokens": `300`, "usage.cache_creation_input_tokens": `600`}},
		{name: "tool use",
			in: `{"id":"msg_2","type":"message","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],` +
				`"stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":2}}`,
			want: map[string]string{"model": `"requested"`, "choices.0.message.content": ``, "choices.0.finish_reason": `"tool_calls"`,
				"choices.0.message.tool_calls.0": `{"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}`}},
		{name: "max_tokens", in: `{"type":"message","content":[{"type":"text","text":"cut"}],"stop_reason":"max_tokens"}`,
			want: map[string]string{"choices.0.finish_reason": `"length"`, "id": `"chatcmpl-anthropic"`}},
		{name: "stop_sequence", in: `{"type":"message","content":[],"stop_reason":"stop_sequence","stop_sequence":"END"}`,
			want: map[string]string{"choices.0.finish_reason": `"stop"`, "choices.0.message.content": `""`}},
		{name: "thinking becomes reasoning_content",
			in:   `{"type":"message","content":[{"type":"thinking","thinking":"hmm"},{"type":"text","text":"ok"}],"stop_reason":"end_turn"}`,
			want: map[string]string{"choices.0.message.reasoning_content": `"hmm"`, "choices.0.message.content": `"ok"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := ConvertResponse([]byte(tc.in), "requested", t0)
			if err != nil {
				t.Fatal(err)
			}
			for path, want := range tc.want {
				if got := gjson.GetBytes(out, path).Raw; got != want {
					t.Errorf("%s = %s, want %s\nbody %s", path, got, want, out)
				}
			}
		})
	}
}

func TestConvertResponseRejectsOtherBodies(t *testing.T) {
	for _, in := range []string{``, `[]`, `{"type":"error"}`, `{"choices":[]}`} {
		if _, err := ConvertResponse([]byte(in), "m", t0); !errors.Is(err, ErrInvalidResponse) {
			t.Errorf("%q: err = %v, want ErrInvalidResponse", in, err)
		}
	}
}

func TestConvertError(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantStatus int
		wantType   string
		wantCode   string
		wantMsg    string
	}{
		{"invalid request", 400, `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: too big"}}`, 400, "invalid_request_error", "invalid_request_error", "max_tokens: too big"},
		{"auth", 401, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`, 401, "authentication_error", "authentication_error", "invalid x-api-key"},
		{"rate limit", 429, `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`, 429, "rate_limit_error", "rate_limit_error", "slow down"},
		{"overloaded becomes 503", 529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, 503, "server_error", "overloaded_error", "Overloaded"},
		{"not json", 502, `<html>bad gateway</html>`, 502, "server_error", "", "the Anthropic backend answered 502"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := ConvertError(tc.status, []byte(tc.body))
			if status != tc.wantStatus {
				t.Errorf("status %d, want %d", status, tc.wantStatus)
			}
			e := gjson.GetBytes(body, "error")
			if e.Get("type").Str != tc.wantType || e.Get("code").Str != tc.wantCode || e.Get("message").Str != tc.wantMsg {
				t.Errorf("error %s", body)
			}
		})
	}
}

func TestExchangeResponse(t *testing.T) {
	x := &Exchange{Model: "m"}
	resp := &http.Response{StatusCode: 529, Header: http.Header{"Content-Type": {"application/json"}, "Content-Length": {"70"}},
		Body: io.NopCloser(strings.NewReader(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`))}
	x.Response(resp, t0)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || gjson.GetBytes(body, "error.code").Str != "overloaded_error" || resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
		t.Fatalf("status %d headers %v body %s", resp.StatusCode, resp.Header, body)
	}
	resp = &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}, "Content-Length": {"5"}},
		Body: io.NopCloser(strings.NewReader(`{"type":"message","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn"}`))}
	x.Response(resp, t0)
	body, err := io.ReadAll(resp.Body)
	if err != nil || gjson.GetBytes(body, "choices.0.message.content").Str != "hi" || resp.Header.Get("Content-Length") != "" || resp.ContentLength != -1 {
		t.Fatalf("err %v headers %v body %s", err, resp.Header, body)
	}
	resp = &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"object":"chat.completion"}`))}
	x.Response(resp, t0)
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, ErrInvalidResponse) {
		t.Fatalf("a non-message body read: %v, want ErrInvalidResponse", err)
	}
}

func BenchmarkConvertResponse(b *testing.B) {
	body := []byte(`{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"TCP is connection-oriented and reliable; UDP is connectionless and best-effort."}],` +
		`"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":18}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ConvertResponse(body, "m", t0); err != nil {
			b.Fatal(err)
		}
	}
}
