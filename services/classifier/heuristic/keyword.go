package heuristic

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

// KeywordRule mirrors routing.signals.keywords[].
//
// Method selects the matcher:
//   - "" (default): each keyword is a literal phrase matched on whole-word
//     boundaries (no boundary for CJK keywords); with FuzzyMatch, a keyword
//     that is not found literally still matches a text word (or run of words)
//     within FuzzyThreshold edit operations (default 2, capped at a quarter
//     of the keyword's length so short keywords stay exact);
//   - "regex": each keyword is a Go regular expression;
//   - "bm25": each keyword is a BM25 document scored against the text;
//     a keyword matches when its score ≥ BM25Threshold (default 0.1);
//   - "ngram": character n-gram similarity (NgramArity, default 3) between
//     each keyword and the text words, ≥ NgramThreshold (default 0.4);
//   - "fuzzy": similarity ratio 0–100 (100·(1 − edit distance / longer
//     length)) between each keyword and a same-length run of text words,
//     ≥ FuzzyThreshold (default 80).
//
// Operator OR (the default when empty) matches when any keyword matched,
// AND when all did, NOR when none did. Confidence is 0.5 + 0.5·matched/total (0.5 for NOR).
type KeywordRule struct {
	Name           string
	Operator       string
	Keywords       []string
	CaseSensitive  bool
	Method         string
	FuzzyMatch     bool
	FuzzyThreshold int
	BM25Threshold  float64
	NgramThreshold float64
	NgramArity     int
}

type kwOperator uint8

const (
	opOR kwOperator = iota
	opAND
	opNOR
)

type kwMethod uint8

const (
	methodLiteral kwMethod = iota
	methodRegex
	methodBM25
	methodNgram
	methodFuzzy
)

type keywordRule struct {
	name   string
	op     kwOperator
	method kwMethod
	cs     bool
	total  int

	lits     []string // literal keywords (lowercased unless cs)
	boundary []bool   // whole-word matching per literal
	res      []*regexp.Regexp

	// fuzzy modifier and fuzzy / ngram methods
	phrases  [][]rune // normalized keyword phrases
	nwords   []int    // word count per phrase
	maxEdit  []int    // fuzzy modifier: allowed distance per keyword
	ratio    float64  // fuzzy method threshold in [0,1]
	grams    [][]uint64
	arity    int
	ngramMin float64

	bm25     *bm25Index
	bm25Min  float64
	needWins []int // distinct window sizes (ngram, fuzzy)
}

type keywordFamily struct{ rules []keywordRule }

