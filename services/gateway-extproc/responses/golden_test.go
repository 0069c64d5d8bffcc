package responses

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// counterIDs numbers ids per prefix (msg_1, fc_1, …) so goldens are stable.
func counterIDs() IDFunc {
	n := map[string]int{}
	return func(prefix string) string {
		n[prefix]++
		return prefix + "_" + strconv.Itoa(n[prefix])
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkGolden compares got with testdata/name (go test -update rewrites).
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("output differs from %s:\n%s", path, got)
	}
}

func indent(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return append(out.Bytes(), '\n')
}

// TestTranslationGolden: a request using every translated field becomes
// the chat request in request_full.chat.golden.json, after a stored
// conversation (previous_response_id) of one exchange.
func TestTranslationGolden(t *testing.T) {
	ids := counterIDs()
	req, aerr := ParseRequest(readTestdata(t, "request_full.json"), ids)
	if aerr != nil {
		t.Fatal(aerr)
	}
	history, aerr := ParseInput(json.RawMessage(`[{"role":"user","content":"Earlier question"},{"type":"message","role":"assistant","id":"msg_prev","status":"completed","content":[{"type":"output_text","text":"Earlier answer","annotations":[]}]}]`), ids)
	if aerr != nil {
		t.Fatal(aerr)
	}
	chat, err := req.ChatBody(history)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "request_full.chat.golden.json", indent(t, chat))
	items, err := json.Marshal(req.Input)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "request_full.items.golden.json", indent(t, items))
}

// TestCompletionGolden: a chat completion with reasoning, text, two tool
// calls and detailed usage becomes the Response in completion_tools.golden.json.
func TestCompletionGolden(t *testing.T) {
	ids := counterIDs()
	req, aerr := ParseRequest(readTestdata(t, "request_full.json"), ids)
	if aerr != nil {
		t.Fatal(aerr)
	}
	resp := NewResponse(req, "resp_1", 1700000000)
	if err := resp.CompleteFromChat(readTestdata(t, "completion_tools.json"), ids); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "completion_tools.golden.json", indent(t, b))
}

// TestStreamGolden: a chat SSE stream (reasoning, text, then a tool call,
// usage),
// fed in 7-byte writes, becomes the Responses events of
// stream_text_tool.golden.sse.
func TestStreamGolden(t *testing.T) {
	ids := counterIDs()
	req, aerr := ParseRequest([]byte(`{"model":"auto","input":"hi","stream":true}`), ids)
	if aerr != nil {
		t.Fatal(aerr)
	}
	st := NewStreamer(NewResponse(req, "resp_1", 1700000000), ids)
	out := st.Start()
	in := readTestdata(t, "stream_text_tool.sse")
	for i := 0; i < len(in); i += 7 {
		out = append(out, st.Write(in[i:min(i+7, len(in))])...)
	}
	out = append(out, st.Close(true)...)
	checkGolden(t, "stream_text_tool.golden.sse", out)
	if r := st.Response(); r.Status != StatusCompleted || len(r.Output) != 3 || r.Output[0].Type != TypeReasoning ||
		*r.Output[0].Content[0].Text != "Thinking." || *r.Output[2].Arguments != `{"q":1}` || r.Usage.TotalTokens != 14 {
		t.Fatalf("final response %+v", r)
	}
}
