package heuristic

import (
	"fmt"
	"strings"

	"github.com/semrouter/semrouter/services/classifier/heuristic/pii"
	"github.com/semrouter/semrouter/services/classifier/signal"
)

// PIIRule mirrors routing.signals.pii[]: it matches when the current user
// turn (and, with IncludeHistory, every earlier user turn) holds at least
// one entity whose type is not in AllowedTypes and whose score is ≥
// Threshold (default 0.5). Value is the number of such entities;
// Confidence is the highest of their scores.
type PIIRule struct {
	Name           string
	Threshold      float64
	AllowedTypes   []string
	IncludeHistory bool
}

type piiRule struct {
	name      string
	threshold float64
	allowed   []string
	history   bool
}

type piiFamily struct {
	rules    []piiRule
	detector *pii.Detector
	history  bool // some rule reads history
}

// piiScan caches the detections of one request: entities of the current
// turn first, then (when needed) of earlier user turns.
type piiScan struct {
	entities []pii.Entity
	current  int // entities[:current] belong to the current turn
	done     bool
	history  bool
}

func (s *piiScan) reset() {
	s.entities = s.entities[:0]
	s.current, s.done, s.history = 0, false, false
}

func compilePII(rules []PIIRule, errs *errorList) *piiFamily {
	f := &piiFamily{detector: pii.New()}
	names := make([]string, len(rules))
	for i, r := range rules {
		names[i] = r.Name
		p := fmt.Sprintf("pii[%d]", i)
		pr := piiRule{name: r.Name, threshold: r.Threshold, history: r.IncludeHistory}
		if pr.threshold == 0 {
			pr.threshold = 0.5
		}
		if r.Threshold < 0 || r.Threshold > 1 {
			errs.add(p+".threshold", r.Name, fmt.Errorf("must be within [0, 1], got %v", r.Threshold))
		}
		for j, t := range r.AllowedTypes {
			t = strings.ToUpper(strings.TrimSpace(t))
			if !knownPIIType(t) {
				errs.add(fmt.Sprintf("%s.pii_types_allowed[%d]", p, j), r.Name, fmt.Errorf("unknown PII type %q (known: %s)", r.AllowedTypes[j], strings.Join(pii.Types(), ", ")))
			}
			pr.allowed = append(pr.allowed, t)
		}
		f.history = f.history || r.IncludeHistory
		f.rules = append(f.rules, pr)
	}
	checkNames(errs, "pii", names)
	return f
}

// knownPIIType accepts the recognised types plus the types model-based
// detectors report that this package does not recognise (so allow-lists
// written for a model keep validating).
func knownPIIType(t string) bool {
	for _, k := range pii.Types() {
		if k == t {
			return true
		}
	}
	switch t {
	case "LOCATION", "NRP", "ORGANIZATION", "MEDICAL_LICENSE", "US_DRIVER_LICENSE",
		"US_PASSPORT", "US_BANK_NUMBER", "US_ITIN", "CRYPTO", "AGE", "ZIP_CODE", "ADDRESS":
		return true
	}
	return false
}

func (f *piiFamily) scan(st *evalState, withHistory bool) {
	s := &st.pii
	if !s.done {
		s.entities = f.detector.Detect(st.req.CurrentText(), s.entities[:0])
		s.current = len(s.entities)
		s.done = true
	}
	if withHistory && !s.history {
		st.req.history(func(text string) bool {
			s.entities = f.detector.Detect(text, s.entities)
			return true
		})
		s.history = true
	}
}

func (f *piiFamily) evaluate(st *evalState) signal.Outcome {
	out := signal.Outcome{Family: signal.PII}
	for i := range f.rules {
		r := &f.rules[i]
		f.scan(st, r.history)
		ents := st.pii.entities[:st.pii.current]
		if r.history {
			ents = st.pii.entities
		}
		n, top := 0, 0.0
		for _, e := range ents {
			if e.Score < r.threshold || contains(r.allowed, e.Type) {
				continue
			}
			n++
			top = max(top, e.Score)
		}
		if n == 0 {
			setScore(&out, r.name, 0)
			continue
		}
		out.Matches = append(out.Matches, signal.Match{Family: signal.PII, Name: r.name, Confidence: top, Value: float64(n)})
	}
	return out
}
