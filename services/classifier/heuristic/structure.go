package heuristic

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

// StructureRule mirrors routing.signals.structure[]: a feature computed
// from the current user turn, compared with a predicate.
//
// Feature types: "exists" (1 when the source occurs, else 0), "count"
// (occurrences), "density" (occurrences per multilingual text unit, see
// TextUnits), "sequence" (1 when one of the ordered sequences occurs).
// Source types: "regex" (Pattern; case-insensitive unless CaseSensitive),
// "keyword_set" (Keywords, whole-word unless CJK), "sequence" (Sequences:
// each an ordered list of markers that must appear in that order),
// "text_bytes" (UTF-8 length of the turn).
//
// Without a predicate the rule matches when the value is > 0. Confidence is
// 1 without a predicate, else a logistic function of how far the value lies
// inside the predicate's nearest bound (0.5 at the bound).
type StructureRule struct {
	Name          string
	FeatureType   string
	SourceType    string
	Pattern       string
	Keywords      []string
	Sequences     [][]string
	CaseSensitive bool
	Predicate     *Predicate
}

type featureType uint8

const (
	featExists featureType = iota
	featCount
	featDensity
	featSequence
)

type sourceType uint8

const (
	srcRegex sourceType = iota
	srcKeywords
	srcSequence
	srcBytes
)

type structureRule struct {
	name     string
	feat     featureType
	src      sourceType
	re       *regexp.Regexp
	reSlot   int      // index of re among the family's distinct regexes
	keywords []string // normalized
	boundary []bool
	seqs     [][]string // normalized
	cs       bool
	pred     *Predicate
}

type structureFamily struct {
	rules []structureRule
	// regexes lists each distinct compiled pattern once; rules that share a
	// pattern (many_questions, at_most_one_question, low_question_density)
	// share one count per request.
	regexes []string
}

