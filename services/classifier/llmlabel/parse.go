// Package llmlabel evaluates the `type: llm` entries of
// routing.signals.classifiers: it asks an external OpenAI-compatible chat
// endpoint to pick one of a classifier's labels for the user's latest turn,
// parses the answer, turns it into per-label scores and caches results for
// a short, bounded time.
//
// Scores: the chosen label scores its confidence (1 when the answer gives
// none); the remaining 1 − confidence is spread evenly over the other
// labels (so a two-label classifier answering SAFE at 0.8 scores RISKY
// 0.2). Decisions compare these scores with their predicates.
package llmlabel

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrUnparsable is wrapped by Parse when an answer names no allowed label.
var ErrUnparsable = errors.New("unparsable classifier answer")

// Answer is a parsed classifier answer.
type Answer struct {
	Label      string  // one of the classifier's labels, as configured
	Confidence float64 // in [0,1]
}

// Parse reads an answer: a JSON object {"label": ..., "confidence": ...}
// (optionally inside a ``` fence), or a bare label. Labels match case
// insensitively and come back spelled as configured; a missing confidence
// is 1.
func Parse(content string, labels []string) (Answer, error) {
	s := strings.TrimSpace(content)
	if strings.HasPrefix(s, "```") {
		s = strings.TrimPrefix(s, "```")
		if nl := strings.IndexByte(s, '\n'); nl >= 0 && !strings.HasPrefix(strings.TrimSpace(s[:nl]), "{") {
			s = s[nl+1:] // language tag such as "json"
		}
		s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "```"))
	}
	if strings.HasPrefix(s, "{") {
		var raw struct {
			Label      string   `json:"label"`
			Confidence *float64 `json:"confidence"`
		}
		if err := json.Unmarshal([]byte(s), &raw); err != nil {
			return Answer{}, fmt.Errorf("%w: decode JSON: %w", ErrUnparsable, err)
		}
		l, ok := canonical(raw.Label, labels)
		if !ok {
			return Answer{}, fmt.Errorf("%w: label %q is not one of %v", ErrUnparsable, raw.Label, labels)
		}
		a := Answer{Label: l, Confidence: 1}
		if raw.Confidence != nil {
			a.Confidence = *raw.Confidence
		}
		if !(a.Confidence >= 0 && a.Confidence <= 1) {
			return Answer{}, fmt.Errorf("%w: confidence %v is outside [0,1]", ErrUnparsable, a.Confidence)
		}
		return a, nil
	}
	bare := strings.Trim(s, " \t\r\n\"'`.")
	if l, ok := canonical(bare, labels); ok {
		return Answer{Label: l, Confidence: 1}, nil
	}
	return Answer{}, fmt.Errorf("%w: %q names none of %v", ErrUnparsable, truncate(s, 80), labels)
}

func canonical(s string, labels []string) (string, bool) {
	s = strings.TrimSpace(s)
	for _, l := range labels {
		if strings.EqualFold(s, l) {
			return l, true
		}
	}
	return "", false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Score is the score of label given answer a over labels (see the package
// documentation).
func Score(labels []string, a Answer, label string) float64 {
	if label == a.Label {
		return a.Confidence
	}
	if len(labels) < 2 {
		return 0
	}
	return (1 - a.Confidence) / float64(len(labels)-1)
}
