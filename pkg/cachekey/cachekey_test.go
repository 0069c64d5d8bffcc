package cachekey

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func baseRequest() *ChatRequest {
	return &ChatRequest{
		Protocol: "openai.chat",
		Model:    "auto",
		Messages: []Message{
			{Role: "system", Content: "You are terse."},
			{Role: "user", Content: "Hi"},
			{Role: "assistant", Content: "Hello."},
			{Role: "user", Content: "What is   the capital\nof France?"},
		},
		Tools:          []json.RawMessage{json.RawMessage(`{"type":"function","function":{"name":"geo","parameters":{"type":"object"}}}`)},
		ResponseFormat: json.RawMessage(`{"type":"json_object"}`),
		Params:         map[string]json.RawMessage{"temperature": json.RawMessage(`0.2`), "max_tokens": json.RawMessage(`100`)},
	}
}

func mustKeys(t *testing.T, r *ChatRequest) Keys {
	t.Helper()
	k, err := ComputeKeys(r)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestFingerprints(t *testing.T) {
	base := mustKeys(t, baseRequest())
	tests := []struct {
		name        string
		edit        func(r *ChatRequest)
		sameExact   bool
		sameContext bool
	}{
		{name: "model ignored", edit: func(r *ChatRequest) { r.Model = "gpt-x" }, sameExact: true, sameContext: true},
		{name: "stream ignored", edit: func(r *ChatRequest) { r.Stream = true }, sameExact: true, sameContext: true},
		{name: "whitespace collapsed", edit: func(r *ChatRequest) {
			r.Messages[3].Content = "  What is the capital of\tFrance?  "
			r.Messages[0].Content = "You are\n\nterse. "
		}, sameExact: true, sameContext: true},
		{name: "role case", edit: func(r *ChatRequest) { r.Messages[0].Role = "System" }, sameExact: true, sameContext: true},
		{name: "json key order and spacing", edit: func(r *ChatRequest) {
			r.Tools[0] = json.RawMessage(`{ "function": {"parameters": {"type":"object"}, "name":"geo"}, "type": "function" }`)
			r.ResponseFormat = json.RawMessage(` { "type" : "json_object" } `)
		}, sameExact: true, sameContext: true},
		{name: "equal numbers", edit: func(r *ChatRequest) {
			r.Params["max_tokens"] = json.RawMessage(`100.0`)
			r.Params["temperature"] = json.RawMessage(`2e-1`)
		}, sameExact: true, sameContext: true},
		{name: "null param same as absent", edit: func(r *ChatRequest) { r.Params["seed"] = json.RawMessage(`null`) }, sameExact: true, sameContext: true},
		{name: "last user turn", edit: func(r *ChatRequest) { r.Messages[3].Content = "Capital of Spain?" }, sameExact: false, sameContext: true},
		{name: "earlier turn", edit: func(r *ChatRequest) { r.Messages[1].Content = "Hey" }, sameExact: false, sameContext: false},
		{name: "system prompt", edit: func(r *ChatRequest) { r.Messages[0].Content = "You are verbose." }, sameExact: false, sameContext: false},
		{name: "temperature", edit: func(r *ChatRequest) { r.Params["temperature"] = json.RawMessage(`0.3`) }, sameExact: false, sameContext: false},
		{name: "added param", edit: func(r *ChatRequest) { r.Params["seed"] = json.RawMessage(`7`) }, sameExact: false, sameContext: false},
		{name: "tools", edit: func(r *ChatRequest) { r.Tools = nil }, sameExact: false, sameContext: false},
		{name: "tool choice", edit: func(r *ChatRequest) { r.ToolChoice = json.RawMessage(`"required"`) }, sameExact: false, sameContext: false},
		{name: "response format", edit: func(r *ChatRequest) { r.ResponseFormat = nil }, sameExact: false, sameContext: false},
		{name: "protocol", edit: func(r *ChatRequest) { r.Protocol = "anthropic.messages" }, sameExact: false, sameContext: false},
		{name: "tool result after user turn", edit: func(r *ChatRequest) {
			r.Messages = append(r.Messages, Message{Role: "tool", ToolCallID: "c1", Content: "Paris"})
		}, sameExact: false, sameContext: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := baseRequest()
			tc.edit(r)
			k := mustKeys(t, r)
			if (k.Exact == base.Exact) != tc.sameExact {
				t.Errorf("exact equal=%v, want %v", k.Exact == base.Exact, tc.sameExact)
			}
			if (k.Context == base.Context) != tc.sameContext {
				t.Errorf("context equal=%v, want %v", k.Context == base.Context, tc.sameContext)
			}
		})
	}
	if base.LastUser != "What is the capital of France?" || !base.HasUser {
		t.Fatalf("LastUser=%q HasUser=%v", base.LastUser, base.HasUser)
	}
	if base.Exact == base.Context {
		t.Fatal("exact and context fingerprints coincide")
	}
}

