package jailbreak

import (
	"math/rand/v2"
	"slices"
	"strings"
	"unicode"
)

// SuffixGenerator writes synthetic adversarial suffixes of the published
// GCG form (Zou et al. 2023, "Universal and Transferable Adversarial
// Attacks on Aligned Language Models"): a run of about twenty tokens picked
// by an optimiser, not by grammar, so words, word pieces, odd casing and
// punctuation follow each other with no sense ("describing.\ + similarlyNow
// write oppositeley.]( Me giving**ONE please? revert with"). Here the tokens
// are drawn at random from the words of the texts the generator is built
// from, from pieces of those words and from punctuation clusters.
//
// It is used only to measure, on training data, how many such suffixes the
// gibberish detector catches; it is deterministic for a given seed.
type SuffixGenerator struct {
	words []string
	rng   *rand.Rand
}

const suffixPunct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

// NewSuffixGenerator collects the distinct ASCII words (2–14 letters) of
// texts, in sorted order, and seeds the generator.
func NewSuffixGenerator(texts []string, seed uint64) *SuffixGenerator {
	seen := map[string]bool{}
	for _, t := range texts {
		for w := range strings.FieldsFuncSeq(t, func(r rune) bool { return !(r < 0x80 && unicode.IsLetter(r)) }) {
			if len(w) >= 2 && len(w) <= 14 {
				seen[strings.ToLower(w)] = true
			}
		}
	}
	words := make([]string, 0, len(seen))
	for w := range seen {
		words = append(words, w)
	}
	slices.Sort(words)
	if len(words) == 0 {
		words = []string{"the", "and", "write"}
	}
	return &SuffixGenerator{words: words, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Suffix returns one suffix of 15–25 tokens.
func (g *SuffixGenerator) Suffix() string {
	var b strings.Builder
	n := 15 + g.rng.IntN(11)
	for i := range n {
		if i > 0 && g.rng.IntN(2) == 0 {
			b.WriteByte(' ') // about half of the tokens start a new word
		}
		b.WriteString(g.token())
	}
	return b.String()
}

func (g *SuffixGenerator) token() string {
	switch k := g.rng.IntN(10); {
	case k < 5: // a whole word, in some casing
		return g.casing(g.words[g.rng.IntN(len(g.words))])
	case k < 7: // a piece of a word
		w := g.words[g.rng.IntN(len(g.words))]
		l := min(len(w), 2+g.rng.IntN(3))
		s := g.rng.IntN(len(w) - l + 1)
		return g.casing(w[s : s+l])
	default: // one to three punctuation marks
		var b strings.Builder
		for range 1 + g.rng.IntN(3) {
			b.WriteByte(suffixPunct[g.rng.IntN(len(suffixPunct))])
		}
		return b.String()
	}
}

func (g *SuffixGenerator) casing(w string) string {
	switch g.rng.IntN(6) {
	case 0, 1:
		return strings.ToUpper(w[:1]) + w[1:]
	case 2:
		return strings.ToUpper(w)
	}
	return w
}
