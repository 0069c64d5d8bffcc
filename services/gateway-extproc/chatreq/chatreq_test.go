package chatreq

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

func TestParseView(t *testing.T) {
	body := []byte(`{"model":"auto","stream":true,"stream_options":{"include_usage":true},
	"reasoning_effort":"low","reasoning":{"effort":"high"},
	"tools":[{"type":"function","function":{"name":"f"}}],
	"messages":[{"role":"system","content":"be brief"},
	{"role":"user","content":[{"type":"text","text":"a\"b"},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"c"}]},
	{"role":"assistant","content":null,"tool_calls":[{"id":"1"}]},
	{"role":"user","content":"last one"}]}`)
	r, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if r.Model != "auto" || !r.Stream || !r.IncludeUsage || !r.HasTools || r.ReasoningEffort != "low" || r.NestedEffort != "high" {
		t.Fatalf("view = %+v", r)
	}
	if len(r.Messages) != 4 || r.LastUser != 3 || r.LastUserText() != "last one" {
		t.Fatalf("messages = %+v last=%d", r.Messages, r.LastUser)
	}
	if m := r.Messages[1]; m.Text != "a\"b\nc" || m.Parts != 3 {
		t.Fatalf("parts message = %+v", m)
	}
	if !r.Messages[2].HasToolCalls {
		t.Fatal("tool_calls not seen")
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name  string
		body  string
		param string
		code  string
	}{
		{"empty", ``, "", "invalid_json"},
		{"malformed", `{"model":"auto",`, "", "invalid_json"},
		{"not object", `[1,2]`, "", "invalid_json"},
		{"missing model", `{"messages":[{"role":"user","content":"x"}]}`, "model", "missing_required_parameter"},
		{"model not string", `{"model":3,"messages":[{"role":"user","content":"x"}]}`, "model", "invalid_type"},
		{"missing messages", `{"model":"auto"}`, "messages", "missing_required_parameter"},
		{"messages not array", `{"model":"auto","messages":{}}`, "messages", "invalid_type"},
		{"empty messages", `{"model":"auto","messages":[]}`, "messages", "empty_array"},
		{"message not object", `{"model":"auto","messages":["hi"]}`, "messages.[0]", "invalid_type"},
		{"message without role", `{"model":"auto","messages":[{"content":"hi"}]}`, "messages.[0].role", "missing_required_parameter"},
		{"second message role not string", `{"model":"auto","messages":[{"role":"user","content":"a"},{"role":5,"content":"b"}]}`,
			"messages.[1].role", "missing_required_parameter"},
		{"content number", `{"model":"auto","messages":[{"role":"user","content":42}]}`, "messages.[0].content", "invalid_type"},
		{"content object", `{"model":"auto","messages":[{"role":"user","content":{"text":"x"}}]}`, "messages.[0].content", "invalid_type"},
		{"content bool", `{"model":"auto","messages":[{"role":"system","content":"s"},{"role":"user","content":true}]}`,
			"messages.[1].content", "invalid_type"},
		{"stream string", `{"model":"auto","stream":"yes","messages":[{"role":"user","content":"x"}]}`, "stream", "invalid_type"},
		{"stream number", `{"model":"auto","stream":1,"messages":[{"role":"user","content":"x"}]}`, "stream", "invalid_type"},
		{"stream_options string", `{"model":"auto","stream":true,"stream_options":"usage","messages":[{"role":"user","content":"x"}]}`,
			"stream_options", "invalid_type"},
		{"include_usage string", `{"model":"auto","stream":true,"stream_options":{"include_usage":"true"},"messages":[{"role":"user","content":"x"}]}`,
			"stream_options.include_usage", "invalid_type"},
		{"invalid utf-8 in content", "{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"bad \xff\xfe\"}]}", "", "invalid_encoding"},
		{"invalid utf-8 in role", "{\"model\":\"auto\",\"messages\":[{\"role\":\"us\xc3er\",\"content\":\"x\"}]}", "", "invalid_encoding"},
		{"truncated utf-8 in model", "{\"model\":\"auto\xe2\x82\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "", "invalid_encoding"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.body))
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if ae.Status != http.StatusBadRequest || ae.Param != tc.param || ae.Code != tc.code {
				t.Fatalf("got %+v", ae)
			}
			var env struct {
				Error struct {
					Message string  `json:"message"`
					Type    string  `json:"type"`
					Param   *string `json:"param"`
					Code    *string `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal(ae.Body(), &env); err != nil {
				t.Fatalf("error body %s: %v", ae.Body(), err)
			}
			if env.Error.Message == "" || env.Error.Type != TypeInvalidRequest {
				t.Fatalf("envelope = %s", ae.Body())
			}
		})
	}
}

func TestRewrite(t *testing.T) {
	const base = `{"model":"auto",  "messages":[{"role":"user","content":"hi"}],"x_custom":{"keep":[1, 2]}}`
	const withSys = `{"model":"auto","messages":[{"role":"system","content":"old"},{"role":"user","content":"hi"}]}`
	const stream = `{"model":"auto","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	const params = `{"model":"auto","logprobs":true,"top_logprobs":3,"max_tokens":99999,"max_completion_tokens":10,"n":9,"messages":[{"role":"user","content":"hi"}]}`
	const effort = `{"model":"auto","reasoning_effort":"low","messages":[{"role":"user","content":"hi"}]}`
	cases := []struct {
		name    string
		body    string
		w       Rewrite
		want    string
		changed bool
	}{
		{"nothing", base, Rewrite{}, base, false},
		{"same model", base, Rewrite{Model: "auto"}, base, false},
		{"model only keeps other bytes", base, Rewrite{Model: "qwen3-8b-instruct"},
			`{"model":"qwen3-8b-instruct",  "messages":[{"role":"user","content":"hi"}],"x_custom":{"keep":[1, 2]}}`, true},
		{"chat_template_kwargs on", base, Rewrite{Reasoning: &Reasoning{Type: FamilyChatTemplateKwargs, Parameter: "enable_thinking", On: true}},
			`{"model":"auto",  "messages":[{"role":"user","content":"hi"}],"x_custom":{"keep":[1, 2]},"chat_template_kwargs":{"enable_thinking":true}}`, true},
		{"chat_template_kwargs off", base, Rewrite{Reasoning: &Reasoning{Type: FamilyChatTemplateKwargs, Parameter: "enable_thinking"}},
			`{"model":"auto",  "messages":[{"role":"user","content":"hi"}],"x_custom":{"keep":[1, 2]},"chat_template_kwargs":{"enable_thinking":false}}`, true},
		{"nested effort on", base, Rewrite{Reasoning: &Reasoning{Type: FamilyReasoningEffort, Parameter: "reasoning.effort", On: true, Effort: "high"}},
			`{"model":"auto",  "messages":[{"role":"user","content":"hi"}],"x_custom":{"keep":[1, 2]},"reasoning":{"effort":"high"}}`, true},
		{"top-level effort on replaces", effort, Rewrite{Reasoning: &Reasoning{Type: FamilyTopLevelReasoningEffort, Parameter: "reasoning_effort", On: true, Effort: "medium"}},
			`{"model":"auto","reasoning_effort":"medium","messages":[{"role":"user","content":"hi"}]}`, true},
		{"effort off keeps client value", effort, Rewrite{Reasoning: &Reasoning{Type: FamilyTopLevelReasoningEffort, Parameter: "reasoning_effort", Effort: "high"}},
			effort, false},
		{"include usage when streaming", stream, Rewrite{IncludeUsage: true},
			`{"model":"auto","stream":true,"messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}`, true},
		{"include usage ignored without stream", base, Rewrite{IncludeUsage: true}, base, false},
		{"system prompt inserted when absent", base, Rewrite{SystemPrompt: &SystemPrompt{Mode: "insert", Text: "be \"nice\""}},
			`{"model":"auto",  "messages":[{"role":"system","content":"be \"nice\""},{"role":"user","content":"hi"}],"x_custom":{"keep":[1, 2]}}`, true},
		{"system prompt insert prepends", withSys, Rewrite{SystemPrompt: &SystemPrompt{Mode: "insert", Text: "new"}},
			`{"model":"auto","messages":[{"role":"system","content":"new\n\nold"},{"role":"user","content":"hi"}]}`, true},
		{"system prompt replace", withSys, Rewrite{SystemPrompt: &SystemPrompt{Mode: "replace", Text: "new"}, Model: "m"},
			`{"model":"m","messages":[{"role":"system","content":"new"},{"role":"user","content":"hi"}]}`, true},
		{"request params", params, Rewrite{Params: &Params{Blocked: []string{"logprobs", "top_logprobs", "absent"}, MaxTokensLimit: 8192, MaxN: 4}},
			`{"model":"auto","max_tokens":8192,"max_completion_tokens":10,"n":4,"messages":[{"role":"user","content":"hi"}]}`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			got, changed, err := r.Apply(&tc.w)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want || changed != tc.changed {
				t.Fatalf("got %s (changed=%v)\nwant %s (changed=%v)", got, changed, tc.want, tc.changed)
			}
			if string(r.Raw()) != tc.body {
				t.Fatalf("raw body was mutated: %s", r.Raw())
			}
			if !gjson.ValidBytes(got) {
				t.Fatalf("invalid JSON out: %s", got)
			}
		})
	}
}

func TestEscapePath(t *testing.T) {
	if got := escapePath("a.b*c"); got != `a\.b\*c` {
		t.Fatalf("escapePath = %q", got)
	}
	if got := escapePath("plain"); got != "plain" {
		t.Fatalf("escapePath = %q", got)
	}
}

func FuzzParseRewrite(f *testing.F) {
	f.Add([]byte(`{"model":"auto","messages":[{"role":"user","content":"hi"}]}`))
	f.Add([]byte(`{"model":"auto","stream":true,"messages":[{"role":"system","content":[{"type":"text","text":"x"}]},{"role":"user","content":"q"}],"n":5,"max_tokens":1e9}`))
	f.Add([]byte(`{"model":"a","messages":[{"role":"user","content":"\u00e9\"\\"}],"reasoning":{"effort":"low"}}`))
	f.Add([]byte(`{"messages":[[],{}]}`))
	f.Add([]byte(" {\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]} \n\t"))
	// hostile clients (the API-mode audit): wrong types, invalid UTF-8,
	// escaped controls, tool turns, image parts
	f.Add([]byte(`{"model":"auto","stream":"yes","stream_options":{"include_usage":1},"messages":[{"role":"user","content":42}]}`))
	f.Add([]byte("{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"bad \xff\xfe \xc3\"}]}"))
	f.Add([]byte(`{"model":"auto","messages":[{"role":"user","content":"\u0000\ud800\udfff\u2028"}]}`))
	f.Add([]byte(`{"model":"auto","tools":[{"type":"function","function":{"name":"w"}}],"messages":[{"role":"user","content":"q"},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"w","arguments":"{}"}}]},` +
		`{"role":"tool","tool_call_id":"c","content":"r"}]}`))
	f.Add([]byte(`{"model":"auto","n":3,"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA"}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := Parse(body)
		if err != nil {
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
				t.Fatalf("error %v is not a 400 APIError", err)
			}
			if !gjson.ValidBytes(ae.Body()) || ae.Message == "" || ae.Code == "" {
				t.Fatalf("error envelope %q is not a clear OpenAI error", ae.Body())
			}
			return
		}
		if len(r.Messages) == 0 || r.Model == "" {
			t.Fatalf("accepted body without model/messages: %q", body)
		}
		if !utf8.Valid(body) {
			t.Fatalf("accepted invalid UTF-8: %q", body)
		}
		for i, m := range r.Messages {
			if m.Role == "" || !utf8.ValidString(m.Text) {
				t.Fatalf("messages[%d] = %+v from %q", i, m, body)
			}
		}
		out, _, err := r.Apply(&Rewrite{Model: "m", IncludeUsage: true,
			Reasoning:    &Reasoning{Type: FamilyChatTemplateKwargs, Parameter: "enable_thinking", On: true},
			SystemPrompt: &SystemPrompt{Mode: "insert", Text: "sys"},
			Params:       &Params{Blocked: []string{"logprobs"}, MaxTokensLimit: 10, MaxN: 1}})
		if err != nil {
			return
		}
		if len(out) > 2*len(body)+256 {
			t.Fatalf("rewrite grew body from %d to %d bytes", len(body), len(out))
		}
		if !gjson.ValidBytes(out) {
			t.Fatalf("rewrite produced invalid JSON from %q: %q", body, out)
		}
		r2, err := Parse(out)
		if err != nil {
			t.Fatalf("rewritten body does not parse: %v\n%q", err, out)
		}
		if !r2.IncludeUsage && r.Stream || gjson.GetBytes(out, "chat_template_kwargs.enable_thinking").Type != gjson.True {
			t.Fatalf("appended members lost: %q", out)
		}
		if r2.Model != "m" || r2.Messages[0].Role != "system" {
			t.Fatalf("rewrite lost edits: %q", out)
		}
	})
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("plain")
	f.Add("q\"\\\n\x01\xff é \u2028")
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("invalid JSON %q for %q: %v", out, s, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("round trip %q -> %q", s, back)
		}
	})
}

func TestDuplicateKeyRejected(t *testing.T) {
	_, err := Parse([]byte(`{"model":"auto","messages":[{"role":"user","content":"x"}],"model":"gpt"}`))
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "duplicate_key" || ae.Param != "model" {
		t.Fatalf("err = %v", err)
	}
}

func TestDeleteMemberRuns(t *testing.T) {
	cases := []struct {
		name, body string
		blocked    []string
		want       string
	}{
		{"first", `{"a":1,"model":"x","messages":[{"role":"user","content":"q"}]}`, []string{"a"},
			`{"model":"x","messages":[{"role":"user","content":"q"}]}`},
		{"last two", `{"model":"x","messages":[{"role":"user","content":"q"}], "a":1 , "b":2 }`, []string{"a", "b"},
			`{"model":"x","messages":[{"role":"user","content":"q"}] }`},
		{"middle", `{"model":"x","a":1,"b":[2],"messages":[{"role":"user","content":"q"}]}`, []string{"b", "a"},
			`{"model":"x","messages":[{"role":"user","content":"q"}]}`},
		{"blocking model keeps JSON valid", `{"model":"x","messages":[{"role":"user","content":"q"}]}`, []string{"model", "messages"},
			`{}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := r.Apply(&Rewrite{Params: &Params{Blocked: tc.blocked}, Model: "y",
				SystemPrompt: &SystemPrompt{Text: "s"}})
			if err != nil {
				t.Fatal(err)
			}
			if tc.name != "blocking model keeps JSON valid" && string(got) != strings.Replace(strings.Replace(tc.want, `"x"`, `"y"`, 1), `[{"role":"user"`, `[{"role":"system","content":"s"},{"role":"user"`, 1) {
				t.Fatalf("got %s", got)
			}
			if !gjson.ValidBytes(got) {
				t.Fatalf("invalid %s", got)
			}
		})
	}
}

// TestParseAcceptsOpenAIShapes: the hostile-looking but valid shapes the
// OpenAI API takes are accepted, and every text the stages get is valid
// UTF-8 (escaped control characters and lone surrogates included).
func TestParseAcceptsOpenAIShapes(t *testing.T) {
	cases := []struct {
		name     string
		body     string
		stream   bool
		usage    bool
		lastText string
	}{
		{"stream null", `{"model":"auto","stream":null,"messages":[{"role":"user","content":"x"}]}`, false, false, "x"},
		{"stream_options null", `{"model":"auto","stream":true,"stream_options":null,"messages":[{"role":"user","content":"x"}]}`, true, false, "x"},
		{"include_usage false", `{"model":"auto","stream":true,"stream_options":{"include_usage":false},"messages":[{"role":"user","content":"x"}]}`, true, false, "x"},
		{"include_usage true", `{"model":"auto","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]}`, true, true, "x"},
		{"null content and tool turn", `{"model":"auto","messages":[{"role":"user","content":"weather?"},
			{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"w","arguments":"{}"}}]},
			{"role":"tool","tool_call_id":"c1","content":"{\"t\":20}"}]}`, false, false, "weather?"},
		{"image only", `{"model":"auto","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}`, false, false, ""},
		{"escaped controls and lone surrogate", `{"model":"auto","messages":[{"role":"user","content":"a\u0000b\u0007c\ud800d"}]}`, false, false, "a\x00b\x07c\uFFFDd"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if r.Stream != tc.stream || r.IncludeUsage != tc.usage || r.LastUserText() != tc.lastText {
				t.Fatalf("stream=%v usage=%v last=%q", r.Stream, r.IncludeUsage, r.LastUserText())
			}
			for i, m := range r.Messages {
				if !utf8.ValidString(m.Text) || !utf8.ValidString(m.Role) {
					t.Fatalf("messages[%d] has invalid UTF-8: %+v", i, m)
				}
			}
		})
	}
}

func TestParseInvalidUTF8NamesOffset(t *testing.T) {
	body := []byte("{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"ok \xff\"}]}")
	_, err := Parse(body)
	if err == nil || !strings.Contains(err.Error(), "offset 57") {
		t.Fatalf("err = %v, want the offset of the 0xff byte (57)", err)
	}
}
