package wordpiece_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/services/embedder-gpu/internal/testenv"
	"github.com/semrouter/semrouter/services/embedder-gpu/internal/tokenizer/wordpiece"
)

func tokenizerPath(t testing.TB, name string) string {
	t.Helper()
	dir := testenv.RepoRoot(t)
	return testenv.RequireFile(t, filepath.Join(dir, ".cache", "models", "hf-tokenizers", name), "tokenizer "+name)
}

// TestMatchesReferenceJS compares ids with tokenizers.js (@huggingface/tokenizers)
// on the MiniLM and BERT tokenizer.json files of github.com/daulet/tokenizers.
func TestMatchesReferenceJS(t *testing.T) {
	texts := append(testenv.Sentences(t), testenv.RandomTexts(300, 3)...)
	texts = append(texts, "", "[CLS] [MASK] inside[SEP]text", "a\x00b\u200bc", strings.Repeat("x", 150)+" ok", "un##affable")
	for _, name := range []string{"all-minilm-l6-v2.json", "bert-base-uncased.json"} {
		for _, special := range []bool{false, true} {
			path := tokenizerPath(t, name)
			tok, err := wordpiece.LoadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var want [][]int32
			testenv.RunNode(t, "hf_tokenize.js", map[string]any{"tokenizer": path, "texts": texts, "add_special_tokens": special}, &want)
			bad := 0
			for i, text := range texts {
				got := tok.Encode(text, special)
				if !slices.Equal(got, want[i]) && !(len(got) == 0 && len(want[i]) == 0) {
					bad++
					if bad <= 5 {
						t.Errorf("%s special=%v %q:\n got  %v\n want %v", name, special, text, got, want[i])
					}
				}
			}
			if bad > 0 {
				t.Errorf("%s special=%v: %d of %d texts differ", name, special, bad, len(texts))
			}
		}
	}
}

// TestGoldenIDs holds ids the Rust tokenizers library produces for the
// MiniLM/BERT vocabulary (as published in github.com/daulet/tokenizers tests).
func TestGoldenIDs(t *testing.T) {
	tok, err := wordpiece.LoadFile(tokenizerPath(t, "all-minilm-l6-v2.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		text    string
		special bool
		want    []int32
	}{
		{name: "plain", text: "this short sentence", want: []int32{2023, 2460, 6251}},
		{name: "with specials", text: "brown fox jumps over the lazy dog", special: true, want: []int32{101, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 102}},
		{name: "empty with specials", text: "", special: true, want: []int32{101, 102}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tok.Encode(tc.text, tc.special); !slices.Equal(got, tc.want) {
				t.Fatalf("Encode(%q) = %v, want %v", tc.text, got, tc.want)
			}
		})
	}
	if tok.MaxLength() != 256 {
		t.Fatalf("max length %d, want 256", tok.MaxLength())
	}
	long := tok.Encode(strings.Repeat("word ", 400), true)
	if len(long) != 256 || long[0] != 101 || long[255] != 102 {
		t.Fatalf("truncated encoding: len %d first %d last %d", len(long), long[0], long[len(long)-1])
	}
}

func TestParseRejectsUnsupported(t *testing.T) {
	tests := []struct {
		name, json string
	}{
		{name: "bpe model", json: `{"model":{"type":"BPE","vocab":{"a":0},"unk_token":"a"}}`},
		{name: "empty vocab", json: `{"model":{"type":"WordPiece","vocab":{},"unk_token":"[UNK]"}}`},
		{name: "unknown normalizer", json: `{"normalizer":{"type":"NFC"},"model":{"type":"WordPiece","vocab":{"[UNK]":0},"unk_token":"[UNK]"}}`},
		{name: "unk missing", json: `{"model":{"type":"WordPiece","vocab":{"a":0},"unk_token":"[UNK]"}}`},
		{name: "not json", json: `{`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := wordpiece.Parse([]byte(tc.json)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func FuzzEncode(f *testing.F) {
	tok, err := wordpiece.Parse([]byte(`{"normalizer":{"type":"BertNormalizer","lowercase":true},"pre_tokenizer":{"type":"BertPreTokenizer"},
	"added_tokens":[{"id":1,"content":"[CLS]"}],
	"model":{"type":"WordPiece","unk_token":"[UNK]","max_input_chars_per_word":8,"vocab":{"[UNK]":0,"[CLS]":1,"[SEP]":2,"a":3,"##b":4,"ab":5,",":6}},
	"post_processor":{"type":"BertProcessing"},"truncation":{"max_length":6}}`))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "ab, a", "[CLS]ab", "\xff\xfe", "日本", "aaaaaaaaaaaaaaa"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s, true)
		if len(ids) > 6 || ids[0] != 1 || ids[len(ids)-1] != 2 {
			t.Fatalf("bad encoding %v", ids)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	tok, err := wordpiece.LoadFile(tokenizerPath(b, "all-minilm-l6-v2.json"))
	if err != nil {
		b.Fatal(err)
	}
	text := "Compare PostgreSQL and MySQL for a write-heavy workload with many small transactions."
	b.ReportAllocs()
	for b.Loop() {
		tok.Encode(text, true)
	}
}
