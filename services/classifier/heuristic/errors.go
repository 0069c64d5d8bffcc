package heuristic

import (
	"errors"
	"fmt"
)

// RuleError is one problem found while compiling heuristic rules. Path uses
// the YAML vocabulary relative to routing.signals ("keywords[2].keywords[0]")
// so a config adapter can map it to a file line.
type RuleError struct {
	Path string
	Rule string
	Err  error
}

func (e *RuleError) Error() string {
	if e.Rule != "" {
		return fmt.Sprintf("routing.signals.%s (%s): %v", e.Path, e.Rule, e.Err)
	}
	return fmt.Sprintf("routing.signals.%s: %v", e.Path, e.Err)
}

func (e *RuleError) Unwrap() error { return e.Err }

// Sentinel errors reported in signal.Outcome.Err.
var (
	// ErrNoIdentity: role bindings are configured but the request carries
	// no user identity; authz fails closed rather than silently matching
	// nothing.
	ErrNoIdentity = errors.New("authz: request has no user identity but role_bindings are configured")
	// ErrNoJailbreakScorer: a jailbreak rule needs a model score and no
	// JailbreakScorer is wired in.
	ErrNoJailbreakScorer = errors.New("jailbreak: rule needs a model scorer and none is configured")
)

type errorList struct{ errs []error }

func (l *errorList) add(path, rule string, err error) {
	l.errs = append(l.errs, &RuleError{Path: path, Rule: rule, Err: err})
}

func (l *errorList) err() error { return errors.Join(l.errs...) }

// checkNames reports empty and duplicate rule names of one family.
func checkNames(l *errorList, family string, names []string) {
	seen := make(map[string]int, len(names))
	for i, n := range names {
		p := fmt.Sprintf("%s[%d].name", family, i)
		if n == "" {
			l.add(p, "", errors.New("name must not be empty"))
			continue
		}
		if j, dup := seen[n]; dup {
			l.add(p, n, fmt.Errorf("duplicate rule name (also %s[%d])", family, j))
			continue
		}
		seen[n] = i
	}
}