func compileKeywords(rules []KeywordRule, errs *errorList) *keywordFamily {
	names := make([]string, len(rules))
	f := &keywordFamily{rules: make([]keywordRule, 0, len(rules))}
	for i, r := range rules {
		names[i] = r.Name
		p := fmt.Sprintf("keywords[%d]", i)
		kr := keywordRule{name: r.Name, cs: r.CaseSensitive, total: len(r.Keywords)}
		switch strings.ToUpper(strings.TrimSpace(r.Operator)) {
		case "OR", "":
			kr.op = opOR
		case "AND":
			kr.op = opAND
		case "NOR":
			kr.op = opNOR
		default:
			errs.add(p+".operator", r.Name, fmt.Errorf("unknown operator %q (want OR, AND or NOR)", r.Operator))
		}
		if len(r.Keywords) == 0 {
			errs.add(p+".keywords", r.Name, fmt.Errorf("at least one keyword is required"))
		}
		for j, k := range r.Keywords {
			if strings.TrimSpace(k) == "" {
				errs.add(fmt.Sprintf("%s.keywords[%d]", p, j), r.Name, fmt.Errorf("keyword must not be empty"))
			}
		}
		norm := func(s string) string {
			if r.CaseSensitive {
				return s
			}
			return strings.ToLower(s)
		}
		switch strings.ToLower(strings.TrimSpace(r.Method)) {
		case "":
			kr.method = methodLiteral
			for _, k := range r.Keywords {
				lk := norm(strings.TrimSpace(k))
				kr.lits = append(kr.lits, lk)
				kr.boundary = append(kr.boundary, !containsCJK(lk))
			}
			if r.FuzzyMatch {
				dist := r.FuzzyThreshold
				if dist == 0 {
					dist = 2
				}
				if dist < 0 {
					errs.add(p+".fuzzy_threshold", r.Name, fmt.Errorf("edit distance must not be negative"))
				}
				kr.addPhrases(r.Keywords, norm)
				for _, ph := range kr.phrases {
					kr.maxEdit = append(kr.maxEdit, min(dist, len(ph)/4))
				}
			}
		case "regex":
			kr.method = methodRegex
			for j, k := range r.Keywords {
				pat := k
				if !r.CaseSensitive {
					pat = "(?i)" + k
				}
				re, err := regexp.Compile(pat)
				if err != nil {
					// Configs written for other routers use patterns RE2
					// rejects (e.g. `C:\Program Files\\`): such a keyword is
					// matched literally rather than refusing the config.
					lit := regexp.QuoteMeta(k)
					if !r.CaseSensitive {
						lit = "(?i)" + lit
					}
					re, err = regexp.Compile(lit)
				}
				if err != nil {
					errs.add(fmt.Sprintf("%s.keywords[%d]", p, j), r.Name, fmt.Errorf("invalid regex %q: %w", k, err))
					continue
				}
				kr.res = append(kr.res, re)
			}
		case "bm25":
			kr.method = methodBM25
			kr.bm25Min = r.BM25Threshold
			if kr.bm25Min == 0 {
				kr.bm25Min = 0.1
			}
			if kr.bm25Min < 0 {
				errs.add(p+".bm25_threshold", r.Name, fmt.Errorf("must not be negative"))
			}
			kws := make([]string, len(r.Keywords))
			for j, k := range r.Keywords {
				kws[j] = norm(k)
			}
			kr.bm25 = newBM25Index(kws)
		case "ngram":
			kr.method = methodNgram
			kr.ngramMin = r.NgramThreshold
			if kr.ngramMin == 0 {
				kr.ngramMin = 0.4
			}
			if kr.ngramMin < 0 || kr.ngramMin > 1 {
				errs.add(p+".ngram_threshold", r.Name, fmt.Errorf("must be within [0, 1], got %v", r.NgramThreshold))
			}
			kr.arity = r.NgramArity
			if kr.arity == 0 {
				kr.arity = 3
			}
			if kr.arity < 2 || kr.arity > 8 {
				errs.add(p+".ngram_arity", r.Name, fmt.Errorf("must be within [2, 8], got %d", r.NgramArity))
				kr.arity = 3
			}
			kr.addPhrases(r.Keywords, norm)
			for _, ph := range kr.phrases {
				kr.grams = append(kr.grams, appendGrams(nil, ph, kr.arity))
			}
		case "fuzzy":
			kr.method = methodFuzzy
			t := r.FuzzyThreshold
			if t == 0 {
				t = 80
			}
			if t < 0 || t > 100 {
				errs.add(p+".fuzzy_threshold", r.Name, fmt.Errorf("method fuzzy takes a ratio within [0, 100], got %d", r.FuzzyThreshold))
			}
			kr.ratio = float64(t) / 100
			kr.addPhrases(r.Keywords, norm)
		default:
			errs.add(p+".method", r.Name, fmt.Errorf("unknown method %q (want regex, bm25, ngram or fuzzy; empty for literal)", r.Method))
		}
		f.rules = append(f.rules, kr)
	}
	checkNames(errs, "keywords", names)
	return f
}

func (kr *keywordRule) addPhrases(keywords []string, norm func(string) string) {
	for _, k := range keywords {
		ph, n := normalizePhrase(norm(k))
		kr.phrases = append(kr.phrases, []rune(ph))
		kr.nwords = append(kr.nwords, n)
		found := false
		for _, w := range kr.needWins {
			found = found || w == n
		}
		if !found && n > 0 {
			kr.needWins = append(kr.needWins, n)
		}
	}
}

func (f *keywordFamily) evaluate(st *evalState) signal.Outcome {
	out := signal.Outcome{Family: signal.Keyword}
	for i := range f.rules {
		kr := &f.rules[i]
		matched, value := kr.count(st)
		ok := false
		switch kr.op {
		case opOR:
			ok = matched > 0
		case opAND:
			ok = matched == kr.total
		case opNOR:
			ok = matched == 0
		}
		if !ok {
			setScore(&out, kr.name, value)
			continue
		}
		conf := 1.0
		if kr.total > 0 {
			if kr.op == opNOR {
				conf, value = 0.5, 0
			} else {
				conf = 0.5 + 0.5*float64(matched)/float64(kr.total)
			}
		}
		out.Matches = append(out.Matches, signal.Match{Family: signal.Keyword, Name: kr.name, Confidence: conf, Value: value})
	}
	return out
}

