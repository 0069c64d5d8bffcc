package responses

import (
	"testing"
)

// BenchmarkTranslateRequest: parse a Responses request using every
// translated field and render its chat request (the per-request cost
// the Responses API adds in front of the chat path).
func BenchmarkTranslateRequest(b *testing.B) {
	body := readTestdata(b, "request_full.json")
	ids := func(p string) string { return p + "_x" }
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req, aerr := ParseRequest(body, ids)
		if aerr != nil {
			b.Fatal(aerr)
		}
		if _, err := req.ChatBody(nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompleteFromChat: render a Response from a chat completion.
func BenchmarkCompleteFromChat(b *testing.B) {
	body := readTestdata(b, "completion_tools.json")
	req := &Request{Model: "auto", Store: true}
	ids := func(p string) string { return p + "_x" }
	b.ReportAllocs()
	for b.Loop() {
		resp := NewResponse(req, "resp_x", 1)
		if err := resp.CompleteFromChat(body, ids); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStream: translate a chat SSE stream into Responses events.
func BenchmarkStream(b *testing.B) {
	in := readTestdata(b, "stream_text_tool.sse")
	req := &Request{Model: "auto", Store: true, Stream: true}
	ids := func(p string) string { return p + "_x" }
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		st := NewStreamer(NewResponse(req, "resp_x", 1), ids)
		st.Start()
		st.Write(in)
		st.Close(true)
	}
}
