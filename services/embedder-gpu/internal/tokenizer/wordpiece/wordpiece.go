// Package wordpiece reads a HuggingFace tokenizer.json whose model is
// WordPiece (BERT, MiniLM, ...) and encodes text the way the tokenizers
// library does for that configuration:
//
//   - added tokens ("[CLS]", "[MASK]", ...) found verbatim in the raw text
//     are kept whole;
//   - BertNormalizer: drop NUL, U+FFFD and other control characters, turn
//     whitespace into spaces, put spaces around CJK ideographs, strip accents
//     (NFD, drop non-spacing marks) and lowercase, as configured;
//   - BertPreTokenizer: split on whitespace and isolate punctuation;
//   - WordPiece: greedy longest-match-first with the continuing-subword
//     prefix; a word longer than max_input_chars_per_word or with an
//     unmatchable rest becomes the unknown token;
//   - TemplateProcessing / BertProcessing: [CLS] ... [SEP] when special
//     tokens are asked for; truncation to the configured max_length.
package wordpiece

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/semrouter/semrouter/services/embedder-gpu/internal/tokenizer/bertnorm"
)

// ErrUnsupported is returned for tokenizer.json features outside WordPiece/BERT.
var ErrUnsupported = errors.New("unsupported tokenizer configuration")

// Tokenizer encodes text into WordPiece ids. It is safe for concurrent use.
type Tokenizer struct {
	vocab          map[string]int32
	unkID          int32
	prefix         string
	maxWordChars   int
	normalize      bool
	cleanText      bool
	chineseChars   bool
	stripAccents   bool
	lowercase      bool
	added          []addedToken // longest content first
	clsID, sepID   int32
	hasTemplate    bool
	maxLength      int // 0: no truncation
	specialsLength int // tokens the template adds
}

type addedToken struct {
	content string
	id      int32
}

type fileJSON struct {
	Truncation *struct {
		MaxLength int `json:"max_length"`
	} `json:"truncation"`
	AddedTokens []struct {
		ID      int32  `json:"id"`
		Content string `json:"content"`
	} `json:"added_tokens"`
	Normalizer *struct {
		Type               string `json:"type"`
		CleanText          *bool  `json:"clean_text"`
		HandleChineseChars *bool  `json:"handle_chinese_chars"`
		StripAccents       *bool  `json:"strip_accents"`
		Lowercase          *bool  `json:"lowercase"`
	} `json:"normalizer"`
	PreTokenizer *struct {
		Type string `json:"type"`
	} `json:"pre_tokenizer"`
	PostProcessor *struct {
		Type   string `json:"type"`
		Single []struct {
			SpecialToken *struct {
				ID string `json:"id"`
			} `json:"SpecialToken"`
			Sequence *struct {
				ID string `json:"id"`
			} `json:"Sequence"`
		} `json:"single"`
		CLS []any `json:"cls"`
		SEP []any `json:"sep"`
	} `json:"post_processor"`
	Model struct {
		Type                    string           `json:"type"`
		UnkToken                string           `json:"unk_token"`
		ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
		MaxInputCharsPerWord    int              `json:"max_input_chars_per_word"`
		Vocab                   map[string]int32 `json:"vocab"`
	} `json:"model"`
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

// Parse builds a tokenizer from tokenizer.json content.
func Parse(data []byte) (*Tokenizer, error) {
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("decode tokenizer.json: %w", err)
	}
	var errs []error
	if f.Model.Type != "" && f.Model.Type != "WordPiece" {
		errs = append(errs, fmt.Errorf("model.type %q: %w", f.Model.Type, ErrUnsupported))
	}
	if len(f.Model.Vocab) == 0 {
		errs = append(errs, errors.New("model.vocab is empty"))
	}
	t := &Tokenizer{vocab: f.Model.Vocab, prefix: "##", maxWordChars: 100}
	if f.Model.ContinuingSubwordPrefix != nil {
		t.prefix = *f.Model.ContinuingSubwordPrefix
	}
	if f.Model.MaxInputCharsPerWord > 0 {
		t.maxWordChars = f.Model.MaxInputCharsPerWord
	}
	unk, ok := f.Model.Vocab[f.Model.UnkToken]
	if !ok {
		errs = append(errs, fmt.Errorf("model.unk_token %q is not in the vocabulary", f.Model.UnkToken))
	}
	t.unkID = unk
	if n := f.Normalizer; n != nil {
		if n.Type != "BertNormalizer" {
			errs = append(errs, fmt.Errorf("normalizer.type %q: %w", n.Type, ErrUnsupported))
		}
		t.normalize = true
		t.cleanText = boolOr(n.CleanText, true)
		t.chineseChars = boolOr(n.HandleChineseChars, true)
		t.lowercase = boolOr(n.Lowercase, true)
		t.stripAccents = boolOr(n.StripAccents, t.lowercase) // null follows lowercase
	}
	if p := f.PreTokenizer; p != nil && p.Type != "BertPreTokenizer" {
		errs = append(errs, fmt.Errorf("pre_tokenizer.type %q: %w", p.Type, ErrUnsupported))
	}
	if p := f.PostProcessor; p != nil {
		switch p.Type {
		case "TemplateProcessing":
			var specials []string
			seq := 0
			for _, piece := range p.Single {
				switch {
				case piece.SpecialToken != nil:
					specials = append(specials, piece.SpecialToken.ID)
				case piece.Sequence != nil:
					seq++
				}
			}
			if seq != 1 || len(specials) != 2 || len(p.Single) != 3 || p.Single[1].Sequence == nil {
				errs = append(errs, fmt.Errorf("post_processor template: want [special, sequence, special]: %w", ErrUnsupported))
				break
			}
			t.clsID, t.sepID = t.special(specials[0], &errs), t.special(specials[1], &errs)
			t.hasTemplate = true
		case "BertProcessing":
			t.clsID, t.sepID = t.special("[CLS]", &errs), t.special("[SEP]", &errs)
			t.hasTemplate = true
		default:
			errs = append(errs, fmt.Errorf("post_processor.type %q: %w", p.Type, ErrUnsupported))
		}
	}
	if t.hasTemplate {
		t.specialsLength = 2
	}
	if f.Truncation != nil {
		t.maxLength = f.Truncation.MaxLength
	}
	for _, a := range f.AddedTokens {
		if a.Content != "" {
			t.added = append(t.added, addedToken{content: a.Content, id: a.ID})
		}
	}
	sort.SliceStable(t.added, func(i, j int) bool { return len(t.added[i].content) > len(t.added[j].content) })
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Tokenizer) special(token string, errs *[]error) int32 {
	id, ok := t.vocab[token]
	if !ok {
		*errs = append(*errs, fmt.Errorf("special token %q is not in the vocabulary", token))
	}
	return id
}

