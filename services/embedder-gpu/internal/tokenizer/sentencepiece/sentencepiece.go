// Package sentencepiece is a SentencePiece unigram tokenizer: Viterbi
// segmentation over piece scores.
//
// It reproduces the tokenizer that ships with the Universal Sentence Encoder
// Lite JavaScript package (@energetic-ai/embeddings), token for token:
//
//   - the text is NFKC-normalised (no lowercasing), every U+0020 becomes the
//     meta symbol "▁" and one "▁" is prepended (an empty text stays empty);
//   - symbols are Unicode code points;
//   - the first ReservedPieces vocabulary entries (unknown, <s>, </s>, ...)
//     never match text;
//   - at a position where no piece matches, the code point becomes the
//     unknown id 0 with score 0, and runs of unknown ids collapse into one;
//   - ties between segmentations go to the one examined last, a lattice
//     position with best score exactly 0 counts as "not reached yet", and the
//     best path is walked back by each piece's length in UTF-16 code units
//     (the unknown piece's own text, "\ufffd" in USE-Lite, for unknown
//     symbols): quirks of the reference implementation, kept so ids match
//     exactly.
package sentencepiece

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Meta is the symbol SentencePiece uses for a space.
const Meta = '▁'

// UnknownID is the id of the unknown piece.
const UnknownID = 0

// DefaultReservedPieces is the number of leading control pieces the USE-Lite
// vocabulary holds (unknown, <s>, </s>, three extra ids).
const DefaultReservedPieces = 6

// ErrEmptyVocabulary is returned when a vocabulary has no pieces.
var ErrEmptyVocabulary = errors.New("empty vocabulary")

// Piece is one vocabulary entry.
type Piece struct {
	Text  string
	Score float64
}

// Tokenizer segments text into vocabulary ids. It is safe for concurrent use.
type Tokenizer struct {
	pieces []Piece
	// back is how far the reference implementation steps back over a piece
	// when it walks the best path: the piece's length in UTF-16 code units.
	back []int
	root *trieNode
	pool sync.Pool
}

type trieNode struct {
	children map[rune]*trieNode
	id       int32 // -1 when no piece ends here
	length   int32 // piece length in code points
	score    float64
}

func newTrieNode() *trieNode {
	return &trieNode{children: map[rune]*trieNode{}, id: -1}
}

// New builds a tokenizer over pieces; the first reserved pieces never match.
func New(pieces []Piece, reserved int) (*Tokenizer, error) {
	if len(pieces) == 0 {
		return nil, ErrEmptyVocabulary
	}
	if reserved < 1 || reserved > len(pieces) {
		return nil, fmt.Errorf("reserved pieces %d out of range [1,%d]", reserved, len(pieces))
	}
	t := &Tokenizer{
		pieces: append([]Piece(nil), pieces...),
		back:   make([]int, len(pieces)),
		root:   newTrieNode(),
	}
	for i, p := range pieces {
		t.back[i] = len(utf16.Encode([]rune(p.Text)))
		if i < reserved || p.Text == "" {
			continue
		}
		node := t.root
		n := int32(0)
		for _, r := range p.Text {
			next, ok := node.children[r]
			if !ok {
				next = newTrieNode()
				node.children[r] = next
			}
			node = next
			n++
		}
		// A later duplicate overwrites an earlier one, as in the reference.
		node.id, node.score, node.length = int32(i), p.Score, n
	}
	t.pool.New = func() any { return &lattice{} }
	return t, nil
}

// LoadTSV reads a vocabulary written as "piece<TAB>score" lines (line N is id N).
func LoadTSV(r io.Reader, reserved int) (*Tokenizer, error) {
	var pieces []Piece
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text, score, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			return nil, fmt.Errorf("vocabulary line %d: missing tab", line)
		}
		s, err := strconv.ParseFloat(score, 64)
		if err != nil {
			return nil, fmt.Errorf("vocabulary line %d: parse score: %w", line, err)
		}
		pieces = append(pieces, Piece{Text: text, Score: s})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read vocabulary: %w", err)
	}
	return New(pieces, reserved)
}

