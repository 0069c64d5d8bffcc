package responses

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestParseRequestErrors: every refused request names the field.
func TestParseRequestErrors(t *testing.T) {
	cases := []struct{ name, body, param, code string }{
		{"two values", `{"model":"m","input":"x"} {}`, "", "invalid_json"},
		{"model a number", `{"model":5,"input":"x"}`, "model", "invalid_type"},
		{"empty model", `{"model":" ","input":"x"}`, "model", "missing_required_parameter"},
		{"empty previous id", `{"model":"m","input":"x","previous_response_id":""}`, "previous_response_id", "invalid_value"},
		{"conversation", `{"model":"m","input":"x","conversation":"conv_1"}`, "conversation", "unsupported_parameter"},
		{"prompt", `{"model":"m","input":"x","prompt":{"id":"p"}}`, "prompt", "unsupported_parameter"},
		{"item without type", `{"model":"m","input":[{"content":"x"}]}`, "input[0].type", "missing_required_parameter"},
		{"item reference", `{"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}`, "input[0].type", "unsupported_item_type"},
		{"message without content", `{"model":"m","input":[{"role":"user"}]}`, "input[0].content", "missing_required_parameter"},
		{"content an object", `{"model":"m","input":[{"role":"user","content":{}}]}`, "input[0].content", "invalid_type"},
		{"text part without text", `{"model":"m","input":[{"role":"user","content":[{"type":"input_text"}]}]}`, "input[0].content[0].text", "missing_required_parameter"},
		{"image without url", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image"}]}]}`, "input[0].content[0].image_url", "missing_required_parameter"},
		{"file part", `{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"f"}]}]}`, "input[0].content[0].type", "unsupported_content_type"},
		{"function_call without call_id", `{"model":"m","input":[{"type":"function_call","name":"f"}]}`, "input[1-1].call_id", "missing_required_parameter"},
		{"output a number", `{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":5}]}`, "input[0].output", "invalid_type"},
		{"output with an image", `{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":[{"type":"input_image","image_url":"u"}]}]}`, "input[0].output[0].type", "unsupported_content_type"},
		{"tool_choice hosted", `{"model":"m","input":"x","tool_choice":{"type":"web_search"}}`, "tool_choice.type", "unsupported_tool_type"},
		{"tool_choice function without name", `{"model":"m","input":"x","tool_choice":{"type":"function"}}`, "tool_choice.name", "missing_required_parameter"},
		{"json_schema without name", `{"model":"m","input":"x","text":{"format":{"type":"json_schema"}}}`, "text.format.name", "missing_required_parameter"},
		{"tools not a list", `{"model":"m","input":"x","tools":{}}`, "tools", "invalid_type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRequest([]byte(tc.body), counterIDs())
			want := strings.ReplaceAll(tc.param, "[1-1]", "[0]")
			if err == nil || err.Status != 400 || err.Param != want || err.Code != tc.code || err.Message == "" {
				t.Fatalf("err = %+v, want param %q code %q", err, want, tc.code)
			}
		})
	}
}

// TestParseRequestNormalizes: string input and easy messages become
// message items with ids and parts; store defaults to true; previous
// responses need no input.
func TestParseRequestNormalizes(t *testing.T) {
	cases := []struct {
		name  string
		body  string
		check func(t *testing.T, r *Request)
	}{
		{"string input", `{"model":"m","input":"hi"}`, func(t *testing.T, r *Request) {
			if len(r.Input) != 1 || r.Input[0].Role != "user" || r.Input[0].ID != "msg_1" || *r.Input[0].Content[0].Text != "hi" || !r.Store {
				t.Fatalf("%+v", r)
			}
		}},
		{"assistant string", `{"model":"m","input":[{"role":"assistant","content":"done"}],"store":false}`, func(t *testing.T, r *Request) {
			if p := r.Input[0].Content[0]; p.Type != PartOutputText || string(p.Annotations) != "[]" || r.Store {
				t.Fatalf("%+v", r.Input[0])
			}
		}},
		{"ids kept, arguments default", `{"model":"m","input":[{"type":"function_call","id":"fc_9","call_id":"c","name":"f"}]}`, func(t *testing.T, r *Request) {
			if it := r.Input[0]; it.ID != "fc_9" || it.Arguments == nil || *it.Arguments != "" {
				t.Fatalf("%+v", it)
			}
		}},
		{"continuation without input", `{"model":"m","previous_response_id":"resp_1"}`, func(t *testing.T, r *Request) {
			if r.PreviousResponseID != "resp_1" || len(r.Input) != 0 {
				t.Fatalf("%+v", r)
			}
		}},
		{"reasoning items dropped", `{"model":"m","input":[{"type":"reasoning","id":"rs"},{"role":"user","content":"q"}]}`, func(t *testing.T, r *Request) {
			if len(r.Input) != 1 || r.Input[0].Role != "user" {
				t.Fatalf("%+v", r.Input)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseRequest([]byte(tc.body), counterIDs())
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, r)
		})
	}
}

// TestCompleteFromChatStatus: finish reasons map to the status; a body
// that is no chat completion is refused.
func TestCompleteFromChatStatus(t *testing.T) {
	cases := []struct{ name, body, status, reason string }{
		{"stop", `{"model":"x","choices":[{"message":{"content":"a"},"finish_reason":"stop"}]}`, StatusCompleted, ""},
		{"length", `{"model":"x","choices":[{"message":{"content":"a"},"finish_reason":"length"}]}`, StatusIncomplete, "max_output_tokens"},
		{"content filter", `{"model":"x","choices":[{"message":{"content":""},"finish_reason":"content_filter"}]}`, StatusIncomplete, "content_filter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := NewResponse(&Request{Model: "auto"}, "resp_1", 1)
			if err := resp.CompleteFromChat([]byte(tc.body), counterIDs()); err != nil {
				t.Fatal(err)
			}
			got := ""
			if resp.IncompleteDetails != nil {
				got = resp.IncompleteDetails.Reason
			}
			if resp.Status != tc.status || got != tc.reason || resp.Model != "x" {
				t.Fatalf("status %s reason %q model %s", resp.Status, got, resp.Model)
			}
		})
	}
	for _, bad := range []string{`not json`, `{"choices":[]}`} {
		if err := NewResponse(&Request{}, "r", 1).CompleteFromChat([]byte(bad), counterIDs()); err == nil {
			t.Fatalf("%s accepted", bad)
		}
	}
}

// TestUpstreamError keeps the chat error envelope or names the status.
func TestUpstreamError(t *testing.T) {
	e := UpstreamError(429, []byte(`{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":"rate_limited"}}`))
	if e.Status != 429 || e.Message != "slow down" || e.Type != "rate_limit_error" || e.Code != "rate_limited" {
		t.Fatalf("%+v", e)
	}
	e = UpstreamError(502, []byte("<html>bad gateway</html>"))
	if e.Status != 502 || e.Type != "server_error" || !strings.Contains(e.Message, "502") {
		t.Fatalf("%+v", e)
	}
	var env struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal(e.Body(), &env); err != nil || env.Error["message"] == nil {
		t.Fatalf("body %s", e.Body())
	}
}
