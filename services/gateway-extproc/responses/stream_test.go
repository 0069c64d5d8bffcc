package responses

import (
	"strings"
	"testing"
)

// TestStreamEndings: how a chat stream ends decides the terminal event.
func TestStreamEndings(t *testing.T) {
	const text = `data: {"model":"m","choices":[{"index":0,"delta":{"content":"partial"},"finish_reason":null}]}` + "\n\n"
	cases := []struct {
		name   string
		in     string
		cut    bool
		last   string
		status string
		has    []string
	}{
		{"cut before a finish", text, true, "response.failed", StatusFailed, []string{"response.output_item.done"}},
		{"error event", text + `data: {"error":{"message":"upstream stream ended unexpectedly","type":"server_error","code":"upstream_stream_cut"}}` + "\n\n",
			true, "response.failed", StatusFailed, []string{`"type":"error","code":"upstream_stream_cut"`}},
		{"length", text + `data: {"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}` + "\n\ndata: [DONE]\n\n",
			true, "response.incomplete", StatusIncomplete, []string{`"reason":"max_output_tokens"`}},
		{"crlf events", strings.ReplaceAll(text+`data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\n", "\n", "\r\n"),
			true, "response.completed", StatusCompleted, []string{`"text":"partial"`}},
		{"no finish, not cut", text, false, "response.completed", StatusCompleted, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := NewStreamer(NewResponse(&Request{Model: "auto", Stream: true}, "resp_1", 1), counterIDs())
			out := string(st.Start()) + string(st.Write([]byte(tc.in))) + string(st.Close(tc.cut))
			events := strings.Split(strings.TrimSpace(out), "\n\n")
			lastEv := events[len(events)-1]
			if !strings.HasPrefix(lastEv, "event: "+tc.last+"\n") || st.Response().Status != tc.status {
				t.Fatalf("last event %q status %s", lastEv, st.Response().Status)
			}
			for _, h := range tc.has {
				if !strings.Contains(out, h) {
					t.Fatalf("no %s in\n%s", h, out)
				}
			}
			if more := st.Close(true); more != nil {
				t.Fatalf("second close wrote %s", more)
			}
		})
	}
}

// TestStreamCommentsAndChoices: comment events pass in their place
// (before the terminal event), and only choice 0 of a multi-choice
// stream makes the Response's text.
func TestStreamCommentsAndChoices(t *testing.T) {
	cases := []struct {
		name, in, text string
		comments       []string
	}{
		{"cost and verdict comments", `data: {"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}` + "\n\n" +
			": x-vsr-hallucination detected=false spans=0 unverified=false\n\n: x-vsr-cost 0.1 USD\r\n\r\ndata: [DONE]\n\n",
			"hi", []string{": x-vsr-hallucination detected=false spans=0 unverified=false\n\n", ": x-vsr-cost 0.1 USD\n\n"}},
		{"other choices left out", `data: {"choices":[{"index":1,"delta":{"content":"B"},"finish_reason":null}]}` + "\n\n" +
			`data: {"choices":[{"index":0,"delta":{"content":"A"},"finish_reason":null}]}` + "\n\n" +
			`data: {"choices":[{"index":1,"delta":{},"finish_reason":"length"},{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n",
			"A", nil},
		{"choices without index", `data: {"choices":[{"delta":{"content":"plain"},"finish_reason":"stop"}]}` + "\n\n", "plain", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := NewStreamer(NewResponse(&Request{Model: "auto", Stream: true}, "resp_1", 1), counterIDs())
			out := string(st.Start()) + string(st.Write([]byte(tc.in))) + string(st.Close(true))
			if st.Response().Status != StatusCompleted || !strings.Contains(out, `"text":"`+tc.text+`"`) || strings.Contains(out, "[DONE]") {
				t.Fatalf("status %s, want text %q:\n%s", st.Response().Status, tc.text, out)
			}
			done := strings.Index(out, "event: response.completed")
			for _, c := range tc.comments {
				if i := strings.Index(out, c); i < 0 || i > done || strings.Count(out, c) != 1 {
					t.Fatalf("comment %q not once before response.completed:\n%s", c, out)
				}
			}
		})
	}
}
