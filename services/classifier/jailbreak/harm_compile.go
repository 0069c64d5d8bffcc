package jailbreak

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Compiling the lexicon: word lists and rules into a hash table of
// stemmed keys.

const maxHarmPhrase = 5

func compileHarmLexicon() (*harmLexicon, error) {
	sets := harmWordLists()
	if len(sets) >= 128 {
		return nil, fmt.Errorf("harm lexicon: %d word lists, at most 128", len(sets))
	}
	lex := &harmLexicon{terms: map[string]harmTerm{}, fold: newLatinFold()}
	index := map[string]int{}
	var errs []error
	digest := sha256.New()
	for i, s := range sets {
		if _, dup := index[s.name]; dup {
			errs = append(errs, fmt.Errorf("harm lexicon: word list %q defined twice", s.name))
		}
		index[s.name] = i
		fmt.Fprintf(digest, "set %s %d %s\n", s.name, s.kind, s.words)
		switch s.kind {
		case kindRequest:
			lex.request = i
		case kindHow:
			lex.how = i
		case kindImperative:
			lex.imperative = i
		case kindDefence:
			lex.defence = i
		case kindExam:
			lex.exam = i
		case kindIllicit:
			lex.illicit = i
		case kindFiction:
			lex.fiction = i
		case kindAnalysis:
			lex.analysis = i
		case kindOperational:
			lex.operational = i
		case kindUnbound:
			lex.unbound = i
		case kindHarm:
			lex.harmBits.set(i)
		}
		for w := range strings.FieldsSeq(s.words) {
			keys, err := harmKeys(w)
			if err != nil {
				errs = append(errs, fmt.Errorf("harm lexicon %s: %w", s.name, err))
				continue
			}
			for _, k := range keys {
				lex.add(k, i, s.kind == kindBlock)
			}
		}
	}
	lex.frame = len(sets)
	index[harmFrame] = lex.frame
	fmt.Fprintf(digest, "verbs %v\n", harmVerbSets)
	for _, name := range harmVerbSets {
		i, ok := index[name]
		if !ok {
			errs = append(errs, fmt.Errorf("harm verb list %q: unknown word list", name))
			continue
		}
		lex.verbs.set(i)
	}
	lex.evasive.set(lex.illicit)
	for _, name := range []string{"bypass", "evade"} {
		if i, ok := index[name]; ok {
			lex.evasive.set(i)
		}
	}
	for k, w := range []string{"that", "which", "who"} {
		lex.relative[k] = harmHash([]byte(w))
	}
	lex.howWord = harmHash([]byte("how"))
	for k, w := range harmNegators {
		var sc harmScratch
		sc.tokenize(w, lex.fold)
		lex.negators[k] = sc.hash[0]
	}
	for k, w := range []string{"he", "she", "they", "you", "i", "we", "someone", "people"} {
		var sc harmScratch
		sc.tokenize(w, lex.fold) // stemmed like a prompt word
		lex.pronouns[k] = sc.hash[0]
	}
	for _, r := range harmRules {
		fmt.Fprintf(digest, "rule %d %s %s %g %d %v\n", r.cat, r.a, r.b, r.weight, r.window, r.needHow)
		a, okA := index[r.a]
		b, okB := index[r.b]
		if !okA || !okB {
			errs = append(errs, fmt.Errorf("harm rule %s+%s: unknown word list", r.a, r.b))
			continue
		}
		if r.weight <= 0 || r.weight > 1 || r.window < 1 || r.cat == HarmNone || r.cat >= numHarmCategories {
			errs = append(errs, fmt.Errorf("harm rule %s+%s: want weight in (0, 1], window ≥ 1 and a category", r.a, r.b))
		}
		lex.rules = append(lex.rules, compiledRule{cat: r.cat, a: a, b: b, weight: r.weight, window: int32(r.window), needHow: r.needHow,
			content: harmContentRule(r)})
	}
	fmt.Fprintf(digest, "negators %v\n", harmNegators)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	lex.digest = hex.EncodeToString(digest.Sum(nil))[:16]
	lex.buildTable()
	return lex, nil
}

