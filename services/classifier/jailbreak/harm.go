package jailbreak

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

//go:embed weights/harm.json
var shippedHarm []byte

// ShippedHarm returns the JSON of the harmful-request detector's operating
// point, chosen by cmd/train-jailbreak and committed in weights/harm.json.
func ShippedHarm() []byte { return shippedHarm }

// Harm is the harmful-request detector (layer 4): hand-written contrastive
// patterns (harm_lexicon.go) that pair a harmful action with a harmful
// object ("synthesize" … "nerve agent", "write" … "ransomware", "launder"
// … "money") near each other, weighted by how the prompt frames them (a
// request or a procedure: "write", "how to", "step by step") and cancelled
// by benign context next to the pair ("protect against", "detect", "history
// of"), discounted in exam narratives ("the defendant", "which of the
// following") and in descriptive tasks that ask for no operational content
// (a story, a summary, a translation, a passage with questions).
// Its raw score is the best weighted match, in [0, 1].
//
// Only the operating point is data: Threshold, chosen on benign prompts
// only (warden_train's benign side, MMLU-Pro train questions, code
// prompts), see ChooseHarmThreshold.
type Harm struct {
	Version int `json:"version"`
	// Threshold is the raw score at which Probability is 0.5.
	Threshold float64 `json:"threshold"`
	// Slope is the logistic slope of Probability per unit of raw score.
	Slope float64 `json:"slope"`
	// Lexicon is the digest of the compiled lexicon the threshold was
	// chosen for (HarmLexiconDigest); Load refuses another.
	Lexicon  string        `json:"lexicon"`
	Training *HarmTraining `json:"training,omitempty"`

	lex *harmLexicon
}

// HarmTraining documents how the operating point was chosen
// (informational).
type HarmTraining struct {
	Method string `json:"method"`
	// MinThreshold is the design floor of the threshold (HarmMinThreshold).
	MinThreshold float64 `json:"min_threshold"`
	// Budgets and Rates are per benign set: the share of its prompts the
	// detector may flag and the share it flags at Threshold.
	Budgets map[string]float64 `json:"budgets"`
	Rates   map[string]float64 `json:"rates"`
	Sizes   map[string]int     `json:"sizes"`
	// Sources names where the code prompts came from (the Python
	// standard library folder, the Go toolchain).
	Sources []string `json:"sources,omitempty"`
	// UnionBudget and UnionFPR are the out-of-fold benign false-positive
	// rate allowed to, and reached by, the union of all four parts on
	// warden_train.
	UnionBudget float64 `json:"union_budget,omitempty"`
	UnionFPR    float64 `json:"union_fpr,omitempty"`
	// WardenJailbreakRecall is the share of warden_train's jailbreak
	// prompts the detector flags on its own (a sanity check, not used to
	// choose anything).
	WardenJailbreakRecall float64 `json:"warden_jailbreak_recall"`
}

// ParseHarm decodes and validates the detector's operating point and
// compiles the lexicon.
func ParseHarm(raw []byte) (*Harm, error) {
	var h Harm
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("decode harm detector: %w", err)
	}
	lex, err := compileHarmLexicon()
	if err != nil {
		return nil, err
	}
	var errs []error
	if h.Version != 1 {
		errs = append(errs, fmt.Errorf("version: want 1, got %d", h.Version))
	}
	if !(h.Threshold > 0 && h.Threshold <= 1) {
		errs = append(errs, fmt.Errorf("threshold: want (0, 1], got %v", h.Threshold))
	}
	if !(h.Slope > 0) {
		errs = append(errs, fmt.Errorf("slope: want > 0, got %v", h.Slope))
	}
	if h.Lexicon != lex.digest {
		errs = append(errs, fmt.Errorf("lexicon: chosen for %q, this build has %q (rerun cmd/train-jailbreak)", h.Lexicon, lex.digest))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("harm detector: %w", err)
	}
	h.lex = lex
	return &h, nil
}

// NewHarm returns the detector with the compiled lexicon at threshold thr.
func NewHarm(thr, slope float64) (*Harm, error) {
	lex, err := compileHarmLexicon()
	if err != nil {
		return nil, err
	}
	return &Harm{Version: 1, Threshold: thr, Slope: slope, Lexicon: lex.digest, lex: lex}, nil
}

// Probability maps a raw score to (0, 1), 0.5 at Threshold; a prompt with
// no match scores 0.
func (h *Harm) Probability(raw float64) float64 {
	if raw <= 0 {
		return 0
	}
	return sigmoid(h.Slope * (raw - h.Threshold))
}

