package sse

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

const stream = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n" +
	": keep-alive comment\n\n" +
	"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\r\n\r\n" +
	"event: message\ndata: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo \\\"wörld\\\"\"}}]}\n\n" +
	"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get\",\"arguments\":\"{\\\"a\\\":\"}}]}}]}\n\n" +
	"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"1}\"}}]}}]}\n\n" +
	"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n" +
	"data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":5,\"total_tokens\":16}}\n\n" +
	"data: [DONE]\n\n"

func check(t *testing.T, r *Reassembler) {
	t.Helper()
	if !r.Complete() || r.Content() != `Hello "wörld"` || r.FinishReason != "tool_calls" || r.Role != "assistant" {
		t.Fatalf("reassembled %+v content=%q", r, r.Content())
	}
	if r.Usage != (Usage{PromptTokens: 11, CompletionTokens: 5, TotalTokens: 16}) || r.ID != "c1" || r.Model != "m" || r.Created != 7 {
		t.Fatalf("meta %+v", r)
	}
	tc := r.ToolCalls()
	if len(tc) != 1 || tc[0].ID != "call_1" || tc[0].Name != "get" || string(tc[0].Arguments) != `{"a":1}` {
		t.Fatalf("tool calls %+v", tc)
	}
}

func TestReassembleEverySplit(t *testing.T) {
	for cut := 0; cut <= len(stream); cut++ {
		r := New(0)
		first := r.Write([]byte(stream[:cut]))
		first2 := r.Write([]byte(stream[cut:]))
		if first && first2 {
			t.Fatalf("cut %d: first token reported twice", cut)
		}
		if !first && !first2 {
			t.Fatalf("cut %d: first token never reported", cut)
		}
		check(t, r)
	}
}

func TestReassembleByteByByte(t *testing.T) {
	r := New(0)
	for i := 0; i < len(stream); i++ {
		r.Write([]byte{stream[i]})
	}
	check(t, r)
}

func TestIncompleteStates(t *testing.T) {
	cases := []struct {
		name string
		in   string
		max  int
	}{
		{"no done", strings.TrimSuffix(stream, "data: [DONE]\n\n"), 0},
		{"malformed event", "data: {not json\n\n" + stream, 0},
		{"second choice", "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"x\"}}]}\n\n" + stream, 0},
		{"overflow", stream, 64},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := New(tc.max)
			r.Write([]byte(tc.in))
			r.Close()
			if r.Complete() {
				t.Fatalf("stream %q reported complete", tc.name)
			}
		})
	}
}

func TestCloseFlushesTrailingEvent(t *testing.T) {
	r := New(0)
	r.Write([]byte("data: [DONE]"))
	if r.Done {
		t.Fatal("done before the event ended")
	}
	r.Close()
	if !r.Done {
		t.Fatal("Close did not dispatch the trailing event")
	}
}

func TestReplayRoundTrip(t *testing.T) {
	r := New(0)
	r.Write([]byte(stream))
	body, err := r.Completion()
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(body, &c); err != nil || c["object"] != "chat.completion" {
		t.Fatalf("completion %s: %v", body, err)
	}
	replay, err := Replay(body, true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(replay), "data: [DONE]\n\n") {
		t.Fatalf("replay does not end with [DONE]: %s", replay)
	}
	r2 := New(0)
	r2.Write(replay)
	check(t, r2)
}

func TestReplayRejectsGarbage(t *testing.T) {
	if _, err := Replay([]byte("{"), false); err == nil {
		t.Fatal("want error")
	}
}

func FuzzReassembler(f *testing.F) {
	f.Add([]byte(stream), 7)
	f.Add([]byte("data: [DONE]\r\n\r\n"), 1)
	f.Add([]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":3}]}}]}\n\n"), 3)
	f.Fuzz(func(t *testing.T, in []byte, cut int) {
		r := New(1 << 16)
		if cut < 0 {
			cut = -cut
		}
		cut %= len(in) + 1
		r.Write(in[:cut])
		r.Write(in[cut:])
		r.Close()
		if len(r.line)+len(r.data)+len(r.content)+len(r.reasoning) > 3<<16 {
			t.Fatalf("buffers grew past the cap")
		}
		body, err := r.Completion()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Replay(body, false); err != nil {
			t.Fatalf("replay of own completion: %v", err)
		}
	})
}

func BenchmarkReassemble(b *testing.B) {
	var sb strings.Builder
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&sb, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"token %d \"},\"finish_reason\":null}]}\n\n", i)
	}
	sb.WriteString("data: [DONE]\n\n")
	in := []byte(sb.String())
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		r := New(0)
		for p := in; len(p) > 0; {
			n := min(len(p), 512) // network-sized chunks
			r.Write(p[:n])
			p = p[n:]
		}
		if !r.Complete() {
			b.Fatal("incomplete")
		}
	}
}
