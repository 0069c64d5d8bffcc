package sentencepiece_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/semrouter/semrouter/services/embedder-gpu/internal/testenv"
	"github.com/semrouter/semrouter/services/embedder-gpu/internal/tokenizer/sentencepiece"
)

func loadUSE(t testing.TB) *sentencepiece.Tokenizer {
	t.Helper()
	dir := testenv.ModelDir(t, "use-lite")
	tok, err := sentencepiece.LoadFile(filepath.Join(dir, "vocab.tsv"), sentencepiece.DefaultReservedPieces)
	if err != nil {
		t.Fatalf("load vocabulary: %v", err)
	}
	return tok
}

func TestEncodeMatchesReferenceJS(t *testing.T) {
	tok := loadUSE(t)
	texts := append(testenv.Sentences(t), testenv.RandomTexts(400, 7)...)
	texts = append(texts, "", " ", "▁", "\u200b", "\ufffd", "�x")
	var want [][]int32
	testenv.RunNode(t, "tokenize.js", map[string]any{"texts": texts}, &want)
	if len(want) != len(texts) {
		t.Fatalf("reference returned %d encodings for %d texts", len(want), len(texts))
	}
	mismatches := 0
	for i, text := range texts {
		got := tok.Encode(text)
		if !slices.Equal(got, want[i]) && !(len(got) == 0 && len(want[i]) == 0) {
			mismatches++
			if mismatches <= 10 {
				t.Errorf("text %q:\n got  %v\n want %v", text, got, want[i])
			}
		}
	}
	if mismatches > 0 {
		t.Fatalf("%d of %d texts tokenized differently from the reference", mismatches, len(texts))
	}
}

func TestEncodeCases(t *testing.T) {
	pieces := []sentencepiece.Piece{
		{Text: "\ufffd"}, {Text: "<s>"}, {Text: "</s>"},
		{Text: "▁hello", Score: -1}, {Text: "▁he", Score: -2}, {Text: "llo", Score: -2},
		{Text: "▁", Score: -3}, {Text: "h", Score: -4}, {Text: "e", Score: -4}, {Text: "l", Score: -4}, {Text: "o", Score: -4},
		{Text: "▁world", Score: -1.5},
	}
	tok, err := sentencepiece.New(pieces, 3)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		want []int32
	}{
		{name: "empty", in: "", want: nil},
		{name: "best single piece", in: "hello", want: []int32{3}},
		{name: "two words", in: "hello world", want: []int32{3, 11}},
		{name: "unknown runs collapse", in: "hello ☃☃☃", want: []int32{3, 6, 0}},
		{name: "nfkc fullwidth", in: "ｈｅｌｌｏ", want: []int32{3}},
		{name: "reserved pieces never match", in: "<s>", want: []int32{6, 0}},
		{name: "no lowercasing", in: "HELLO", want: []int32{6, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tok.Encode(tc.in)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Encode(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestNewRejectsBadVocabulary(t *testing.T) {
	if _, err := sentencepiece.New(nil, 1); err == nil {
		t.Fatal("empty vocabulary accepted")
	}
	if _, err := sentencepiece.New([]sentencepiece.Piece{{Text: "a"}}, 2); err == nil {
		t.Fatal("reserved count beyond the vocabulary accepted")
	}
	if _, err := sentencepiece.LoadTSV(strings.NewReader("a\tnot-a-number\n"), 1); err == nil {
		t.Fatal("bad score accepted")
	}
}

func FuzzEncode(f *testing.F) {
	pieces := []sentencepiece.Piece{{Text: "<unk>"}, {Text: "▁a", Score: -1}, {Text: "b", Score: -2}, {Text: "▁", Score: -3}, {Text: "ab", Score: -1.5}, {Text: "é", Score: -2}}
	tok, err := sentencepiece.New(pieces, 1)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "a b", "ab ab", "\xff\xfe", "é\u0301", "🙂 a", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s)
		for i, id := range ids {
			if id < 0 || int(id) >= tok.VocabSize() {
				t.Fatalf("id %d out of range", id)
			}
			if i > 0 && id == sentencepiece.UnknownID && ids[i-1] == sentencepiece.UnknownID {
				t.Fatalf("unknown ids not collapsed: %v", ids)
			}
		}
		if utf8.ValidString(s) && strings.TrimSpace(s) != "" && len(ids) == 0 {
			t.Fatalf("no ids for %q", s)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	tok := loadUSE(b)
	text := "Compare PostgreSQL and MySQL for a write-heavy workload with many small transactions."
	b.ReportAllocs()
	var dst []int32
	for b.Loop() {
		dst = tok.AppendEncode(dst[:0], text)
	}
}

// FuzzEncodeUSE fuzzes the real USE-Lite vocabulary (built by setup).
func FuzzEncodeUSE(f *testing.F) {
	tok := loadUSE(f)
	for _, s := range testenv.Sentences(f)[:10] {
		f.Add(s)
	}
	f.Add("\xff\xfe\x00 ▁▁ \u0301")
	f.Fuzz(func(t *testing.T, s string) {
		for _, id := range tok.Encode(s) {
			if id < 0 || int(id) >= tok.VocabSize() || (id > 0 && id < sentencepiece.DefaultReservedPieces) {
				t.Fatalf("id %d for %q", id, s)
			}
		}
	})
}