func compileStructure(rules []StructureRule, errs *errorList) *structureFamily {
	f := &structureFamily{}
	names := make([]string, len(rules))
	for i, r := range rules {
		names[i] = r.Name
		p := fmt.Sprintf("structure[%d]", i)
		sr := structureRule{name: r.Name, cs: r.CaseSensitive, pred: r.Predicate}
		switch strings.ToLower(strings.TrimSpace(r.FeatureType)) {
		case "exists":
			sr.feat = featExists
		case "count":
			sr.feat = featCount
		case "density":
			sr.feat = featDensity
		case "sequence":
			sr.feat = featSequence
		default:
			errs.add(p+".feature.type", r.Name, fmt.Errorf("unknown feature type %q (want exists, count, density or sequence)", r.FeatureType))
		}
		norm := func(s string) string {
			if r.CaseSensitive {
				return s
			}
			return strings.ToLower(s)
		}
		switch strings.ToLower(strings.TrimSpace(r.SourceType)) {
		case "regex":
			sr.src = srcRegex
			pat := r.Pattern
			if pat == "" {
				errs.add(p+".feature.source.pattern", r.Name, fmt.Errorf("regex source needs a pattern"))
				break
			}
			if !r.CaseSensitive && !strings.HasPrefix(pat, "(?i)") {
				pat = "(?i)" + pat
			}
			re, err := regexp.Compile(pat)
			if err != nil {
				errs.add(p+".feature.source.pattern", r.Name, fmt.Errorf("invalid regex %q: %w", r.Pattern, err))
				break
			}
			sr.re = re
			sr.reSlot = len(f.regexes)
			for k, q := range f.regexes {
				if q == pat {
					sr.reSlot = k
				}
			}
			if sr.reSlot == len(f.regexes) {
				f.regexes = append(f.regexes, pat)
			}
		case "keyword_set":
			sr.src = srcKeywords
			if len(r.Keywords) == 0 {
				errs.add(p+".feature.source.keywords", r.Name, fmt.Errorf("keyword_set source needs keywords"))
			}
			// Case-insensitive sets may list the same word twice ("json",
			// "JSON"); count each distinct keyword once.
			for _, k := range r.Keywords {
				k = norm(strings.TrimSpace(k))
				if k == "" || contains(sr.keywords, k) {
					continue
				}
				sr.keywords = append(sr.keywords, k)
				sr.boundary = append(sr.boundary, !containsCJK(k))
			}
		case "sequence":
			sr.src = srcSequence
			if len(r.Sequences) == 0 {
				errs.add(p+".feature.source.sequences", r.Name, fmt.Errorf("sequence source needs sequences"))
			}
			for j, seq := range r.Sequences {
				if len(seq) == 0 {
					errs.add(fmt.Sprintf("%s.feature.source.sequences[%d]", p, j), r.Name, fmt.Errorf("sequence must not be empty"))
					continue
				}
				ns := make([]string, len(seq))
				for k, m := range seq {
					ns[k] = norm(m)
				}
				sr.seqs = append(sr.seqs, ns)
			}
		case "text_bytes":
			sr.src = srcBytes
		default:
			errs.add(p+".feature.source.type", r.Name, fmt.Errorf("unknown source type %q (want regex, keyword_set, sequence or text_bytes)", r.SourceType))
		}
		if err := r.Predicate.validate(); err != nil {
			errs.add(p+".predicate", r.Name, err)
		}
		f.rules = append(f.rules, sr)
	}
	checkNames(errs, "structure", names)
	return f
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (f *structureFamily) evaluate(st *evalState) signal.Outcome {
	out := signal.Outcome{Family: signal.Structure}
	st.reCount = slices.Grow(st.reCount[:0], len(f.regexes))[:len(f.regexes)]
	for i := range st.reCount {
		st.reCount[i] = -1
	}
	for i := range f.rules {
		sr := &f.rules[i]
		v := sr.value(st)
		if !sr.pred.holds(v) {
			setScore(&out, sr.name, v)
			continue
		}
		out.Matches = append(out.Matches, signal.Match{
			Family: signal.Structure, Name: sr.name, Value: v,
			Confidence: predicateConfidence(sr.pred, v),
		})
	}
	return out
}

func (sr *structureRule) text(req *Request) string {
	if sr.cs {
		return req.CurrentText()
	}
	return req.curLower
}

func (sr *structureRule) value(st *evalState) float64 {
	req := st.req
	switch sr.feat {
	case featExists:
		if sr.src == srcRegex && sr.re != nil && st.reCount[sr.reSlot] < 0 {
			if sr.re.MatchString(req.CurrentText()) {
				return 1
			}
			return 0
		}
		if sr.occurrences(st) > 0 {
			return 1
		}
		return 0
	case featCount:
		return float64(sr.occurrences(st))
	case featDensity:
		if req.curUnits == 0 {
			return 0
		}
		return float64(sr.occurrences(st)) / float64(req.curUnits)
	case featSequence:
		if sr.src == srcSequence {
			if sr.sequenceFound(req) {
				return 1
			}
			return 0
		}
		if sr.occurrences(st) > 0 {
			return 1
		}
		return 0
	}
	return 0
}

func (sr *structureRule) occurrences(st *evalState) int {
	req := st.req
	switch sr.src {
	case srcRegex:
		if sr.re == nil {
			return 0
		}
		if n := st.reCount[sr.reSlot]; n >= 0 {
			return n
		}
		// the regex carries its own case folding; run it on the original text
		n := countRegex(sr.re, req.CurrentText())
		st.reCount[sr.reSlot] = n
		return n
	case srcKeywords:
		text := sr.text(req)
		n := 0
		for j, k := range sr.keywords {
			n += countOccurrences(text, k, sr.boundary[j])
		}
		return n
	case srcSequence:
		if sr.sequenceFound(req) {
			return 1
		}
		return 0
	case srcBytes:
		return len(req.CurrentText())
	}
	return 0
}

// countRegex counts non-overlapping matches over the whole text (so that
// anchors such as (?m)^ keep their meaning).
func countRegex(re *regexp.Regexp, text string) int {
	return len(re.FindAllStringIndex(text, -1))
}

// sequenceFound reports whether the markers of any sequence occur in order.
func (sr *structureRule) sequenceFound(req *Request) bool {
	text := sr.text(req)
	for _, seq := range sr.seqs {
		at, ok := 0, true
		for _, m := range seq {
			i := strings.Index(text[at:], m)
			if i < 0 {
				ok = false
				break
			}
			at += i + len(m)
		}
		if ok {
			return true
		}
	}
	return false
}
