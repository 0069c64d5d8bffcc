package heuristic

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

// JailbreakScorer is a model that rates how likely text is a jailbreak or
// prompt-injection attempt, in [0, 1]. It is owned here (the consumer) and
// implemented by the model-backed classifier when one is configured.
type JailbreakScorer interface {
	JailbreakScore(ctx context.Context, text string) (float64, error)
}

// JailbreakRule mirrors routing.signals.jailbreak[].
//
// Methods:
//   - "contrastive": the pattern score only;
//   - "hybrid": the higher of the pattern score and the model score (the
//     pattern score alone when no JailbreakScorer is configured);
//   - "classifier" / "model" / "": the model score only (the family reports
//     ErrNoJailbreakScorer when none is configured).
//
// The pattern score compares normalised text (lowercased, leetspeak and
// look-alike characters folded, punctuation dropped) with JailbreakPatterns
// and BenignPatterns by fuzzy phrase similarity over runs of words:
// score = max(0, best jailbreak similarity − ½·best benign similarity), so
// a prompt that merely discusses a policy ("explain the policy on …") is
// not flagged for quoting an attack phrase.
//
// The rule matches when the score ≥ Threshold (default 0.5). With
// IncludeHistory every earlier user turn is scored too and the highest
// score counts.
type JailbreakRule struct {
	Name              string
	Method            string
	Threshold         float64
	IncludeHistory    bool
	JailbreakPatterns []string
	BenignPatterns    []string
}

type jbMethod uint8

const (
	jbModel jbMethod = iota
	jbContrastive
	jbHybrid
)

type phrase struct {
	runes  []rune
	nwords int
	// anchors are the first three runes of the phrase's longer words; only
	// runs of text words around a word with such a prefix are compared.
	anchors []string
}

type jailbreakRule struct {
	name      string
	method    jbMethod
	threshold float64
	history   bool
	attack    []phrase
	benign    []phrase
}

type jailbreakFamily struct {
	rules  []jailbreakRule
	scorer JailbreakScorer
}

func compileJailbreak(rules []JailbreakRule, scorer JailbreakScorer, errs *errorList) *jailbreakFamily {
	f := &jailbreakFamily{scorer: scorer}
	names := make([]string, len(rules))
	for i, r := range rules {
		names[i] = r.Name
		p := fmt.Sprintf("jailbreak[%d]", i)
		jr := jailbreakRule{name: r.Name, threshold: r.Threshold, history: r.IncludeHistory}
		if jr.threshold == 0 {
			jr.threshold = 0.5
		}
		if r.Threshold < 0 || r.Threshold > 1 {
			errs.add(p+".threshold", r.Name, fmt.Errorf("must be within [0, 1], got %v", r.Threshold))
		}
		switch strings.ToLower(strings.TrimSpace(r.Method)) {
		case "", "classifier", "model":
			jr.method = jbModel
		case "contrastive":
			jr.method = jbContrastive
		case "hybrid":
			jr.method = jbHybrid
		default:
			errs.add(p+".method", r.Name, fmt.Errorf("unknown method %q (want classifier, contrastive or hybrid)", r.Method))
		}
		if jr.method != jbModel && len(r.JailbreakPatterns) == 0 {
			errs.add(p+".jailbreak_patterns", r.Name, fmt.Errorf("method %s needs jailbreak_patterns", r.Method))
		}
		for j, s := range r.JailbreakPatterns {
			ph, ok := newPhrase(s)
			if !ok {
				errs.add(fmt.Sprintf("%s.jailbreak_patterns[%d]", p, j), r.Name, fmt.Errorf("pattern has no words"))
				continue
			}
			jr.attack = append(jr.attack, ph)
		}
		for j, s := range r.BenignPatterns {
			ph, ok := newPhrase(s)
			if !ok {
				errs.add(fmt.Sprintf("%s.benign_patterns[%d]", p, j), r.Name, fmt.Errorf("pattern has no words"))
				continue
			}
			jr.benign = append(jr.benign, ph)
		}
		f.rules = append(f.rules, jr)
	}
	checkNames(errs, "jailbreak", names)
	return f
}

func newPhrase(s string) (phrase, bool) {
	norm := normalizeAdversarial(s, nil)
	ws := appendWords(nil, norm)
	if len(ws) == 0 {
		return phrase{}, false
	}
	ph, n := normalizePhrase(norm)
	out := phrase{runes: []rune(ph), nwords: n}
	for _, w := range ws {
		word := norm[w.start:w.end]
		if utf8.RuneCountInString(word) < 4 && len(ws) > 1 {
			continue // short words ("the", "mode") anchor too much text
		}
		out.anchors = append(out.anchors, runePrefix(word, 3))
	}
	if len(out.anchors) == 0 {
		out.anchors = append(out.anchors, runePrefix(norm[ws[0].start:ws[0].end], 3))
	}
	return out, true
}

