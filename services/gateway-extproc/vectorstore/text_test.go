package vectorstore

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func words(n int, prefix string) string {
	ws := make([]string, n)
	for i := range ws {
		ws[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return strings.Join(ws, " ")
}

func TestChunk(t *testing.T) {
	for _, tc := range []struct {
		name  string
		c     Chunker
		text  string
		want  []string
		check func(t *testing.T, got []string)
	}{
		{name: "empty", text: " \n\n ", want: nil},
		{name: "paragraphs packed whole", c: Chunker{MaxTokens: 10, OverlapTokens: -1},
			text: "One two three.\n\nFour five six.\n\nSeven eight nine ten eleven.",
			want: []string{"One two three.\n\nFour five six.", "Seven eight nine ten eleven."}},
		{name: "sentences of a long paragraph with overlap", c: Chunker{MaxTokens: 6, OverlapTokens: 3},
			text: "Alpha beta gamma. Delta epsilon zeta. Eta theta iota.",
			want: []string{"Alpha beta gamma. Delta epsilon zeta.", "Delta epsilon zeta. Eta theta iota."}},
		{name: "a sentence longer than a chunk is cut into windows", c: Chunker{MaxTokens: 4, OverlapTokens: -1},
			text: words(10, "w"),
			want: []string{"w0 w1 w2 w3", "w4 w5 w6 w7", "w8 w9"}},
		{name: "abbreviation-like dots stay inside a sentence", c: Chunker{MaxTokens: 3, OverlapTokens: -1},
			text: "Version 1.5 works. see e.g. this",
			check: func(t *testing.T, got []string) {
				if got[0] != "Version 1.5 works." {
					t.Fatalf("%q", got)
				}
			}},
		{name: "defaults bound every chunk", text: strings.Repeat(words(30, "x")+". ", 40),
			check: func(t *testing.T, got []string) {
				if len(got) < 6 {
					t.Fatalf("%d chunks", len(got))
				}
				for _, c := range got {
					if n := len(strings.Fields(c)); n > DefaultChunkTokens {
						t.Fatalf("chunk of %d words", n)
					}
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.c.Chunk(tc.text)
			if tc.check != nil {
				tc.check(t, got)
				return
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestExtractText(t *testing.T) {
	for _, tc := range []struct {
		name, ext, in, want string
		err                 error
	}{
		{"text as is", ".txt", "hello\r\nworld", "hello\nworld", nil},
		{"html tags scripts styles", ".html", "<html><style>a{}</style><p>One &amp; two</p><script>x()</script><p>Three</p></html>", "One & two", nil},
		{"pdf refused", ".pdf", "%PDF", "", ErrUnsupportedFormat},
		{"binary refused", ".txt", "\xff\xfe\x00", "", ErrUnsupportedFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ExtractText(tc.ext, []byte(tc.in))
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if !strings.HasPrefix(got, tc.want) {
				t.Fatalf("got %q, want prefix %q", got, tc.want)
			}
			if tc.ext == ".html" && (strings.Contains(got, "x()") || strings.Contains(got, "a{}") || !strings.Contains(got, "Three")) {
				t.Fatalf("got %q", got)
			}
		})
	}
}

func TestFilterMatch(t *testing.T) {
	attrs := map[string]any{"team": "ops", "year": 2024.0, "public": true}
	for _, tc := range []struct {
		name string
		f    Filter
		want bool
	}{
		{"eq string", Filter{Type: "eq", Key: "team", Value: "ops"}, true},
		{"eq other", Filter{Type: "eq", Key: "team", Value: "dev"}, false},
		{"ne missing key", Filter{Type: "ne", Key: "nope", Value: "x"}, true},
		{"gte number", Filter{Type: "gte", Key: "year", Value: 2024.0}, true},
		{"lt number", Filter{Type: "lt", Key: "year", Value: 2000.0}, false},
		{"gt on a string", Filter{Type: "gt", Key: "team", Value: 1.0}, false},
		{"eq bool", Filter{Type: "eq", Key: "public", Value: true}, true},
		{"in list", Filter{Type: "in", Key: "team", Value: []any{"dev", "ops"}}, true},
		{"nin list", Filter{Type: "nin", Key: "team", Value: []any{"ops"}}, false},
		{"and", Filter{Type: "and", Filters: []Filter{{Type: "eq", Key: "team", Value: "ops"}, {Type: "lt", Key: "year", Value: 2000.0}}}, false},
		{"or", Filter{Type: "or", Filters: []Filter{{Type: "eq", Key: "team", Value: "dev"}, {Type: "eq", Key: "public", Value: true}}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.f.Check(); err != nil {
				t.Fatal(err)
			}
			if got := tc.f.Match(attrs); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	if err := (&Filter{Type: "like", Key: "a"}).Check(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown type: %v", err)
	}
}