// harmSlot is one hash-table slot: a key's hash (0: empty) and its
// entry in harmLexicon.entries.
type harmSlot struct {
	hash  uint64
	entry uint32
}

// harmHash hashes one stemmed word (FNV-1a, never 0).
func harmHash(w []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range w {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h | 1
}

// harmHashNext extends a phrase's hash by the hash of its next word.
func harmHashNext(h, w uint64) uint64 {
	h ^= w + 0x9e3779b97f4a7c15 + h<<6 + h>>2
	return h | 1
}

// keyHash is the hash of a lexicon key (words joined by ' ').
func keyHash(key string) uint64 {
	var h uint64
	for i, w := range strings.Split(key, " ") {
		if i == 0 {
			h = harmHash([]byte(w))
		} else {
			h = harmHashNext(h, harmHash([]byte(w)))
		}
	}
	return h
}

// buildTable fills the hash table, at most half full. Lookups compare
// 64-bit hashes only: with a few thousand keys a prompt word collides
// with one it does not equal with probability ~1e-16.
func (lex *harmLexicon) buildTable() {
	size := 1
	for size < 2*len(lex.terms) {
		size <<= 1
	}
	lex.table = make([]harmSlot, size)
	lex.entries = make([]harmTerm, 0, len(lex.terms))
	for _, k := range slices.Sorted(maps.Keys(lex.terms)) {
		h := keyHash(k)
		b := harmFilterBit(h)
		lex.filter[b>>6] |= 1 << (b & 63)
		for i := h & uint64(size-1); ; i = (i + 1) & uint64(size-1) {
			if lex.table[i].hash == 0 {
				lex.table[i] = harmSlot{hash: h, entry: uint32(len(lex.entries))}
				lex.entries = append(lex.entries, lex.terms[k])
				break
			}
		}
	}
}

const harmFilterWords = 512 // 32768 bits, 4 KiB

func harmFilterBit(h uint64) uint64 { return (h >> 32) & (harmFilterWords*64 - 1) }

// lookup returns the entry whose key hashes to h, nil if none.
func (lex *harmLexicon) lookup(h uint64) *harmTerm {
	if b := harmFilterBit(h); lex.filter[b>>6]&(1<<(b&63)) == 0 {
		return nil
	}
	m := uint64(len(lex.table) - 1)
	for i := h & m; ; i = (i + 1) & m {
		sl := &lex.table[i]
		if sl.hash == h {
			return &lex.entries[sl.entry]
		}
		if sl.hash == 0 {
			return nil
		}
	}
}

// harmKeys returns the lookup keys of one lexicon entry: its words
// normalised and stemmed like a prompt's, joined by ' '. A single word
// whose stem ends in 'e' also gets the stem without it, so that "make"
// matches "making" (harmStem strips -ing but cannot restore the e); a
// trailing '!' turns that off ("rape!" must not match "rap").
func harmKeys(entry string) ([]string, error) {
	noDrop := strings.HasSuffix(entry, "!")
	entry = strings.TrimSuffix(entry, "!")
	var s harmScratch
	s.tokenize(strings.ReplaceAll(entry, "_", " "), newLatinFold())
	if len(s.toks) == 0 || len(s.toks) > maxHarmPhrase {
		return nil, fmt.Errorf("entry %q: want 1…%d words", entry, maxHarmPhrase)
	}
	var parts []string
	for _, t := range s.toks {
		parts = append(parts, string(s.buf[t.start:t.end]))
	}
	key := strings.Join(parts, " ")
	keys := []string{key}
	if len(parts) == 1 && !noDrop && len(key) >= 4 && key[len(key)-1] == 'e' {
		keys = append(keys, key[:len(key)-1])
	}
	return keys, nil
}

func (lex *harmLexicon) add(key string, set int, block bool) {
	words := uint8(strings.Count(key, " ") + 1)
	t := lex.terms[key]
	t.words = words
	if block {
		t.block = true
	} else {
		t.mask.set(set)
	}
	lex.terms[key] = t
	if words > 1 {
		first := key[:strings.IndexByte(key, ' ')]
		f := lex.terms[first]
		if f.words == 0 {
			f.words = 1
		}
		f.longest = max(f.longest, words)
		lex.terms[first] = f
	}
}