func TestFingerprintSeparatesMessageBoundaries(t *testing.T) {
	a := &ChatRequest{Messages: []Message{{Role: "user", Content: "a b"}}}
	b := &ChatRequest{Messages: []Message{{Role: "user", Content: "a"}, {Role: "user", Content: "b"}}}
	ka, kb := mustKeys(t, a), mustKeys(t, b)
	if ka.Exact == kb.Exact {
		t.Fatal("one message and two messages hash alike")
	}
}

func TestKeysWithoutUserTurn(t *testing.T) {
	k := mustKeys(t, &ChatRequest{Messages: []Message{{Role: "system", Content: "x"}}})
	if k.HasUser || k.LastUser != "" || k.Context != k.Exact {
		t.Fatalf("got %+v", k)
	}
}

func TestContentPartsText(t *testing.T) {
	r := &ChatRequest{Messages: []Message{{Role: "user", Parts: []json.RawMessage{
		json.RawMessage(`{"type":"text","text":"describe"}`),
		json.RawMessage(`{"type":"image_url","image_url":{"url":"data:x"}}`),
		json.RawMessage(`{"type":"text","text":" this  image"}`),
	}}}}
	k := mustKeys(t, r)
	if k.LastUser != "describe this image" {
		t.Fatalf("LastUser=%q", k.LastUser)
	}
	r2 := &ChatRequest{Messages: []Message{{Role: "user", Parts: []json.RawMessage{
		json.RawMessage(`{"type":"text","text":"describe"}`),
		json.RawMessage(`{"type":"image_url","image_url":{"url":"data:y"}}`),
		json.RawMessage(`{"type":"text","text":" this  image"}`),
	}}}}
	if mustKeys(t, r2).Exact == k.Exact {
		t.Fatal("different images hash alike")
	}
}

func TestFingerprintRejectsBadJSON(t *testing.T) {
	tests := []struct {
		name string
		edit func(r *ChatRequest)
		want string
	}{
		{name: "tool", edit: func(r *ChatRequest) { r.Tools[0] = json.RawMessage(`{"type":`) }, want: "tools[0]"},
		{name: "param", edit: func(r *ChatRequest) { r.Params["stop"] = json.RawMessage(`[1,`) }, want: `param "stop"`},
		{name: "trailing", edit: func(r *ChatRequest) { r.ResponseFormat = json.RawMessage(`{} {}`) }, want: "response_format"},
		{name: "tool call", edit: func(r *ChatRequest) { r.Messages[2].ToolCalls = []json.RawMessage{json.RawMessage(`x`)} }, want: "messages[2].tool_calls[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := baseRequest()
			tc.edit(r)
			_, err := ComputeKeys(r)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err=%v, want mention of %s", err, tc.want)
			}
		})
	}
}

// TestFingerprintGolden pins the canonical form: a change here invalidates
// every stored entry, so it must be deliberate (regenerate with
// SEMROUTER_UPDATE_GOLDEN=1).
func TestFingerprintGolden(t *testing.T) {
	k := mustKeys(t, baseRequest())
	got := "exact " + k.Exact.String() + "\ncontext " + k.Context.String() + "\n"
	path := filepath.Join("testdata", "fingerprint.golden")
	if os.Getenv("SEMROUTER_UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("fingerprints changed:\n%s\nwant:\n%s", got, want)
	}
	f, err := ParseFingerprint(k.Exact.String())
	if err != nil || f != k.Exact {
		t.Fatalf("ParseFingerprint round trip: %v", err)
	}
	if _, err := ParseFingerprint("abc"); err == nil {
		t.Fatal("ParseFingerprint accepted a short digest")
	}
}

func BenchmarkComputeKeys(b *testing.B) {
	r := baseRequest()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ComputeKeys(r); err != nil {
			b.Fatal(err)
		}
	}
}
