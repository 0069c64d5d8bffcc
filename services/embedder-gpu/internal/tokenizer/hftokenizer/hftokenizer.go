// Package hftokenizer reads a HuggingFace tokenizer.json whose model is
// Unigram (SentencePiece-style) or WordLevel, and encodes text into ids the
// way the Rust tokenizers library does for the components it supports:
//
//   - added tokens found verbatim in the raw text are kept whole (earliest,
//     then longest match; lstrip/rstrip trim the whitespace next to them);
//   - normalizers: NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, Replace
//     (string, or regular expression in Go's RE2 syntax), Prepend, Strip,
//     BertNormalizer and Sequence;
//   - pre-tokenizers: Metaspace (replacement, prepend_scheme always / first /
//     never or the older add_prefix_space, split), Whitespace (\w+|[^\w\s]+
//     with Unicode classes), WhitespaceSplit, BertPreTokenizer and Sequence;
//   - models: Unigram (vocab of [piece, score] pairs, Viterbi over pieces,
//     ties to the first segmentation found, unknown characters scored
//     min_score-10 and fused into one unk_id, byte_fallback to <0xXX> pieces
//     when the vocabulary has them) and WordLevel (vocab map + unk_token);
//   - post-processors: TemplateProcessing (single-sequence template),
//     BertProcessing, RobertaProcessing, ByteLevel (ids unchanged) and
//     Sequence, applied when special tokens are asked for;
//   - truncation to max_length (direction Right or Left), counting the
//     special tokens the post-processor adds.
//
// Invalid UTF-8 bytes become U+FFFD, one per byte. Other normalizers
// (Precompiled, ...), pre-tokenizers and models are rejected with
// ErrUnsupported, naming their JSON path.
package hftokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrUnsupported is returned for tokenizer.json components this package
// does not implement.
var ErrUnsupported = errors.New("unsupported tokenizer configuration")

// Model types.
const (
	ModelUnigram   = "Unigram"
	ModelWordLevel = "WordLevel"
)

// Tokenizer encodes text into ids. It is safe for concurrent use.
type Tokenizer struct {
	modelType string
	added     []addedToken // longest content first
	norm      normalizer   // nil: none
	pre       preTokenizer // nil: the whole segment is one word
	model     model
	head      []int32 // special ids before the sequence
	tail      []int32 // special ids after it
	maxLength int     // 0: no truncation
	truncLeft bool
}

type addedToken struct {
	content        string
	id             int32
	lstrip, rstrip bool
}

type fileJSON struct {
	Truncation *struct {
		MaxLength int    `json:"max_length"`
		Direction string `json:"direction"`
	} `json:"truncation"`
	AddedTokens []struct {
		ID      int32  `json:"id"`
		Content string `json:"content"`
		LStrip  bool   `json:"lstrip"`
		RStrip  bool   `json:"rstrip"`
	} `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Model         json.RawMessage `json:"model"`
}

// problems collects every configuration error with its JSON path.
type problems struct{ errs []error }

func (p *problems) add(path string, err error) {
	p.errs = append(p.errs, fmt.Errorf("%s: %w", path, err))
}

func (p *problems) unsupported(path, what string) {
	p.add(path, fmt.Errorf("%s: %w", what, ErrUnsupported))
}

// isNull reports whether a raw JSON value is absent or null.
func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

// LoadFile reads a tokenizer.json.
func LoadFile(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read tokenizer: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %q: %w", path, err)
	}
	return t, nil
}

// ModelTypeOf returns model.type of tokenizer.json content: Unigram for an
// older file without a type whose vocab is a list, "" when absent.
func ModelTypeOf(data []byte) (string, error) {
	var f struct {
		Model struct {
			Type  string          `json:"type"`
			Vocab json.RawMessage `json:"vocab"`
		} `json:"model"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return "", fmt.Errorf("decode tokenizer.json: %w", err)
	}
	if f.Model.Type == "" && strings.HasPrefix(strings.TrimSpace(string(f.Model.Vocab)), "[") {
		return ModelUnigram, nil
	}
	return f.Model.Type, nil
}

// Parse builds a tokenizer from tokenizer.json content. Every problem found
// is reported, each with its JSON path.
func Parse(data []byte) (*Tokenizer, error) {
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("decode tokenizer.json: %w", err)
	}
	p := &problems{}
	t := &Tokenizer{}
	if isNull(f.Model) {
		p.add("model", errors.New("missing"))
	} else {
		t.modelType, t.model = parseModel(p, f.Model)
	}
	if !isNull(f.Normalizer) {
		t.norm = parseNormalizer(p, "normalizer", f.Normalizer)
	}
	if !isNull(f.PreTokenizer) {
		t.pre = parsePreTokenizer(p, "pre_tokenizer", f.PreTokenizer)
	}
	if !isNull(f.PostProcessor) {
		t.head, t.tail = parsePostProcessor(p, "post_processor", f.PostProcessor)
	}
	if tr := f.Truncation; tr != nil {
		if tr.MaxLength < 0 {
			p.add("truncation.max_length", fmt.Errorf("%d must not be negative", tr.MaxLength))
		}
		t.maxLength = tr.MaxLength
		switch tr.Direction {
		case "", "Right":
		case "Left":
			t.truncLeft = true
		default:
			p.unsupported("truncation.direction", fmt.Sprintf("%q", tr.Direction))
		}
	}
	for i, a := range f.AddedTokens {
		if a.Content == "" {
			p.add(fmt.Sprintf("added_tokens[%d].content", i), errors.New("empty"))
			continue
		}
		t.added = append(t.added, addedToken{content: a.Content, id: a.ID, lstrip: a.LStrip, rstrip: a.RStrip})
	}
	sort.SliceStable(t.added, func(i, j int) bool { return len(t.added[i].content) > len(t.added[j].content) })
	if err := errors.Join(p.errs...); err != nil {
		return nil, err
	}
	return t, nil
}