// LoadFile reads a vocabulary file (see LoadTSV).
func LoadFile(path string, reserved int) (*Tokenizer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open vocabulary: %w", err)
	}
	defer f.Close()
	t, err := LoadTSV(f, reserved)
	if err != nil {
		return nil, fmt.Errorf("load vocabulary %q: %w", path, err)
	}
	return t, nil
}

// VocabSize is the number of pieces.
func (t *Tokenizer) VocabSize() int { return len(t.pieces) }

// Piece returns the piece with the given id.
func (t *Tokenizer) Piece(id int) Piece { return t.pieces[id] }

// Normalize applies the text normalisation that precedes segmentation and
// returns the symbols (code points) to segment. Invalid UTF-8 bytes become
// U+FFFD each, as a UTF-8 decoder would hand them to the reference.
func Normalize(dst []rune, text string) []rune {
	if !utf8.ValidString(text) {
		text = replaceInvalid(text)
	}
	text = norm.NFKC.String(text)
	dst = dst[:0]
	if text == "" {
		return dst
	}
	dst = append(dst, Meta)
	for _, r := range text {
		if r == ' ' {
			r = Meta
		}
		dst = append(dst, r)
	}
	return dst
}

// lattice is the per-call scratch space, pooled.
type lattice struct {
	symbols []rune
	best    []float64
	words   []int32
	edges   [][]edge // edges[end] in ascending start order
	ids     []int32
}

type edge struct {
	start int32
	id    int32
	score float64
}

// Encode returns the ids of text.
func (t *Tokenizer) Encode(text string) []int32 {
	return t.AppendEncode(nil, text)
}

// AppendEncode appends the ids of text to dst.
func (t *Tokenizer) AppendEncode(dst []int32, text string) []int32 {
	l := t.pool.Get().(*lattice)
	defer t.pool.Put(l)
	l.symbols = Normalize(l.symbols, text)
	n := len(l.symbols)
	if n == 0 {
		return dst
	}
	l.reset(n)
	for i := 0; i < n; i++ {
		t.prefixMatches(l, i)
	}
	for end := 0; end <= n; end++ {
		for _, e := range l.edges[end] {
			score := e.score + l.best[e.start]
			if l.best[end] == 0 || score >= l.best[end] {
				l.best[end] = score
				l.words[end] = e.id
			}
		}
	}
	// Walk back from the end, then collapse runs of unknown ids.
	l.ids = l.ids[:0]
	for pos := n; pos > 0; pos -= t.back[l.words[pos]] {
		l.ids = append(l.ids, l.words[pos])
	}
	start := len(dst)
	prevUnknown := false
	for _, id := range l.ids {
		if !(prevUnknown && id == UnknownID) {
			dst = append(dst, id)
		}
		prevUnknown = id == UnknownID
	}
	out := dst[start:]
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return dst
}

func (l *lattice) reset(n int) {
	if cap(l.best) < n+1 {
		l.best = make([]float64, n+1)
		l.words = make([]int32, n+1)
	}
	l.best = l.best[:n+1]
	l.words = l.words[:n+1]
	clear(l.best)
	clear(l.words)
	if cap(l.edges) < n+1 {
		l.edges = append(l.edges[:cap(l.edges)], make([][]edge, n+1-cap(l.edges))...)
	}
	l.edges = l.edges[:n+1]
	for i := range l.edges {
		l.edges[i] = l.edges[i][:0]
	}
}

// prefixMatches adds an edge for every piece that starts at symbol i, or a
// one-symbol unknown edge when none does.
func (t *Tokenizer) prefixMatches(l *lattice, i int) {
	found := false
	node := t.root
	for j := i; j < len(l.symbols); j++ {
		next, ok := node.children[l.symbols[j]]
		if !ok {
			break
		}
		node = next
		if node.id >= 0 {
			end := i + int(node.length)
			l.edges[end] = append(l.edges[end], edge{start: int32(i), id: node.id, score: node.score})
			found = true
		}
	}
	if !found {
		l.edges[i+1] = append(l.edges[i+1], edge{start: int32(i), id: UnknownID})
	}
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
