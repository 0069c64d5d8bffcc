// Package sticky keeps a conversation on the model it started with
// (global.router.learning.protection): switching models in the middle of a
// multi-turn chat hurts coherence and throws away the backend's prompt
// (KV) cache. It derives a conversation key (key.go), remembers the model
// a conversation is pinned to in a store (memory.go, redis.go), and decides
// per turn whether the pin holds (Decide).
package sticky

import (
	"context"
	"errors"
	"time"
)

// Outcome is what Decide did with a conversation's pin; its String is the
// x-vsr-sticky header value and the metric label.
type Outcome uint8

// Outcomes.
const (
	// New: no usable pin (first turn, idle expiry, or the decision
	// changed): the classifier's choice is pinned.
	New Outcome = iota + 1
	// Pinned: the pinned model serves the turn.
	Pinned
	// Switched: the pin moved to the classifier's choice (the pinned
	// model cannot take the request, or the choice scored better by more
	// than the margin once the pin held its minimum turns).
	Switched
)

func (o Outcome) String() string {
	switch o {
	case New:
		return "new"
	case Pinned:
		return "pinned"
	case Switched:
		return "switched"
	}
	return ""
}

// Pin is a conversation's model.
type Pin struct {
	// Decision is the routing decision the pin was made under (a
	// different decision, a topic change, re-pins).
	Decision string `json:"d"`
	Model    string `json:"m"`
	// Turns counts the turns the pinned model served since it was
	// pinned (the pinning turn included).
	Turns int `json:"t"`
	// LastUsed is when the pin last served a turn (Unix milliseconds).
	LastUsed int64 `json:"u"`
}

// Store keeps pins by conversation key. Implementations are safe for
// concurrent use; a key that is absent or expired is (Pin{}, false, nil).
type Store interface {
	Get(ctx context.Context, key string) (Pin, bool, error)
	Put(ctx context.Context, key string, p Pin) error
}

// ErrStore wraps the errors of a store that could not be reached: the
// gateway then routes without stickiness (and counts it).
var ErrStore = errors.New("sticky state store unavailable")

// Policy is the tuning of global.router.learning.protection.tuning.
type Policy struct {
	// IdleTimeout ends a pin that served no turn for that long (0: never).
	IdleTimeout time.Duration
	// MinTurns: a pin serves at least this many turns (the pinning turn
	// included) before a better-scored choice may replace it.
	MinTurns int
	// SwitchMargin × StabilityWeight is the score advantage a choice needs
	// over the pinned model to replace it.
	SwitchMargin    float64
	StabilityWeight float64
}

// Turn is what the router knows about one turn.
type Turn struct {
	// Decision is the matched decision's name.
	Decision string
	// Choice is the model the classifier selected, after the request's
	// constraints (context window, modality) were applied.
	Choice string
	// Candidates are the decision's models that can take the request.
	Candidates []string
	// Scores are the selection algorithm's per-model scores (higher is
	// better; nil when the algorithm has none).
	Scores map[string]float64
}

// Decide applies the policy to a turn: prev is the conversation's pin
// (found false: none). It returns the model to serve and the pin to
// store.
//
// Semantics, in order:
//   - no pin, a pin idle for longer than IdleTimeout, or a pin made under
//     another decision: New, the choice is pinned;
//   - the pinned model is no candidate of the turn (the decision dropped
//     it, or the request's constraints rule it out): Switched to the
//     choice;
//   - the choice is the pinned model, or the pin served fewer than
//     MinTurns turns: Pinned;
//   - both models have a score and the choice's exceeds the pinned
//     model's by more than SwitchMargin × StabilityWeight: Switched;
//   - otherwise (no scores: nothing says the choice is better): Pinned.
func (p *Policy) Decide(prev Pin, found bool, now time.Time, t *Turn) (string, Outcome, Pin) {
	ms := now.UnixMilli()
	fresh := Pin{Decision: t.Decision, Model: t.Choice, Turns: 1, LastUsed: ms}
	if !found || prev.Decision != t.Decision || prev.Model == "" ||
		p.IdleTimeout > 0 && ms-prev.LastUsed > p.IdleTimeout.Milliseconds() {
		return t.Choice, New, fresh
	}
	if !contains(t.Candidates, prev.Model) {
		return t.Choice, Switched, fresh
	}
	kept := Pin{Decision: prev.Decision, Model: prev.Model, Turns: prev.Turns + 1, LastUsed: ms}
	if t.Choice == prev.Model || prev.Turns < p.MinTurns {
		return prev.Model, Pinned, kept
	}
	chosen, ok1 := t.Scores[t.Choice]
	pinned, ok2 := t.Scores[prev.Model]
	if ok1 && ok2 && chosen-pinned > p.SwitchMargin*p.StabilityWeight {
		return t.Choice, Switched, fresh
	}
	return prev.Model, Pinned, kept
}

func contains(ss []string, s string) bool {
	for _, v := range ss {
		if v == s {
			return true
		}
	}
	return false
}