// HarmMatch is the best match in one text.
type HarmMatch struct {
	Raw      float64
	Category HarmCategory
	at       [2]int32 // the paired words (token indices)
}

// Match returns the best match of text (allocates its scratch; the
// scorer's hot path reuses one).
func (h *Harm) Match(text string) HarmMatch {
	return h.lex.match(&harmScratch{}, text)
}

// HarmLexiconDigest is the SHA-256 of the compiled lexicon (sets and
// rules), recorded in weights/harm.json.
func HarmLexiconDigest() (string, error) {
	lex, err := compileHarmLexicon()
	if err != nil {
		return "", err
	}
	return lex.digest, nil
}

// setMask has one bit per word list (harmWordLists).
type setMask [2]uint64

func (m setMask) has(i int) bool       { return m[i>>6]&(1<<(i&63)) != 0 }
func (m *setMask) set(i int)           { m[i>>6] |= 1 << (i & 63) }
func (m *setMask) clear(i int)         { m[i>>6] &^= 1 << (i & 63) }
func (m setMask) or(o setMask) setMask { return setMask{m[0] | o[0], m[1] | o[1]} }
func (m setMask) zero() bool           { return m[0]|m[1] == 0 }

// harmTerm is one lexicon entry: a word or phrase (stems joined by ' ').
type harmTerm struct {
	mask setMask
	// block marks a benign idiom: its words match nothing.
	block bool
	// words is the phrase length; longest the longest phrase that starts
	// with this entry's first word (on single-word entries).
	words, longest uint8
}

type compiledRule struct {
	cat     HarmCategory
	a, b    int
	weight  float64
	window  int32
	needHow bool
	// content: the harm is the written text itself (harmContentRule).
	content bool
}

type harmLexicon struct {
	// terms are the entries by key; table is the same set as an
	// open-addressing hash table on harmHash (the hot path).
	terms   map[string]harmTerm
	table   []harmSlot
	entries []harmTerm
	// filter has bit harmFilterBit(h) set for every key hash h: most
	// prompt words are rejected without touching the table.
	filter [harmFilterWords]uint64
	rules  []compiledRule
	// the framing and context lists; frame is the synthetic list of
	// framing words (request, how, sentence-opening imperative)
	request, how, imperative, frame, defence, exam, illicit int
	fiction, analysis, operational, unbound                 int
	harmBits                                                setMask
	verbs                                                   setMask // harmVerbSets
	evasive                                                 setMask // bypass, evade, illicit
	// relative holds the hashes of "that", "which" and "who", howWord
	// the hash of "how".
	relative [3]uint64
	howWord  uint64
	pronouns [8]uint64 // he she they you i we someone people
	negators [len(harmNegators)]uint64
	fold     *latinFold
	digest   string
}

// Tunables of the match score (part of the lexicon's design, not fitted).
const (
	harmDefenceBefore = 5    // benign context this many words before a pair cancels it
	harmDefenceAfter  = 3    // … or this many after it
	harmFrameNear     = 24   // framing this many words before a pair counts as its own
	harmFrameFar      = 0.6  // factor when the framing is elsewhere in the prompt
	harmNoFrame       = 0.35 // factor without any framing
	harmExamFactor    = 0.35 // factor in exam / case narratives
	harmInflectedVerb = 0.35 // factor when the action word is a description (harmVerbSets)
	harmIllicitBonus  = 0.25 // added when the prompt asks for secrecy or evasion
	// harmDescribeFactor is the factor of a match in a descriptive task
	// (kindFiction, kindAnalysis) or inside a quotation, when the prompt
	// holds no operational cue (kindOperational).
	harmDescribeFactor = 0.35
	harmNegateBefore   = 2 // a negator this many words before an operational cue cancels it
)

// harmTask is what a prompt's task words say about all of its matches.
type harmTask struct {
	exam        bool // two or more exam / case cues
	illicit     bool // secrecy or evasion asked for
	how         bool // procedure framing somewhere
	fiction     bool // a descriptive frame (kindFiction)
	analysis    bool // a task on a given text (kindAnalysis)
	operational bool // an operational cue, not negated
}

