package anthropic

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

var update = flag.Bool("update", false, "rewrite golden files")

func translate(t testing.TB, in string, includeUsage bool) (string, error) {
	t.Helper()
	s := NewStreamReader(io.NopCloser(strings.NewReader(in)), "requested", includeUsage, t0)
	out, err := io.ReadAll(s)
	return string(out), err
}

// TestStreamGolden translates a recorded-shape tool-use stream (CRLF and
// LF variants) and compares it with the golden OpenAI chunk stream.
func TestStreamGolden(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "tool_stream.sse"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name         string
		in           string
		includeUsage bool
		golden       string
	}{
		{"with usage", string(in), true, "tool_stream.usage.golden"},
		{"without usage", string(in), false, "tool_stream.golden"},
		{"crlf", strings.ReplaceAll(string(in), "\n", "\r\n"), false, "tool_stream.golden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := translate(t, tc.in, tc.includeUsage)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Fatalf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestStreamSemantics(t *testing.T) {
	in, _ := os.ReadFile(filepath.Join("testdata", "tool_stream.sse"))
	got, err := translate(t, string(in), true)
	if err != nil {
		t.Fatal(err)
	}
	events := strings.Split(strings.TrimSuffix(got, "\n\n"), "\n\n")
	if events[len(events)-1] != "data: [DONE]" {
		t.Fatalf("last event %q", events[len(events)-1])
	}
	var args, content, finish string
	var usage gjson.Result
	for _, e := range events[:len(events)-1] {
		c := gjson.Parse(strings.TrimPrefix(e, "data: "))
		if c.Get("object").Str != "chat.completion.chunk" || c.Get("id").Str != "chatcmpl-msg_s1" || c.Get("model").Str != "claude-x" {
			t.Fatalf("chunk %s", e)
		}
		content += c.Get("choices.0.delta.content").Str
		args += c.Get("choices.0.delta.tool_calls.0.function.arguments").Str
		if f := c.Get("choices.0.finish_reason").Str; f != "" {
			finish = f
		}
		if u := c.Get("usage"); u.Exists() {
			usage = u
		}
	}
	if content != "Let me check" || args != `{"city": "Paris"}` || finish != "tool_calls" {
		t.Errorf("content %q args %q finish %q", content, args, finish)
	}
	if usage.Get("prompt_tokens").Int() != 25 || usage.Get("completion_tokens").Int() != 42 || usage.Get("total_tokens").Int() != 67 {
		t.Errorf("usage %s", usage.Raw)
	}
}

func TestStreamFailures(t *testing.T) {
	const start = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"x\",\"usage\":{\"input_tokens\":1}}}\n\n"
	tests := []struct {
		name     string
		in       string
		wantErr  error
		wantTail string
	}{
		{"cut before message_stop", start + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n",
			io.ErrUnexpectedEOF, ""},
		{"not json", "data: {nope\n\n", ErrInvalidResponse, ""},
		{"no message_start", "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n", ErrInvalidResponse, ""},
		{"json delta for a text block", start + "data: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\"}}\n\n",
			ErrInvalidResponse, ""},
		{"error event", start + "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
			nil, `data: {"error":{"message":"Overloaded","type":"server_error","param":null,"code":"overloaded_error"}}` + "\n\n"},
		{"stop without trailing blank line", start + "data: {\"type\":\"message_stop\"}", nil, "data: [DONE]\n\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := translate(t, tc.in, false)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || !strings.HasSuffix(got, tc.wantTail) {
				t.Fatalf("err %v, got %q", err, got)
			}
		})
	}
}

// TestStreamSmallReads reads the translation one byte at a time.
func TestStreamSmallReads(t *testing.T) {
	in, _ := os.ReadFile(filepath.Join("testdata", "tool_stream.sse"))
	want, _ := translate(t, string(in), true)
	s := NewStreamReader(io.NopCloser(bytes.NewReader(in)), "requested", true, t0)
	var got bytes.Buffer
	p := make([]byte, 1)
	for {
		n, err := s.Read(p)
		got.Write(p[:n])
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if got.String() != want {
		t.Fatalf("byte-wise read differs:\n%s", got.String())
	}
}

// FuzzStream feeds arbitrary bytes to the stream and response parsers:
// they must not panic, and every chunk they emit must be valid JSON.
func FuzzStream(f *testing.F) {
	in, _ := os.ReadFile(filepath.Join("testdata", "tool_stream.sse"))
	f.Add(in)
	f.Add([]byte("data: {\"type\":\"message_start\"}\n\ndata: {\"type\":\"error\"}\n\n"))
	f.Add([]byte(`{"type":"message","content":[{"type":"tool_use","input":{}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := NewStreamReader(io.NopCloser(bytes.NewReader(data)), "m", true, t0)
		out, _ := io.ReadAll(s)
		for _, e := range strings.Split(string(out), "\n\n") {
			if e == "" || e == "data: [DONE]" {
				continue
			}
			if !strings.HasPrefix(e, "data: ") || !gjson.Valid(strings.TrimPrefix(e, "data: ")) {
				t.Fatalf("invalid event %q", e)
			}
		}
		// Pushed in two pieces, the translation is the same as read.
		p := NewStream("m", true, t0)
		half := len(data) / 2
		_ = p.Write(data[:half])
		pushed := append([]byte(nil), p.Take()...)
		_ = p.Write(data[half:])
		pushed = append(pushed, p.Take()...)
		_ = p.Finish()
		pushed = append(pushed, p.Take()...)
		if string(pushed) != string(out) {
			t.Fatalf("push translation differs:\n%s\nvs\n%s", pushed, out)
		}
		if b, err := ConvertResponse(data, "m", t0); err == nil && !gjson.ValidBytes(b) {
			t.Fatalf("invalid completion %s", b)
		}
		_, body := ConvertError(500, data)
		if !gjson.ValidBytes(body) {
			t.Fatalf("invalid error body %s", body)
		}
	})
}

func BenchmarkStream(b *testing.B) {
	in, _ := os.ReadFile(filepath.Join("testdata", "tool_stream.sse"))
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		s := NewStreamReader(io.NopCloser(bytes.NewReader(in)), "m", true, t0)
		if _, err := io.Copy(io.Discard, s); err != nil {
			b.Fatal(err)
		}
	}
}

// TestStreamPushChunks feeds the stream in pieces of every size, as
// ext_proc body chunks arrive, and compares with the reader's output.
func TestStreamPushChunks(t *testing.T) {
	in, _ := os.ReadFile(filepath.Join("testdata", "tool_stream.sse"))
	want, _ := translate(t, string(in), true)
	for _, size := range []int{1, 7, 64, 333, len(in)} {
		s := NewStream("requested", true, t0)
		var got bytes.Buffer
		for off := 0; off < len(in); off += size {
			if err := s.Write(in[off:min(off+size, len(in))]); err != nil {
				t.Fatalf("size %d: %v", size, err)
			}
			got.Write(s.Take())
		}
		if err := s.Finish(); err != nil {
			t.Fatalf("size %d: finish: %v", size, err)
		}
		got.Write(s.Take())
		if got.String() != want || !s.Done() {
			t.Fatalf("size %d: got\n%s", size, got.String())
		}
	}
}
