// Package words is the word-level tokenizer of the static (GloVe + SIF)
// embedding model: NFKC, lowercase, words are runs of letters and digits,
// optionally joined by single internal hyphens or apostrophes ("e-mail",
// "o'neill"). A joined word missing from the vocabulary is looked up part by
// part. Punctuation, symbols and unknown words produce no id.
package words

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Vocabulary maps words to 1-based ids (0 is padding) and SIF weights.
type Vocabulary struct {
	ids     map[string]int32
	weights []float32 // by id; weights[0] = 0
}

// LoadTSV reads "word<TAB>weight" lines; line N (1-based) is id N.
func LoadTSV(r io.Reader) (*Vocabulary, error) {
	v := &Vocabulary{ids: map[string]int32{}, weights: []float32{0}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		word, weight, ok := strings.Cut(sc.Text(), "\t")
		if !ok || word == "" {
			return nil, fmt.Errorf("vocabulary line %d: want word<TAB>weight", line)
		}
		w, err := strconv.ParseFloat(weight, 32)
		if err != nil {
			return nil, fmt.Errorf("vocabulary line %d: parse weight: %w", line, err)
		}
		if _, dup := v.ids[word]; dup {
			return nil, fmt.Errorf("vocabulary line %d: duplicate word %q", line, word)
		}
		v.ids[word] = int32(line)
		v.weights = append(v.weights, float32(w))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read vocabulary: %w", err)
	}
	if line == 0 {
		return nil, fmt.Errorf("read vocabulary: no words")
	}
	return v, nil
}

// LoadFile reads a vocabulary file (see LoadTSV).
func LoadFile(path string) (*Vocabulary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open vocabulary: %w", err)
	}
	defer f.Close()
	v, err := LoadTSV(f)
	if err != nil {
		return nil, fmt.Errorf("load vocabulary %q: %w", path, err)
	}
	return v, nil
}

// Size is the number of words (ids 1..Size).
func (v *Vocabulary) Size() int { return len(v.weights) - 1 }

// Weight is the SIF weight of id.
func (v *Vocabulary) Weight(id int32) float32 { return v.weights[id] }

// ID returns the id of word (0 when unknown).
func (v *Vocabulary) ID(word string) int32 { return v.ids[word] }

// AppendEncode appends the ids and weights of the known words of text.
func (v *Vocabulary) AppendEncode(ids []int32, weights []float32, text string) ([]int32, []float32) {
	text = strings.ToLower(norm.NFKC.String(strings.ToValidUTF8(text, "\uFFFD")))
	rs := []rune(text)
	for i := 0; i < len(rs); {
		if !isWordRune(rs[i]) {
			i++
			continue
		}
		start := i
		for i < len(rs) {
			if isWordRune(rs[i]) {
				i++
				continue
			}
			if isJoiner(rs[i]) && i+1 < len(rs) && isWordRune(rs[i+1]) {
				i++
				continue
			}
			break
		}
		ids, weights = v.appendWord(ids, weights, rs[start:i])
	}
	return ids, weights
}

func (v *Vocabulary) appendWord(ids []int32, weights []float32, word []rune) ([]int32, []float32) {
	for k, r := range word {
		if r == '’' || r == 'ʼ' {
			word[k] = '\''
		}
	}
	if id, ok := v.ids[string(word)]; ok {
		return append(ids, id), append(weights, v.weights[id])
	}
	start := 0
	for k := 0; k <= len(word); k++ {
		if k < len(word) && !isJoiner(word[k]) {
			continue
		}
		if k > start {
			if id, ok := v.ids[string(word[start:k])]; ok {
				ids, weights = append(ids, id), append(weights, v.weights[id])
			}
		}
		start = k + 1
	}
	return ids, weights
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

func isJoiner(r rune) bool {
	return r == '-' || r == '\'' || r == '’' || r == 'ʼ'
}