// match returns the best weighted match of text.
func (lex *harmLexicon) match(s *harmScratch, text string) HarmMatch {
	s.tokenize(text, lex.fold)
	n := len(s.toks)
	s.hits, s.hitMasks, s.frames, s.defs = s.hits[:0], s.hitMasks[:0], s.frames[:0], s.defs[:0]
	s.asks, s.fics, s.anas = s.asks[:0], s.fics[:0], s.anas[:0]
	exam := 0
	var task harmTask
	var all setMask    // every list some word of the prompt is on
	blockedUntil := 0  // words before this index are part of a benign idiom
	lastEvasive := -1  // the last word on an evasion list
	inPhraseUntil := 0 // words before this index are inside a harm phrase
	for i := range n {
		inPhrase := i < inPhraseUntil // inside a harm phrase that starts before i
		t := lex.lookup(s.hash[i])
		if t == nil {
			continue
		}
		m := t.mask
		if t.block {
			blockedUntil = max(blockedUntil, i+1)
		}
		ph := s.hash[i]
		for l := 2; l <= int(t.longest) && i+l <= n; l++ {
			ph = harmHashNext(ph, s.hash[i+l-1])
			p := lex.lookup(ph)
			if p == nil || p.words != uint8(l) {
				continue
			}
			if p.block {
				blockedUntil = max(blockedUntil, i+l)
			}
			if (p.mask[0]&lex.harmBits[0])|(p.mask[1]&lex.harmBits[1]) != 0 {
				inPhraseUntil = max(inPhraseUntil, i+l)
			}
			m = m.or(p.mask)
		}
		if i < blockedUntil || m.zero() {
			continue
		}
		// A request verb frames only in its base form ("write", not
		// "writes" or "wrote"); a procedure noun in any but the past.
		// Otherwise the word is no framing at all.
		ask := (m.has(lex.request) || m.has(lex.imperative) && (i == 0 || s.sent[i-1] != s.sent[i])) && s.past[i] == 0
		if ask || m.has(lex.how) && s.past[i] != inflPast {
			s.frames = append(s.frames, int32(i))
			m.set(lex.frame)
			if ask {
				s.asks = append(s.asks, int32(i))
			}
		} else {
			m.clear(lex.request)
			m.clear(lex.how)
		}
		task.how = task.how || m.has(lex.how)
		// A task word inside a harm phrase is none ("cover story").
		if m.has(lex.fiction) && !inPhrase {
			task.fiction = true
			s.fics = append(s.fics, int32(i))
		}
		if m.has(lex.analysis) && !inPhrase {
			task.analysis = true
			s.anas = append(s.anas, int32(i))
		}
		if m.has(lex.unbound) || m.has(lex.operational) && !task.operational && !lex.negated(s, i) {
			task.operational = true
		}
		// "evade detection", "bypass antivirus detection": a defence
		// word right after an evasion is what is evaded.
		// Nor is one inside a harm phrase ("copyright protection").
		if m.has(lex.defence) && !(lastEvasive >= 0 && i-lastEvasive <= 2) && !inPhrase {
			s.defs = append(s.defs, int32(i))
		}
		if (m[0]&lex.evasive[0])|(m[1]&lex.evasive[1]) != 0 {
			lastEvasive = i
		}
		if m.has(lex.exam) {
			exam++
		}
		task.illicit = task.illicit || m.has(lex.illicit)
		if (m[0]&lex.harmBits[0])|(m[1]&lex.harmBits[1]) != 0 || m.has(lex.frame) || m.has(lex.how) || m.has(lex.request) {
			s.hits = append(s.hits, int32(i))
			s.hitMasks = append(s.hitMasks, m)
			all = all.or(m)
		}
	}
	task.exam = exam >= 2
	var best HarmMatch
	for ri := range lex.rules {
		r := &lex.rules[ri]
		if !all.has(r.a) || !all.has(r.b) {
			continue
		}
		for x, i := range s.hits {
			mi := s.hitMasks[x]
			ia, ib := mi.has(r.a), mi.has(r.b)
			if !ia && !ib {
				continue
			}
			for y := x + 1; y < len(s.hits); y++ {
				j := s.hits[y]
				if j-i > r.window {
					break
				}
				mj := s.hitMasks[y]
				// Both words of a pair are in one sentence.
				if !(ia && mj.has(r.b)) && !(ib && mj.has(r.a)) || s.sent[i] != s.sent[j] {
					continue
				}
				// The token on list a: the verb when a is a verb list.
				at := i
				if !ia || !mj.has(r.b) {
					at = j
				}
				v := lex.pairScore(s, r, i, j, at, &task)
				if v > best.Raw {
					best = HarmMatch{Raw: v, Category: r.cat, at: [2]int32{i, j}}
				}
			}
		}
	}
	return best
}

