package sse

import (
	"bytes"
	"strings"
	"testing"
)

// usageEvent is the usage-only chunk the stream constant carries.
const usageEvent = "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":5,\"total_tokens\":16}}\n\n"

// run feeds parts to a filter and returns what the client gets.
func run(f *Filter, parts ...string) string {
	var out []byte
	for i, p := range parts {
		out = append(out, f.Next([]byte(p), i == len(parts)-1)...)
	}
	return string(out)
}

func TestFilterEverySplit(t *testing.T) {
	withoutUsage := strings.Replace(stream, usageEvent, "", 1)
	cases := []struct {
		name string
		drop bool
		want string
	}{
		{"align only", false, stream},
		{"drop usage", true, withoutUsage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for a := 0; a <= len(stream); a++ {
				for _, b := range []int{a, min(a+1, len(stream)), min(a+37, len(stream)), len(stream)} {
					f := &Filter{DropUsage: tc.drop}
					if got := run(f, stream[:a], stream[a:b], stream[b:]); got != tc.want {
						t.Fatalf("split %d/%d:\n got %q\nwant %q", a, b, got, tc.want)
					}
				}
			}
		})
	}
}

func TestFilterHoldsPartialEvents(t *testing.T) {
	cases := []struct {
		name  string
		drop  bool
		parts []string
		want  []string // what each Next returns
	}{
		{"whole events pass", false, []string{"data: a\n\n", "data: b\n\n"}, []string{"data: a\n\n", "data: b\n\n"}},
		{"partial held", false, []string{"data: a\n\ndata: b", "c\n", "\n"}, []string{"data: a\n\n", "", "data: bc\n\n"}},
		{"crlf boundary split", false, []string{"data: a\r\n", "\r\n"}, []string{"", "data: a\r\n\r\n"}},
		{"usage with choices kept", true, []string{"data: {\"choices\":[{\"index\":0}],\"usage\":{\"total_tokens\":1}}\n\n"},
			[]string{"data: {\"choices\":[{\"index\":0}],\"usage\":{\"total_tokens\":1}}\n\n"}},
		{"null usage kept", true, []string{"data: {\"choices\":[],\"usage\":null}\n\n"}, []string{"data: {\"choices\":[],\"usage\":null}\n\n"}},
		{"usage only dropped", true, []string{"data: x\n\ndata: {\"choices\":[],\"usage\":{\"total_tokens\":1}}\n\ndata: [DONE]\n\n"},
			[]string{"data: x\n\ndata: [DONE]\n\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &Filter{DropUsage: tc.drop}
			for i, p := range tc.parts {
				if got := string(f.Next([]byte(p), false)); got != tc.want[i] {
					t.Fatalf("part %d: got %q want %q", i, got, tc.want[i])
				}
			}
			if f.Pending() {
				t.Fatal("bytes still held after the last event ended")
			}
		})
	}
}

func TestFilterPassesWholeChunksWithoutCopy(t *testing.T) {
	f := &Filter{DropUsage: true}
	// OpenAI sends "usage":null in every chunk once include_usage is set.
	p := []byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}],\"usage\":null}\n\n")
	if got := f.Next(p, false); &got[0] != &p[0] || len(got) != len(p) {
		t.Fatalf("whole chunk copied: %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { f.Next(p, false) }); n != 0 {
		t.Fatalf("%v allocations per whole chunk", n)
	}
}

func TestReplayUsageOnRequest(t *testing.T) {
	body := []byte(`{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
	for _, include := range []bool{false, true} {
		out, err := Replay(body, include)
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(out, []byte(`"choices":[],"usage"`)); got != include {
			t.Fatalf("includeUsage=%v: usage chunk present=%v in %s", include, got, out)
		}
		r := New(0)
		r.Write(out)
		if !r.Complete() || r.Content() != "hi" {
			t.Fatalf("replay %s", out)
		}
	}
}

func BenchmarkFilter(b *testing.B) {
	var chunks [][]byte
	for _, c := range strings.SplitAfter(stream, "\n\n") {
		chunks = append(chunks, []byte(c))
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	f := &Filter{DropUsage: true}
	for b.Loop() {
		for i, c := range chunks {
			f.Next(c, i == len(chunks)-1)
		}
	}
}

// FuzzFilter: without dropping, the client gets the stream unchanged
// however it is split; with dropping, what it gets does not depend on the
// split.
func FuzzFilter(f *testing.F) {
	f.Add([]byte(stream), 7, 90)
	f.Add([]byte("data: a\r\n\r\ndata: {\"choices\":[],\"usage\":{}}\r\n\r\n"), 10, 11)
	f.Fuzz(func(t *testing.T, in []byte, a, b int) {
		a, b = abs(a)%(len(in)+1), abs(b)%(len(in)+1)
		a, b = min(a, b), max(a, b)
		s := string(in)
		if got := run(&Filter{}, s[:a], s[a:b], s[b:]); got != s {
			t.Fatalf("align only changed the stream: %q", got)
		}
		whole := run(&Filter{DropUsage: true}, s)
		if got := run(&Filter{DropUsage: true}, s[:a], s[a:b], s[b:]); got != whole {
			t.Fatalf("split %d/%d: %q, whole: %q", a, b, got, whole)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
