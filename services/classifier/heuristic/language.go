package heuristic

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pemistahl/lingua-go"
	"github.com/semrouter/semrouter/services/classifier/signal"
)

// LanguageRule mirrors routing.signals.language[]: Name is an ISO 639-1
// code; the rule matches when the current user turn's most likely language
// is that language with a lingua confidence ≥ Threshold (0 means the
// default 0.3). Value is the confidence of the rule's language, also
// recorded for rules that did not match.
type LanguageRule struct {
	Name      string
	Threshold float64
}

// DefaultDetectorLanguages returns the languages the detector tells apart
// besides those the rules name, so that a rule for "es" is not matched by
// Portuguese or Italian text merely because neither was a candidate.
func DefaultDetectorLanguages() []string {
	return []string{"en", "zh", "es", "fr", "de", "it", "pt", "nl", "ru", "ja", "ko", "ar", "hi", "tr", "vi", "pl"}
}

// maxLanguageBytes bounds the text handed to the detector: a prefix of
// this size identifies the language as well as the whole prompt does, and
// keeps detection time independent of prompt length.
const maxLanguageBytes = 256

type languageRule struct {
	name      string
	lang      lingua.Language
	threshold float64
}

type languageFamily struct {
	rules    []languageRule
	detector lingua.LanguageDetector
}

func compileLanguage(rules []LanguageRule, o options, errs *errorList) *languageFamily {
	f := &languageFamily{}
	names := make([]string, len(rules))
	var langs []lingua.Language
	addLang := func(code string) (lingua.Language, bool) {
		l := lingua.GetLanguageFromIsoCode639_1(lingua.GetIsoCode639_1FromValue(strings.ToUpper(strings.TrimSpace(code))))
		if l == lingua.Unknown {
			return l, false
		}
		for _, x := range langs {
			if x == l {
				return l, true
			}
		}
		langs = append(langs, l)
		return l, true
	}
	for i, r := range rules {
		names[i] = r.Name
		p := fmt.Sprintf("language[%d]", i)
		l, ok := addLang(r.Name)
		if !ok {
			errs.add(p+".name", r.Name, fmt.Errorf("not an ISO 639-1 language code lingua knows"))
			continue
		}
		if r.Threshold < 0 || r.Threshold > 1 {
			errs.add(p+".threshold", r.Name, fmt.Errorf("must be within [0, 1], got %v", r.Threshold))
		}
		t := r.Threshold
		if t == 0 {
			t = 0.3
		}
		f.rules = append(f.rules, languageRule{name: r.Name, lang: l, threshold: t})
	}
	checkNames(errs, "language", names)
	extra := DefaultDetectorLanguages()
	if o.extraLanguages != nil {
		extra = o.extraLanguages
	}
	for _, code := range extra {
		if _, ok := addLang(code); !ok {
			errs.add("language", "", fmt.Errorf("detector language %q is not an ISO 639-1 code lingua knows", code))
		}
	}
	if len(errs.errs) > 0 {
		return nil
	}
	if len(langs) < 2 { // lingua needs at least two candidates
		addLang("en")
		addLang("zh")
	}
	b := lingua.NewLanguageDetectorBuilder().FromLanguages(langs...).WithPreloadedLanguageModels()
	if o.lowAccuracy {
		b = b.WithLowAccuracyMode()
	}
	f.detector = b.Build()
	return f
}

func (f *languageFamily) evaluate(st *evalState) signal.Outcome {
	out := signal.Outcome{Family: signal.Language}
	text := st.req.CurrentText()
	if len(text) > maxLanguageBytes {
		cut := maxLanguageBytes
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	if strings.TrimSpace(text) == "" {
		return out
	}
	values := f.detector.ComputeLanguageConfidenceValues(text)
	if len(values) == 0 {
		return out
	}
	top := values[0]
	for _, r := range f.rules {
		conf := 0.0
		for _, v := range values {
			if v.Language() == r.lang {
				conf = v.Value()
				break
			}
		}
		if top.Language() == r.lang && conf >= r.threshold && conf > 0 {
			out.Matches = append(out.Matches, signal.Match{Family: signal.Language, Name: r.name, Confidence: conf, Value: conf})
			continue
		}
		setScore(&out, r.name, conf)
	}
	return out
}

func (f *languageFamily) slow() bool { return true }