func runePrefix(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// normalizeAdversarial lowercases s and folds the usual obfuscations:
// zero-width and format characters are dropped; leetspeak digits next to a
// letter ("1gn0re") and symbols between letters ("p@ss") become the letters
// they imitate; dots, dashes, underscores and asterisks between single
// letters ("i.g.n.o.r.e") are removed.
func normalizeAdversarial(s string, buf []rune) string {
	buf = buf[:0]
	for _, r := range s {
		if unicode.Is(unicode.Cf, r) {
			continue
		}
		buf = append(buf, unicode.ToLower(r))
	}
	letter := func(i int) bool { return i >= 0 && i < len(buf) && unicode.IsLetter(buf[i]) }
	out := make([]rune, 0, len(buf))
	for i, r := range buf {
		if (r == '.' || r == '-' || r == '_' || r == '*') && letter(i-1) && letter(i+1) && !letter(i-2) && !letter(i+2) {
			continue // "i.g.n.o.r.e"
		}
		if f, ok := leet(r); ok {
			isDigit := r >= '0' && r <= '9'
			if (isDigit && (letter(i-1) || letter(i+1))) || (!isDigit && letter(i-1) && letter(i+1)) {
				r = f
			}
		}
		out = append(out, r)
	}
	return string(out)
}

func leet(r rune) (rune, bool) {
	switch r {
	case '0':
		return 'o', true
	case '1', '!', '|':
		return 'i', true
	case '3':
		return 'e', true
	case '4', '@':
		return 'a', true
	case '5', '$':
		return 's', true
	case '7':
		return 't', true
	}
	return r, false
}

// phraseScore is the best similarity (1 − edit distance / longer length)
// between ph and any run of nwords−1 … nwords+1 consecutive words of text,
// so one inserted or dropped word ("ignore all previous instructions") still
// scores high. Only runs that contain a word starting like one of the
// phrase's longer words are compared; similarities below 0.5 count as 0.
func phraseScore(st *evalState, text string, words []span, ph phrase) float64 {
	best := 0.0
	var next [3]int // first unvisited start per window size
	for a, w := range words {
		if !hasAnchor(text[w.start:w.end], ph.anchors) {
			continue
		}
		for ki, k := 0, max(1, ph.nwords-1); k <= ph.nwords+1; ki, k = ki+1, k+1 {
			for i := max(a-k+1, next[ki], 0); i <= a && i+k <= len(words) && best < 1; i++ {
				st.runesA = appendWindowRunes(st.runesA[:0], text, words, i, k)
				longer := max(len(st.runesA), len(ph.runes))
				limit := longer / 2
				var d int
				d, st.ints = levenshtein(st.runesA, ph.runes, limit, st.ints)
				if d <= limit {
					best = max(best, 1-float64(d)/float64(longer))
				}
			}
			next[ki] = a + 1
		}
	}
	return best
}

func hasAnchor(word string, anchors []string) bool {
	for _, a := range anchors {
		if strings.HasPrefix(word, a) {
			return true
		}
	}
	return false
}

// patternScore is the contrastive pattern score of one text.
func (jr *jailbreakRule) patternScore(st *evalState, text string) float64 {
	norm := normalizeAdversarial(text, st.runesB)
	words := appendWords(st.spans[:0], norm)
	st.spans = words
	attack, benign := 0.0, 0.0
	for _, ph := range jr.attack {
		attack = max(attack, phraseScore(st, norm, words, ph))
	}
	if attack == 0 {
		return 0
	}
	for _, ph := range jr.benign {
		benign = max(benign, phraseScore(st, norm, words, ph))
	}
	return max(0, attack-0.5*benign)
}

func (f *jailbreakFamily) evaluate(st *evalState) signal.Outcome {
	return f.evaluateCtx(context.Background(), st)
}

func (f *jailbreakFamily) evaluateCtx(ctx context.Context, st *evalState) signal.Outcome {
	out := signal.Outcome{Family: signal.Jailbreak}
	for i := range f.rules {
		jr := &f.rules[i]
		score, err := f.score(ctx, st, jr, st.req.CurrentText())
		if err == nil && jr.history {
			st.req.history(func(text string) bool {
				var s float64
				s, err = f.score(ctx, st, jr, text)
				score = max(score, s)
				return err == nil && score < 1
			})
		}
		if err != nil {
			out.Err = fmt.Errorf("jailbreak rule %q: %w", jr.name, err)
			continue
		}
		if score >= jr.threshold && score > 0 {
			out.Matches = append(out.Matches, signal.Match{Family: signal.Jailbreak, Name: jr.name, Confidence: score, Value: score})
			continue
		}
		setScore(&out, jr.name, score)
	}
	return out
}

func (f *jailbreakFamily) score(ctx context.Context, st *evalState, jr *jailbreakRule, text string) (float64, error) {
	if strings.TrimSpace(text) == "" {
		return 0, nil
	}
	switch jr.method {
	case jbContrastive:
		return jr.patternScore(st, text), nil
	case jbHybrid:
		s := jr.patternScore(st, text)
		if f.scorer == nil || s >= 1 {
			return s, nil
		}
		m, err := f.scorer.JailbreakScore(ctx, text)
		if err != nil {
			return s, err
		}
		return max(s, m), nil
	default:
		if f.scorer == nil {
			return 0, ErrNoJailbreakScorer
		}
		return f.scorer.JailbreakScore(ctx, text)
	}
}

// slow: rules that consult the model scorer wait on a model call.
func (f *jailbreakFamily) slow() bool {
	if f.scorer == nil {
		return false
	}
	for _, r := range f.rules {
		if r.method != jbContrastive {
			return true
		}
	}
	return false
}