func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

// MaxLength is the truncation length from tokenizer.json (0: none).
func (t *Tokenizer) MaxLength() int { return t.maxLength }

// Specials returns how many special ids Encode puts before and after the
// text's ids when special tokens are asked for ([CLS] and [SEP]: 1, 1).
func (t *Tokenizer) Specials() (head, tail int) {
	if t.hasTemplate {
		return 1, 1
	}
	return 0, 0
}

// ID returns the id of token and whether it is in the vocabulary.
func (t *Tokenizer) ID(token string) (int32, bool) {
	id, ok := t.vocab[token]
	return id, ok
}

// Encode returns the ids of text, with [CLS]/[SEP] when addSpecial is set
// and the tokenizer has a post-processor, truncated to MaxLength.
func (t *Tokenizer) Encode(text string, addSpecial bool) []int32 {
	var ids []int32
	if addSpecial && t.hasTemplate {
		ids = append(ids, t.clsID)
	}
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	for text != "" {
		pos, tok := t.nextAdded(text)
		ids = t.appendSegment(ids, text[:pos])
		if tok == nil {
			break
		}
		ids = append(ids, tok.id)
		text = text[pos+len(tok.content):]
	}
	if t.maxLength > 0 {
		limit := t.maxLength
		if addSpecial {
			limit -= t.specialsLength
		}
		body := ids
		if addSpecial && t.hasTemplate {
			body = ids[1:]
		}
		if limit >= 0 && len(body) > limit {
			ids = ids[:len(ids)-len(body)+limit]
		}
	}
	if addSpecial && t.hasTemplate {
		ids = append(ids, t.sepID)
	}
	return ids
}

// nextAdded finds the earliest (then longest) added token in text.
func (t *Tokenizer) nextAdded(text string) (int, *addedToken) {
	best, bestPos := -1, len(text)
	for i := range t.added {
		if p := strings.Index(text, t.added[i].content); p >= 0 && p < bestPos {
			best, bestPos = i, p
		}
	}
	if best < 0 {
		return len(text), nil
	}
	return bestPos, &t.added[best]
}

func (t *Tokenizer) appendSegment(ids []int32, text string) []int32 {
	if text == "" {
		return ids
	}
	if t.normalize {
		text = t.normalizeText(text)
	}
	start := -1
	flush := func(end int) {
		if start >= 0 {
			ids = t.appendWord(ids, text[start:end])
			start = -1
		}
	}
	for i, r := range text {
		switch {
		case bertnorm.IsWhitespace(r):
			flush(i)
		case bertnorm.IsPunctuation(r):
			flush(i)
			ids = t.appendWord(ids, text[i:i+utf8.RuneLen(r)])
		default:
			if start < 0 {
				start = i
			}
		}
	}
	flush(len(text))
	return ids
}

func (t *Tokenizer) appendWord(ids []int32, word string) []int32 {
	if utf8.RuneCountInString(word) > t.maxWordChars {
		return append(ids, t.unkID)
	}
	mark := len(ids)
	for start := 0; start < len(word); {
		end := len(word)
		found := false
		for end > start {
			piece := word[start:end]
			if start > 0 {
				piece = t.prefix + piece
			}
			if id, ok := t.vocab[piece]; ok {
				ids = append(ids, id)
				found = true
				break
			}
			_, size := utf8.DecodeLastRuneInString(word[start:end])
			end -= size
		}
		if !found {
			return append(ids[:mark], t.unkID)
		}
		start = end
	}
	return ids
}

func (t *Tokenizer) normalizeText(text string) string {
	return bertnorm.Normalize(text, bertnorm.Options{CleanText: t.cleanText, ChineseChars: t.chineseChars,
		StripAccents: t.stripAccents, Lowercase: t.lowercase})
}
