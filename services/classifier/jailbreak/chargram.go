package jailbreak

import (
	"math"
	"unicode"
	"unicode/utf8"
)

// charGrams is the hashed character n-gram featuriser of the head.
//
// The text is lowercased, runs of whitespace become one space, and the text
// is padded with a space on each side. Every window of MinN…MaxN runes is
// hashed (FNV-1a over the runes) into one of 2^Bits
// buckets. A bucket's value is 1 + ln(count) and the vector is L2-normalised,
// so long prompts do not dominate short ones.
type charGrams struct {
	Bits int `json:"bits"`
	MinN int `json:"min_n"`
	MaxN int `json:"max_n"`
}

const maxCharN = 8

func (cg charGrams) buckets() int { return 1 << cg.Bits }

// gramScratch is the per-call scratch of charGrams.
type gramScratch struct {
	acc     []uint16 // counts by bucket; only touched entries are non-zero
	touched []uint32
	runes   []rune
}

func (cg charGrams) newScratch() *gramScratch {
	return &gramScratch{acc: make([]uint16, cg.buckets())}
}

// normalise appends the lowercased, whitespace-collapsed, space-padded runes
// of text to dst.
func normaliseRunes(dst []rune, text string) []rune {
	dst = append(dst, ' ')
	for _, r := range text {
		if r < utf8.RuneSelf { // ASCII fast path
			switch {
			case r == ' ', r >= '\t' && r <= '\r':
				if dst[len(dst)-1] != ' ' {
					dst = append(dst, ' ')
				}
			case r >= 'A' && r <= 'Z':
				dst = append(dst, r+'a'-'A')
			default:
				dst = append(dst, r)
			}
			continue
		}
		if unicode.IsSpace(r) {
			if dst[len(dst)-1] != ' ' {
				dst = append(dst, ' ')
			}
			continue
		}
		dst = append(dst, unicode.ToLower(r))
	}
	if dst[len(dst)-1] != ' ' {
		dst = append(dst, ' ')
	}
	return dst
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// count fills s with the bucket counts of text.
func (cg charGrams) count(s *gramScratch, text string) {
	for _, b := range s.touched {
		s.acc[b] = 0
	}
	s.touched = s.touched[:0]
	s.runes = normaliseRunes(s.runes[:0], text)
	mask := uint64(cg.buckets() - 1)
	rs := s.runes
	for start := range rs {
		// One running hash per start: the n-grams rs[start:start+n] for
		// n = 1…MaxN are prefixes of each other.
		h := uint64(fnvOffset)
		for n := 1; n <= cg.MaxN && start+n <= len(rs); n++ {
			h ^= uint64(rs[start+n-1])
			h *= fnvPrime
			if n < cg.MinN {
				continue
			}
			m := h ^ h>>29 // FNV's low bits mix poorly
			b := uint32(m & mask)
			switch s.acc[b] {
			case 0:
				s.touched = append(s.touched, b)
			case math.MaxUint16:
				continue // saturate
			}
			s.acc[b]++
		}
	}
}

// gramValue is a bucket's feature value before normalisation: 1 + ln(count).
func gramValue(count uint16) float64 {
	if count == 1 {
		return 1 // most buckets of a prompt
	}
	return 1 + math.Log(float64(count))
}

// dotNorm returns, for the counted text, Σ weights[b]·value(b) over the
// touched buckets and the L2 norm of the values, in one pass. The head's
// char n-gram term is dot / norm.
func (s *gramScratch) dotNorm(weights []float32) (dot, norm float64) {
	var sumsq float64
	for _, b := range s.touched {
		v := gramValue(s.acc[b])
		sumsq += v * v
		dot += float64(weights[b]) * v
	}
	return dot, math.Sqrt(sumsq)
}

// vector returns the touched buckets and their L2-normalised values.
func (s *gramScratch) vector() sparseVec {
	var sumsq float64
	for _, b := range s.touched {
		v := gramValue(s.acc[b])
		sumsq += v * v
	}
	norm := math.Sqrt(sumsq)
	sv := sparseVec{idx: make([]uint32, len(s.touched)), val: make([]float32, len(s.touched))}
	for j, b := range s.touched {
		sv.idx[j] = b
		sv.val[j] = float32(gramValue(s.acc[b]) / norm)
	}
	return sv
}
