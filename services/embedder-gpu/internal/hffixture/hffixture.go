// Package hffixture builds HuggingFace tokenizer.json files from the
// vocabularies of the built models, for tests: no real Unigram or WordLevel
// tokenizer.json can be downloaded in this environment, so the tests convert
// the vocabularies they already have and compare the HuggingFace-style
// tokenizers with the tokenizers those vocabularies come with.
package hffixture

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Special pieces of the USE-Lite SentencePiece vocabulary.
const (
	BOS = "<s>"
	EOS = "</s>"
)

// Special tokens of the WordLevel fixture.
const (
	Unk = "[UNK]"
	CLS = "[CLS]"
	SEP = "[SEP]"
)

type addedToken struct {
	ID         int32  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

type file struct {
	Version       string       `json:"version"`
	Truncation    any          `json:"truncation"`
	Padding       any          `json:"padding"`
	AddedTokens   []addedToken `json:"added_tokens"`
	Normalizer    any          `json:"normalizer"`
	PreTokenizer  any          `json:"pre_tokenizer"`
	PostProcessor any          `json:"post_processor"`
	Decoder       any          `json:"decoder"`
	Model         any          `json:"model"`
}

type obj = map[string]any

// UnigramFromSentencePiece converts a "piece<TAB>score" vocabulary (line N
// is id N; id 0 the unknown piece; ids 1..reserved-1 control pieces such as
// <s> and </s>) into a Unigram tokenizer.json that segments like the
// sentencepiece package: normalizer NFKC then Prepend "▁" (one meta symbol
// before any non-empty text, also before a leading space), pre-tokenizer
// Metaspace with prepend_scheme "never" and split false (every space becomes
// "▁", the text stays one word), the control pieces as special added
// tokens, and the post-processor "<s> $A </s>".
func UnigramFromSentencePiece(r io.Reader, reserved int) ([]byte, error) {
	var vocab [][2]any
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		piece, score, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			return nil, fmt.Errorf("vocabulary line %d: missing tab", len(vocab)+1)
		}
		s, err := strconv.ParseFloat(score, 64)
		if err != nil {
			return nil, fmt.Errorf("vocabulary line %d: parse score: %w", len(vocab)+1, err)
		}
		vocab = append(vocab, [2]any{piece, s})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read vocabulary: %w", err)
	}
	if len(vocab) < reserved || reserved < 3 {
		return nil, fmt.Errorf("vocabulary of %d pieces with %d reserved", len(vocab), reserved)
	}
	f := file{
		Version: "1.0",
		Normalizer: obj{"type": "Sequence", "normalizers": []any{
			obj{"type": "NFKC"}, obj{"type": "Prepend", "prepend": "▁"},
		}},
		PreTokenizer: obj{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "split": false},
		PostProcessor: obj{
			"type": "TemplateProcessing",
			"single": []any{
				obj{"SpecialToken": obj{"id": BOS, "type_id": 0}},
				obj{"Sequence": obj{"id": "A", "type_id": 0}},
				obj{"SpecialToken": obj{"id": EOS, "type_id": 0}},
			},
			"pair": []any{},
			"special_tokens": obj{
				BOS: obj{"id": BOS, "ids": []int{1}, "tokens": []string{BOS}},
				EOS: obj{"id": EOS, "ids": []int{2}, "tokens": []string{EOS}},
			},
		},
		Decoder: obj{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
		Model:   obj{"type": "Unigram", "unk_id": 0, "vocab": vocab, "byte_fallback": false},
	}
	if vocab[1][0] != BOS || vocab[2][0] != EOS {
		return nil, fmt.Errorf("pieces 1 and 2 are %q and %q, want %q and %q", vocab[1][0], vocab[2][0], BOS, EOS)
	}
	for id := 1; id < reserved; id++ {
		f.AddedTokens = append(f.AddedTokens, addedToken{ID: int32(id), Content: vocab[id][0].(string), Special: true})
	}
	return json.MarshalIndent(f, "", " ")
}

// WordLevelFromWords converts a "word<TAB>weight" vocabulary (line N is id
// N) into a WordLevel tokenizer.json: [UNK] is id 0, [CLS] and [SEP] follow
// the words; normalizer NFKC then Lowercase, pre-tokenizer Whitespace,
// post-processor BertProcessing. It also returns the ids of [CLS] and [SEP].
func WordLevelFromWords(r io.Reader) (data []byte, cls, sep int32, err error) {
	vocab := map[string]int32{Unk: 0}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	n := int32(0)
	for sc.Scan() {
		n++
		word, _, ok := strings.Cut(sc.Text(), "\t")
		if !ok || word == "" {
			return nil, 0, 0, fmt.Errorf("vocabulary line %d: want word<TAB>weight", n)
		}
		vocab[word] = n
	}
	if err := sc.Err(); err != nil {
		return nil, 0, 0, fmt.Errorf("read vocabulary: %w", err)
	}
	cls, sep = n+1, n+2
	vocab[CLS], vocab[SEP] = cls, sep
	f := file{
		Version: "1.0",
		AddedTokens: []addedToken{
			{ID: 0, Content: Unk, Special: true}, {ID: cls, Content: CLS, Special: true}, {ID: sep, Content: SEP, Special: true},
		},
		Normalizer:    obj{"type": "Sequence", "normalizers": []any{obj{"type": "NFKC"}, obj{"type": "Lowercase"}}},
		PreTokenizer:  obj{"type": "Whitespace"},
		PostProcessor: obj{"type": "BertProcessing", "sep": []any{SEP, sep}, "cls": []any{CLS, cls}},
		Model:         obj{"type": "WordLevel", "vocab": vocab, "unk_token": Unk},
	}
	data, err = json.MarshalIndent(f, "", " ")
	return data, cls, sep, err
}