func (lex *harmLexicon) pairScore(s *harmScratch, r *compiledRule, i, j, at int32, task *harmTask) float64 {
	// Benign context in [i−before, j+after]: the first one at or after
	// i−before (s.defs is sorted).
	if k, _ := slices.BinarySearch(s.defs, i-harmDefenceBefore); k < len(s.defs) && s.defs[k] <= j+harmDefenceAfter {
		return 0
	}
	v := r.weight
	if task.illicit {
		v = min(1, v+harmIllicitBonus)
	}
	framing := r.a == lex.request || r.a == lex.how || r.a == lex.frame || r.b == lex.request || r.b == lex.how || r.b == lex.frame
	if !framing {
		f := harmNoFrame
		if len(s.frames) > 0 {
			f = harmFrameFar
		}
		// The nearest framing before i and before j (s.frames is
		// sorted): either is the pair's own when it shares i's sentence
		// or lies at most harmFrameNear words before i.
		for _, end := range [2]int32{i, j} {
			if k, _ := slices.BinarySearch(s.frames, end+1); k > 0 {
				if p := s.frames[k-1]; s.sent[p] == s.sent[i] || i-p <= harmFrameNear {
					f = 1
				}
			}
		}
		v *= f
	}
	if r.needHow && !task.how {
		v *= harmNoFrame
	}
	// A descriptive task, or a pair quoted in one ("does this line of my
	// screenplay sound natural: \"…\""), asks for no operational content
	// unless the prompt says so. A quotation alone is no such task:
	// "Answer this: \"…\"" still asks.
	quoted := s.quoted[i] && s.quoted[j] && (task.fiction || task.analysis)
	if !task.operational && (s.described(i, r.content) || quoted) {
		v *= harmDescribeFactor
	}
	// Inside a story or role-play that asks for the operational content
	// (or declares the model free of its rules), what the characters do
	// is what is asked for: "describes exactly how he bypassed the alarm".
	narrated := task.operational && task.fiction
	if lex.verbs.has(r.a) && s.past[at] != 0 && !narrated && !lex.asked(s, at) {
		v *= harmInflectedVerb
	}
	if task.exam {
		v *= harmExamFactor
	}
	return v
}

// described reports whether the pair starting at word i lies in a
// descriptive frame: a task word (kindAnalysis; kindFiction unless the
// rule is a content rule) stands before i and after the nearest request
// verb at or before i, if any ("Write a story about a hacker who breaks
// into …", "Write the scene. The assassin poisons the king …", "You are a
// spy, revealing a plan …"; not "You are a hacker. Write ransomware …",
// nor a task word in a suffix after the request).
func (s *harmScratch) described(i int32, content bool) bool {
	var lo int32
	if k, _ := slices.BinarySearch(s.asks, i+1); k > 0 {
		lo = s.asks[k-1]
	}
	between := func(cues []int32) bool {
		f, _ := slices.BinarySearch(cues, lo)
		return f < len(cues) && cues[f] < i
	}
	return between(s.anas) || !content && between(s.fics)
}

// negated reports whether a negator lies up to harmNegateBefore words
// before word i in its sentence.
func (lex *harmLexicon) negated(s *harmScratch, i int) bool {
	for k := max(i-harmNegateBefore, 0); k < i; k++ {
		if s.sent[k] == s.sent[i] && slices.Contains(lex.negators[:], s.hash[k]) {
			return true
		}
	}
	return false
}

// asked reports whether the inflected action word at is still what is
// asked for: it opens a relative clause ("a program that steals", "an app
// that silently forwards") or
// follows "how" and a person ("explain how he synthesizes", "how you
// rigged"; not "how ransomware spreads").
func (lex *harmLexicon) asked(s *harmScratch, at int32) bool {
	for k := max(at-2, 0); k < at; k++ {
		if slices.Contains(lex.relative[:], s.hash[k]) {
			return true
		}
	}
	return at >= 2 && s.hash[at-2] == lex.howWord && slices.Contains(lex.pronouns[:], s.hash[at-1])
}

// String renders a match for logs.
func (m HarmMatch) String() string {
	return m.Category.String() + " " + strconv.FormatFloat(m.Raw, 'f', 3, 64)
}

// Explain describes the best match of text: its category, raw score and
// the two words it paired (for reports and tests; it allocates).
func (h *Harm) Explain(text string) string {
	s := &harmScratch{}
	m := h.lex.match(s, text)
	if m.Raw == 0 {
		return "no match"
	}
	return fmt.Sprintf("%s (%q … %q)", m, s.word(int(m.at[0])), s.word(int(m.at[1])))
}