// ModelType is "Unigram" or "WordLevel".
func (t *Tokenizer) ModelType() string { return t.modelType }

// VocabSize is the number of model entries.
func (t *Tokenizer) VocabSize() int { return t.model.size() }

// MaxLength is the truncation length from tokenizer.json (0: none).
func (t *Tokenizer) MaxLength() int { return t.maxLength }

// Specials returns how many special ids Encode puts before and after the
// text's ids when special tokens are asked for.
func (t *Tokenizer) Specials() (head, tail int) { return len(t.head), len(t.tail) }

// Encode returns the ids of text, with the post-processor's special tokens
// when addSpecial is set, truncated to MaxLength.
func (t *Tokenizer) Encode(text string, addSpecial bool) []int32 {
	if !utf8.ValidString(text) {
		text = replaceInvalid(text)
	}
	var ids []int32
	for i, seg := range t.segments(text) {
		if seg.added != nil {
			ids = append(ids, seg.added.id)
			continue
		}
		ids = t.appendSegment(ids, seg.text, i == 0 && seg.start == 0)
	}
	var head, tail []int32
	if addSpecial {
		head, tail = t.head, t.tail
	}
	if t.maxLength > 0 {
		limit := max(t.maxLength-len(head)-len(tail), 0)
		if len(ids) > limit {
			if t.truncLeft {
				ids = ids[len(ids)-limit:]
			} else {
				ids = ids[:limit]
			}
		}
	}
	if len(head)+len(tail) == 0 {
		return ids
	}
	out := make([]int32, 0, len(head)+len(ids)+len(tail))
	out = append(append(append(out, head...), ids...), tail...)
	return out
}

type segment struct {
	text  string
	start int // byte offset in the text
	added *addedToken
}

// segments splits text around added tokens, trimming whitespace next to
// tokens with lstrip/rstrip; empty text segments are dropped.
func (t *Tokenizer) segments(text string) []segment {
	var segs []segment
	offset := 0
	for text != "" {
		pos, tok := t.nextAdded(text)
		segs = append(segs, segment{text: text[:pos], start: offset})
		if tok == nil {
			break
		}
		segs = append(segs, segment{start: offset + pos, added: tok})
		offset += pos + len(tok.content)
		text = text[pos+len(tok.content):]
	}
	for i := range segs {
		if segs[i].added == nil {
			continue
		}
		if segs[i].added.lstrip && i > 0 && segs[i-1].added == nil {
			segs[i-1].text = strings.TrimRightFunc(segs[i-1].text, unicode.IsSpace)
		}
		if segs[i].added.rstrip && i+1 < len(segs) && segs[i+1].added == nil {
			trimmed := strings.TrimLeftFunc(segs[i+1].text, unicode.IsSpace)
			segs[i+1].start += len(segs[i+1].text) - len(trimmed)
			segs[i+1].text = trimmed
		}
	}
	out := segs[:0]
	for _, s := range segs {
		if s.added != nil || s.text != "" {
			out = append(out, s)
		}
	}
	return out
}

// nextAdded finds the earliest (then longest) added token in text.
func (t *Tokenizer) nextAdded(text string) (int, *addedToken) {
	best, bestPos := -1, len(text)
	for i := range t.added {
		if p := strings.Index(text[:min(len(text), bestPos+len(t.added[i].content))], t.added[i].content); p >= 0 && p < bestPos {
			best, bestPos = i, p
		}
	}
	if best < 0 {
		return len(text), nil
	}
	return bestPos, &t.added[best]
}

func (t *Tokenizer) appendSegment(ids []int32, text string, first bool) []int32 {
	if t.norm != nil {
		text = t.norm.normalize(text)
	}
	if text == "" {
		return ids
	}
	words := []string{text}
	if t.pre != nil {
		words = t.pre.split(nil, text, first)
	}
	for _, w := range words {
		if w != "" {
			ids = t.model.appendIDs(ids, w)
		}
	}
	return ids
}

// replaceInvalid replaces every invalid UTF-8 byte with U+FFFD.
func replaceInvalid(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		b.WriteRune(r) // range yields utf8.RuneError for each invalid byte
	}
	return b.String()
}
