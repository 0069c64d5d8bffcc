package hftokenizer_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/semrouter/semrouter/services/embedder-gpu/internal/tokenizer/hftokenizer"
)

func mustParse(t testing.TB, doc string) *hftokenizer.Tokenizer {
	t.Helper()
	tok, err := hftokenizer.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, doc)
	}
	return tok
}

func TestUnigramModel(t *testing.T) {
	vocab := `[["<unk>",0],["a",-1],["b",-1],["ab",-2],["c",-3],["abc",-9],["<0x78>",-5],["<0x79>",-5],["<0xC3>",-5],["<0xA9>",-5]]`
	plain := mustParse(t, `{"model":{"type":"Unigram","unk_id":0,"vocab":`+vocab+`}}`)
	bytes := mustParse(t, `{"model":{"type":"Unigram","unk_id":0,"byte_fallback":true,"vocab":`+vocab+`}}`)
	tests := []struct {
		name string
		tok  *hftokenizer.Tokenizer
		in   string
		want []int32
	}{
		{name: "empty", tok: plain, in: "", want: nil},
		{name: "best total score", tok: plain, in: "abc", want: []int32{3, 4}},
		{name: "tie keeps the first segmentation found", tok: plain, in: "ab", want: []int32{3}},
		{name: "unknown characters fuse into one unk", tok: plain, in: "axyzb", want: []int32{1, 0, 2}},
		{name: "unknown piece text itself", tok: plain, in: "<unk>", want: []int32{0}},
		{name: "byte fallback for a fused run", tok: bytes, in: "axyb", want: []int32{1, 6, 7, 2}},
		{name: "byte fallback for a multi-byte character", tok: bytes, in: "é", want: []int32{8, 9}},
		{name: "byte fallback needs every byte", tok: bytes, in: "axzb", want: []int32{1, 0, 2}},
		{name: "invalid utf-8 becomes U+FFFD per byte", tok: plain, in: "a\xff\xfeb", want: []int32{1, 0, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.tok.Encode(tc.in, true); !slices.Equal(got, tc.want) {
				t.Fatalf("Encode(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

// wordLevelDoc builds a WordLevel tokenizer.json whose vocabulary is
// want (ids 1..n, [UNK] 0) around the given components.
func wordLevelDoc(normalizer, pre string, want []string, extra string) string {
	vocab := map[string]int{"[UNK]": 0}
	for i, w := range want {
		if _, dup := vocab[w]; !dup {
			vocab[w] = i + 1
		}
	}
	v, _ := json.Marshal(vocab)
	return `{"normalizer":` + normalizer + `,"pre_tokenizer":` + pre + extra +
		`,"model":{"type":"WordLevel","unk_token":"[UNK]","vocab":` + string(v) + `}}`
}

// TestComponents runs normalizers and pre-tokenizers through a WordLevel
// model whose vocabulary is exactly the words expected, in order.
func TestComponents(t *testing.T) {
	const ws = `{"type":"WhitespaceSplit"}`
	tests := []struct {
		name, norm, pre, in string
		extra               string
		want                []string
	}{
		{name: "NFKC", norm: `{"type":"NFKC"}`, pre: ws, in: "ｆｉ ① ﬁ", want: []string{"fi", "1", "fi"}},
		{name: "NFC", norm: `{"type":"NFC"}`, pre: ws, in: "e\u0301", want: []string{"é"}},
		{name: "NFD and StripAccents", norm: `{"type":"Sequence","normalizers":[{"type":"NFD"},{"type":"StripAccents"}]}`, pre: ws, in: "café naïve", want: []string{"cafe", "naive"}},
		{name: "NFKD", norm: `{"type":"NFKD"}`, pre: ws, in: "é", want: []string{"e\u0301"}},
		{name: "Lowercase per character", norm: `{"type":"Lowercase"}`, pre: ws, in: "ÀB İ ΣΟΦΟΣ", want: []string{"àb", "i\u0307", "σοφοσ"}},
		{name: "Replace string", norm: `{"type":"Replace","pattern":{"String":" "},"content":"_"}`, pre: ws, in: "a b c", want: []string{"a_b_c"}},
		{name: "Replace regex", norm: `{"type":"Replace","pattern":{"Regex":"[0-9]+"},"content":"#"}`, pre: ws, in: "a1 b22", want: []string{"a#", "b#"}},
		{name: "Strip and Prepend", norm: `{"type":"Sequence","normalizers":[{"type":"Strip","strip_left":true,"strip_right":true},{"type":"Prepend","prepend":"x"}]}`, pre: `null`, in: "  hi  ", want: []string{"xhi"}},
		{name: "BertNormalizer", norm: `{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true}`, pre: ws, in: "Héllo\x00 WORLD\t日本", want: []string{"hello", "world", "日", "本"}},
		{name: "Whitespace", norm: `null`, pre: `{"type":"Whitespace"}`, in: "don't x86_64 naïve!! 1.5", want: []string{"don", "'", "t", "x86_64", "naïve", "!!", "1", ".", "5"}},
		{name: "WhitespaceSplit", norm: `null`, pre: ws, in: "a\tb \u00a0 c!", want: []string{"a", "b", "c!"}},
		{name: "BertPreTokenizer", norm: `null`, pre: `{"type":"BertPreTokenizer"}`, in: "hi, there!! $5", want: []string{"hi", ",", "there", "!", "!", "$", "5"}},
		{name: "Metaspace split", norm: `null`, pre: `{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true}`, in: "hello  world", want: []string{"▁hello", "▁", "▁world"}},
		{name: "Metaspace keeps a leading replacement", norm: `null`, pre: `{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":false}`, in: " a b", want: []string{"▁a▁b"}},
		{name: "Metaspace add_prefix_space false", norm: `null`, pre: `{"type":"Metaspace","replacement":"▁","add_prefix_space":false}`, in: "a b", want: []string{"a", "▁b"}},
		{name: "Metaspace first, after an added token", norm: `null`, pre: `{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":true}`, in: "hi<x>yo",
			extra: `,"added_tokens":[{"id":90,"content":"<x>"}]`, want: []string{"▁hi", "<x>", "yo"}},
		{name: "Metaspace always, after an added token", norm: `null`, pre: `{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true}`, in: "hi<x>yo",
			extra: `,"added_tokens":[{"id":90,"content":"<x>"}]`, want: []string{"▁hi", "<x>", "▁yo"}},
		{name: "added token lstrip and rstrip", norm: `null`, pre: `{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":false}`, in: "a <m> b",
			extra: `,"added_tokens":[{"id":91,"content":"<m>","lstrip":true,"rstrip":true}]`, want: []string{"▁a", "<m>", "▁b"}},
		{name: "Sequence of pre-tokenizers", norm: `null`, pre: `{"type":"Sequence","pretokenizers":[{"type":"WhitespaceSplit"},{"type":"Metaspace","replacement":"▁","split":false}]}`, in: "a b", want: []string{"▁a", "▁b"}},
		{name: "Replace pre-tokenizer", norm: `null`, pre: `{"type":"Sequence","pretokenizers":[{"type":"Replace","pattern":{"String":"-"},"content":" "},{"type":"WhitespaceSplit"}]}`, in: "a-b", want: []string{"a", "b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := mustParse(t, wordLevelDoc(tc.norm, tc.pre, tc.want, tc.extra))
			got := tok.Encode(tc.in, false)
			want := make([]int32, len(tc.want))
			for i, w := range tc.want {
				want[i] = int32(slices.Index(tc.want, w) + 1)
				if w == "<x>" {
					want[i] = 90
				}
				if w == "<m>" {
					want[i] = 91
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("Encode(%q) = %v, want %v (%q)", tc.in, got, want, tc.want)
			}
		})
	}
}

func TestModelTypeOf(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{name: "typed", doc: `{"model":{"type":"WordLevel","vocab":{}}}`, want: "WordLevel"},
		{name: "untyped list vocabulary", doc: `{"model":{"unk_id":0,"vocab": [["a",0]]}}`, want: "Unigram"},
		{name: "untyped map vocabulary", doc: `{"model":{"vocab":{"a":0}}}`, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := hftokenizer.ModelTypeOf([]byte(tc.doc))
			if err != nil || got != tc.want {
				t.Fatalf("ModelTypeOf = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if tok := mustParse(t, `{"model":{"unk_id":0,"vocab":[["<unk>",0],["a",-1]]}}`); tok.ModelType() != hftokenizer.ModelUnigram {
		t.Fatalf("untyped list vocabulary parsed as %q", tok.ModelType())
	}
}

func TestPostProcessorsAndTruncation(t *testing.T) {
	model := `"model":{"type":"WordLevel","unk_token":"u","vocab":{"u":0,"a":1,"b":2,"c":3,"d":4,"e":5,"[CLS]":6,"[SEP]":7,"<s>":8,"</s>":9}},"pre_tokenizer":{"type":"WhitespaceSplit"}`
	tests := []struct {
		name, post, trunc, in string
		special               bool
		want                  []int32
	}{
		{name: "template", post: `{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}}],
			"special_tokens":{"[CLS]":{"id":"[CLS]","ids":[6],"tokens":["[CLS]"]},"<s>":{"id":"<s>","ids":[8],"tokens":["<s>"]},"[SEP]":{"id":"[SEP]","ids":[7],"tokens":["[SEP]"]}}}`,
			in: "a b", special: true, want: []int32{6, 8, 1, 2, 7}},
		{name: "no specials asked", post: `{"type":"BertProcessing","sep":["[SEP]",7],"cls":["[CLS]",6]}`, in: "a b", want: []int32{1, 2}},
		{name: "bert", post: `{"type":"BertProcessing","sep":["[SEP]",7],"cls":["[CLS]",6]}`, in: "a zz", special: true, want: []int32{6, 1, 0, 7}},
		{name: "roberta", post: `{"type":"RobertaProcessing","sep":["</s>",9],"cls":["<s>",8],"trim_offsets":true,"add_prefix_space":false}`, in: "a", special: true, want: []int32{8, 1, 9}},
		{name: "sequence", post: `{"type":"Sequence","processors":[{"type":"ByteLevel"},{"type":"RobertaProcessing","sep":["</s>",9],"cls":["<s>",8]}]}`, in: "b", special: true, want: []int32{8, 2, 9}},
		{name: "truncation counts specials", post: `{"type":"BertProcessing","sep":["[SEP]",7],"cls":["[CLS]",6]}`, trunc: `{"max_length":4}`, in: "a b c d e", special: true, want: []int32{6, 1, 2, 7}},
		{name: "truncation without specials", post: `{"type":"BertProcessing","sep":["[SEP]",7],"cls":["[CLS]",6]}`, trunc: `{"max_length":4}`, in: "a b c d e", want: []int32{1, 2, 3, 4}},
		{name: "left truncation", post: `null`, trunc: `{"max_length":2,"direction":"Left"}`, in: "a b c d e", want: []int32{4, 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			trunc := tc.trunc
			if trunc == "" {
				trunc = "null"
			}
			tok := mustParse(t, `{"post_processor":`+tc.post+`,"truncation":`+trunc+`,`+model+`}`)
			if got := tok.Encode(tc.in, tc.special); !slices.Equal(got, tc.want) {
				t.Fatalf("Encode(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	tests := []struct {
		name        string
		doc         string
		paths       []string
		unsupported bool
	}{
		{name: "unsupported components", doc: `{"normalizer":{"type":"Precompiled"},"pre_tokenizer":{"type":"ByteLevel"},"post_processor":{"type":"Nope"},"model":{"type":"BPE","vocab":{}}}`,
			paths: []string{"normalizer.type", "pre_tokenizer.type", "post_processor.type", "model.type"}, unsupported: true},
		{name: "nested paths", doc: `{"normalizer":{"type":"Sequence","normalizers":[{"type":"NFC"},{"type":"Replace","pattern":{"Regex":"(?<=a)b"},"content":""}]},
			"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Metaspace","prepend_scheme":"sometimes"}]},"model":{"type":"Unigram","unk_id":0,"vocab":[["a",0]]}}`,
			paths: []string{"normalizer.normalizers[1].pattern.Regex", "pre_tokenizer.pretokenizers[0].prepend_scheme"}, unsupported: true},
		{name: "unigram without unk_id", doc: `{"model":{"type":"Unigram","vocab":[["a",0]]}}`, paths: []string{"model.unk_id"}, unsupported: true},
		{name: "unigram unk_id out of range", doc: `{"model":{"type":"Unigram","unk_id":3,"vocab":[["a",0]]}}`, paths: []string{"model.unk_id"}},
		{name: "unigram malformed entries", doc: `{"model":{"type":"Unigram","unk_id":0,"vocab":[["a","x"],["",1]]}}`, paths: []string{"model.vocab[0][1]", "model.vocab[1][0]"}},
		{name: "wordlevel unk missing", doc: `{"model":{"type":"WordLevel","unk_token":"[UNK]","vocab":{"a":0}}}`, paths: []string{"model.unk_token"}},
		{name: "wordlevel empty vocab", doc: `{"model":{"type":"WordLevel","unk_token":"[UNK]","vocab":{}}}`, paths: []string{"model.vocab"}},
		{name: "template without its special ids", doc: `{"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"[CLS]"}},{"Sequence":{"id":"A"}}],"special_tokens":{}},"model":{"type":"WordLevel","unk_token":"a","vocab":{"a":0}}}`,
			paths: []string{"post_processor.single[0]"}},
		{name: "no model", doc: `{}`, paths: []string{"model"}},
		{name: "not json", doc: `{`, paths: []string{"decode tokenizer.json"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := hftokenizer.Parse([]byte(tc.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, p := range tc.paths {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error does not name %s: %v", p, err)
				}
			}
			if tc.unsupported != errors.Is(err, hftokenizer.ErrUnsupported) {
				t.Errorf("errors.Is(ErrUnsupported) = %v: %v", !tc.unsupported, err)
			}
		})
	}
}

func FuzzUnigram(f *testing.F) {
	tok := mustParse(f, `{"normalizer":{"type":"Sequence","normalizers":[{"type":"NFKC"},{"type":"Lowercase"}]},
	"pre_tokenizer":{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true},
	"added_tokens":[{"id":1,"content":"<s>"}],
	"post_processor":{"type":"RobertaProcessing","sep":["</s>",2],"cls":["<s>",1]},"truncation":{"max_length":12},
	"model":{"type":"Unigram","unk_id":0,"byte_fallback":true,"vocab":[["<unk>",0],["<s>",0],["</s>",0],["▁",-2],["▁a",-1],["b",-2],["ab",-1.5],["é",-2],["<0x61>",-6],["<0xC3>",-6],["<0xA9>",-6]]}}`)
	for _, s := range []string{"", "a b", "ab ab", "\xff\xfe", "é\u0301", "🙂 a", "\x00", "<s><s>", "▁▁"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s, true)
		if len(ids) < 2 || len(ids) > 12 || ids[0] != 1 || ids[len(ids)-1] != 2 {
			t.Fatalf("bad frame %v", ids)
		}
		for i, id := range ids {
			if id < 0 || int(id) >= tok.VocabSize() {
				t.Fatalf("id %d out of range", id)
			}
			if i > 0 && id == 0 && ids[i-1] == 0 {
				t.Fatalf("unknown ids not fused: %v", ids)
			}
		}
		if utf8.ValidString(s) && strings.TrimSpace(s) != "" && len(tok.Encode(s, false)) == 0 {
			t.Fatalf("no ids for %q", s)
		}
	})
}

func FuzzWordLevel(f *testing.F) {
	tok := mustParse(f, `{"normalizer":{"type":"Sequence","normalizers":[{"type":"NFD"},{"type":"StripAccents"},{"type":"Lowercase"}]},
	"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Whitespace"},{"type":"BertPreTokenizer"}]},
	"added_tokens":[{"id":3,"content":"[CLS]"}],
	"post_processor":{"type":"BertProcessing","sep":["[SEP]",4],"cls":["[CLS]",3]},"truncation":{"max_length":8},
	"model":{"type":"WordLevel","unk_token":"[UNK]","vocab":{"[UNK]":0,"a":1,"cafe":2,"[CLS]":3,"[SEP]":4,"!":5}}}`)
	for _, s := range []string{"", "a cafe", "CAFÉ!!", "\xff\xfe", "[CLS][CLS]", "x86_64", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s, true)
		if len(ids) < 2 || len(ids) > 8 || ids[0] != 3 || ids[len(ids)-1] != 4 {
			t.Fatalf("bad frame %v", ids)
		}
		for _, id := range ids {
			if id < 0 || id > 5 {
				t.Fatalf("id %d out of range", id)
			}
		}
	})
}
