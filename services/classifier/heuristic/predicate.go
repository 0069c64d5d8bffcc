package heuristic

import (
	"errors"
	"math"
)

// Predicate mirrors a numeric `predicate:` block (gt / gte / lt / lte, any
// combination; all set bounds must hold). A nil *Predicate means "value > 0".
type Predicate struct {
	GT, GTE, LT, LTE *float64
}

// Ptr returns a pointer to v, for building predicates in code.
func Ptr(v float64) *float64 { return &v }

func (p *Predicate) empty() bool {
	return p == nil || (p.GT == nil && p.GTE == nil && p.LT == nil && p.LTE == nil)
}

func (p *Predicate) holds(v float64) bool {
	if p.empty() {
		return v > 0
	}
	if p.GT != nil && !(v > *p.GT) {
		return false
	}
	if p.GTE != nil && !(v >= *p.GTE) {
		return false
	}
	if p.LT != nil && !(v < *p.LT) {
		return false
	}
	if p.LTE != nil && !(v <= *p.LTE) {
		return false
	}
	return true
}

func (p *Predicate) validate() error {
	if p == nil {
		return nil
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	if p.GT != nil {
		lo = *p.GT
	}
	if p.GTE != nil && *p.GTE > lo {
		lo = *p.GTE
	}
	if p.LT != nil {
		hi = *p.LT
	}
	if p.LTE != nil && *p.LTE < hi {
		hi = *p.LTE
	}
	if lo > hi || (lo == hi && (p.GT != nil && *p.GT == lo || p.LT != nil && *p.LT == hi)) {
		return errors.New("predicate can never hold (lower bound above upper bound)")
	}
	return nil
}

// margin is how far v lies inside the predicate: the distance to the
// nearest set bound (1 when no bound is set).
func (p *Predicate) margin(v float64) float64 {
	if p.empty() {
		return 1
	}
	m := math.Inf(1)
	for _, b := range []*float64{p.GT, p.GTE, p.LT, p.LTE} {
		if b != nil {
			m = math.Min(m, math.Abs(v-*b))
		}
	}
	return m
}

// predicateConfidence maps the margin by which a value satisfies its
// predicate to a confidence in [0.5, 1): a logistic curve, 0.5 right at the
// bound and approaching 1 as the value moves away from it (structure
// signals, as upstream). A predicate-free match is certain (1).
func predicateConfidence(p *Predicate, v float64) float64 {
	if p.empty() {
		return 1
	}
	return 1 / (1 + math.Exp(-4*p.margin(v)))
}
