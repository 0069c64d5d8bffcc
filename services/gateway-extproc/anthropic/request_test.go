package anthropic

import (
	"errors"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
)

func TestConvertRequest(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int64
		want map[string]string // gjson path → raw JSON value
	}{
		{name: "system, turns and the default max_tokens",
			in: `{"model":"claude","messages":[{"role":"system","content":"Be brief."},{"role":"developer","content":[{"type":"text","text":"No lists."}]},` +
				`{"role":"user","content":"hi"},{"role":"assistant","content":"hello"},{"role":"user","content":"again"}]}`,
			want: map[string]string{"model": `"claude"`, "max_tokens": `4096`, "system": `"Be brief.\n\nNo lists."`,
				"messages.#": `3`, "messages.0.role": `"user"`, "messages.0.content.0": `{"type":"text","text":"hi"}`,
				"messages.1.role": `"assistant"`, "messages.2.content.0.text": `"again"`, "stream": ``}},
		{name: "max_completion_tokens wins; sampling and stop", max: 100,
			in:   `{"model":"m","max_tokens":5,"max_completion_tokens":7,"temperature":0.2,"top_p":0.9,"stop":"END","user":"u1","messages":[{"role":"user","content":"x"}]}`,
			want: map[string]string{"max_tokens": `7`, "temperature": `0.2`, "top_p": `0.9`, "stop_sequences": `["END"]`, "metadata.user_id": `"u1"`}},
		{name: "configured default and stop list", max: 100,
			in:   `{"model":"m","stop":["a","b"],"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]}`,
			want: map[string]string{"max_tokens": `100`, "stop_sequences": `["a","b"]`, "stream": `true`}},
		{name: "tools, tool choice and tool results",
			in: `{"model":"m","tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],` +
				`"tool_choice":{"type":"function","function":{"name":"get_weather"}},"parallel_tool_calls":false,"messages":[` +
				`{"role":"user","content":"weather?"},` +
				`{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},` +
				`{"role":"tool","tool_call_id":"call_1","content":"sunny"},{"role":"user","content":"thanks"}]}`,
			want: map[string]string{"tools.0.name": `"get_weather"`, "tools.0.input_schema.properties.city.type": `"string"`,
				"tool_choice":          `{"type":"tool","name":"get_weather","disable_parallel_tool_use":true}`,
				"messages.1.content.0": `{"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Paris"}}`,
				"messages.2.role":      `"user"`, "messages.2.content.0": `{"type":"tool_result","tool_use_id":"call_1","content":[{"type":"text","text":"sunny"}]}`,
				"messages.2.content.1": `{"type":"text","text":"thanks"}`, "messages.#": `3`}},
		{name: "required and none tool choice",
			in:   `{"model":"m","tool_choice":"required","tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"x"}]}`,
			want: map[string]string{"tool_choice": `{"type":"any"}`, "tools.0.input_schema": `{"type":"object","properties":{}}`}},
		{name: "image parts",
			in: `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"what is it"},` +
				`{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},{"type":"image_url","image_url":{"url":"https://example.com/a.jpg"}}]}]}`,
			want: map[string]string{"messages.0.content.1": `{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}`,
				"messages.0.content.2": `{"type":"image","source":{"type":"url","url":"https://example.com/a.jpg"}}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, err := ConvertRequest([]byte(tc.in), tc.max)
			if err != nil {
				t.Fatal(err)
			}
			for path, want := range tc.want {
				if got := gjson.GetBytes(x.Body, path).Raw; got != want {
					t.Errorf("%s = %s, want %s\nbody %s", path, got, want, x.Body)
				}
			}
		})
	}
}

func TestConvertRequestStreamFlags(t *testing.T) {
	x, err := ConvertRequest([]byte(`{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !x.Stream || !x.IncludeUsage || x.Model != "m" {
		t.Errorf("exchange %+v", x)
	}
}

func TestConvertRequestErrors(t *testing.T) {
	tests := []struct {
		name, in, param string
	}{
		{"non-object tool arguments", `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"[1]"}}]}]}`,
			"messages[0].tool_calls[0].function.arguments"},
		{"image in a system message", `{"model":"m","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}]}`,
			"messages[0].content[0]"},
		{"unsupported image type", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/bmp;base64,AA=="}}]}]}`,
			"messages[0].content[0].image_url.url"},
		{"not base64", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,AA"}}]}]}`,
			"messages[0].content[0].image_url.url"},
		{"unknown role", `{"model":"m","messages":[{"role":"robot","content":"x"}]}`, "messages[0].role"},
		{"bad stop", `{"model":"m","stop":5,"messages":[]}`, "stop"},
		{"bad tool choice", `{"model":"m","tool_choice":"sometimes","messages":[]}`, "tool_choice"},
		{"non-function tool", `{"model":"m","tools":[{"type":"web_search"}],"messages":[]}`, "tools[0].type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ConvertRequest([]byte(tc.in), 0)
			var ae *chatreq.APIError
			if !errors.As(err, &ae) || ae.Status != 400 || ae.Param != tc.param {
				t.Fatalf("err = %#v, want a 400 on %s", err, tc.param)
			}
		})
	}
}

func BenchmarkConvertRequest(b *testing.B) {
	body := []byte(`{"model":"m","max_tokens":256,"stream":true,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Explain the difference between TCP and UDP in two sentences."}]}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ConvertRequest(body, 0); err != nil {
			b.Fatal(err)
		}
	}
}