// count returns how many keywords of the rule matched and the rule's raw
// value: the matched count for literal and regex rules, the best BM25 score,
// the best n-gram similarity or the best fuzzy ratio (0–1) otherwise.
func (kr *keywordRule) count(st *evalState) (int, float64) {
	req := st.req
	switch kr.method {
	case methodLiteral:
		text := req.curLower
		if kr.cs {
			text = req.CurrentText()
		}
		n := 0
		for j, lit := range kr.lits {
			if containsWord(text, lit, kr.boundary[j]) || (kr.maxEdit != nil && kr.fuzzyWithin(st, j)) {
				n++
			}
		}
		return n, float64(n)
	case methodRegex:
		n := 0
		for _, re := range kr.res {
			if re.MatchString(req.CurrentText()) {
				n++
			}
		}
		return n, float64(n)
	case methodBM25:
		text, words := st.wordsOf(kr.cs)
		st.ints = kr.bm25.present(text, words, st.ints)
		n, best := 0, 0.0
		for d := range kr.bm25.docs {
			s := kr.bm25.score(d, st.ints)
			best = max(best, s)
			if s >= kr.bm25Min {
				n++
			}
		}
		return n, best
	case methodNgram:
		return kr.ngramCount(st)
	case methodFuzzy:
		return kr.fuzzyCount(st)
	}
	return 0, 0
}

// fuzzyWithin reports whether keyword j is within its edit budget of some
// run of text words.
func (kr *keywordRule) fuzzyWithin(st *evalState, j int) bool {
	k, limit := kr.nwords[j], kr.maxEdit[j]
	if k == 0 || limit == 0 {
		return false
	}
	text, words := st.wordsOf(kr.cs)
	for i := 0; i+k <= len(words); i++ {
		st.runesA = appendWindowRunes(st.runesA[:0], text, words, i, k)
		var d int
		d, st.ints = levenshtein(st.runesA, kr.phrases[j], limit, st.ints)
		if d <= limit {
			return true
		}
	}
	return false
}

// fuzzyCount computes, per keyword, the best similarity ratio against
// same-length runs of text words; each window is built once per run length
// and compared with every keyword of that length.
func (kr *keywordRule) fuzzyCount(st *evalState) (int, float64) {
	text, words := st.wordsOf(kr.cs)
	top := st.topScores(len(kr.phrases))
	for _, k := range kr.needWins {
		for i := 0; i+k <= len(words); i++ {
			st.runesA = appendWindowRunes(st.runesA[:0], text, words, i, k)
			for j, ph := range kr.phrases {
				if kr.nwords[j] != k || top[j] >= 1 {
					continue
				}
				longer := max(len(st.runesA), len(ph))
				limit := int(float64(longer) * (1 - kr.ratio))
				var d int
				d, st.ints = levenshtein(st.runesA, ph, limit, st.ints)
				if d <= limit {
					top[j] = max(top[j], 1-float64(d)/float64(longer))
				}
			}
		}
	}
	return countAtLeast(top, kr.ratio)
}

// ngramCount computes, per keyword, the best n-gram similarity against
// same-length runs of text words; window grams are computed once per run
// and compared with every keyword of that length.
func (kr *keywordRule) ngramCount(st *evalState) (int, float64) {
	text, words := st.wordsOf(kr.cs)
	top := st.topScores(len(kr.phrases))
	for _, k := range kr.needWins {
		for i := 0; i+k <= len(words); i++ {
			st.runesA = appendWindowRunes(st.runesA[:0], text, words, i, k)
			wg := len(st.runesA) + kr.arity - 1
			computed := false
			for j, kg := range kr.grams {
				if kr.nwords[j] != k || top[j] >= 1 {
					continue
				}
				// upper bound on the similarity from the gram counts alone
				lo, hi := min(wg, len(kg)), max(wg, len(kg))
				if 1-sq(float64(hi-lo)/float64(hi)) < kr.ngramMin {
					continue
				}
				if !computed {
					st.grams = appendGrams(st.grams[:0], st.runesA, kr.arity)
					computed = true
				}
				top[j] = max(top[j], gramSimilarity(st.grams, kg))
			}
		}
	}
	return countAtLeast(top, kr.ngramMin)
}

// countAtLeast returns how many scores reach min (and are positive) and the
// best score.
func countAtLeast(scores []float64, min float64) (int, float64) {
	n, best := 0, 0.0
	for _, s := range scores {
		if s >= min && s > 0 {
			n++
		}
		best = max(best, s)
	}
	return n, best
}

func sq(x float64) float64 { return x * x }
