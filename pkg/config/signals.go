package config

import (
	"reflect"
	"strings"
)

// Condition types that are not signal families.
const (
	ConditionProjection = "projection"
)

// ComplexityLevels returns the levels a complexity condition names as
// "signal:level".
func ComplexityLevels() []string { return []string{"easy", "medium", "hard"} }

// SignalFamily describes one signal family of routing.signals.
type SignalFamily struct {
	// Key is the YAML key under routing.signals (e.g. "role_bindings").
	Key string
	// ConditionType is the type decisions use to reference it (e.g. "authz").
	ConditionType string
	// Implemented is false for families semrouter accepts but never
	// evaluates (their conditions never match).
	Implemented bool
	index       int
}

// conditionTypeOf maps a family key to its condition type.
func conditionTypeOf(key string) string {
	switch key {
	case "keywords":
		return "keyword"
	case "embeddings":
		return "embedding"
	case "domains":
		return "domain"
	case "user_feedbacks":
		return "user_feedback"
	case "reasks":
		return "reask"
	case "preferences":
		return "preference"
	case "role_bindings":
		return "authz"
	case "events":
		return "event"
	case "classifiers":
		return "classifier"
	}
	return key
}

// SignalFamilies lists every signal family, in schema order. Whether a
// family is implemented comes from the `sr:"signal"` tags on Signals.
func SignalFamilies() []SignalFamily {
	t := reflect.TypeFor[Signals]()
	out := make([]SignalFamily, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		out = append(out, SignalFamily{
			Key:           key,
			ConditionType: conditionTypeOf(key),
			Implemented:   f.Tag.Get("sr") != "signal",
			index:         i,
		})
	}
	return out
}

// SignalFamilyByCondition returns the family a condition type references.
func SignalFamilyByCondition(conditionType string) (SignalFamily, bool) {
	for _, f := range SignalFamilies() {
		if f.ConditionType == conditionType {
			return f, true
		}
	}
	return SignalFamily{}, false
}

// Names returns the declared signal names of a family, in order.
func (s *Signals) Names(f SignalFamily) []string {
	list := reflect.ValueOf(s).Elem().Field(f.index)
	out := make([]string, 0, list.Len())
	for i := 0; i < list.Len(); i++ {
		out = append(out, list.Index(i).FieldByName("Name").String())
	}
	return out
}

// Count returns the number of declared signals of every family.
func (s *Signals) Count() int {
	n := 0
	rv := reflect.ValueOf(s).Elem()
	for i := 0; i < rv.NumField(); i++ {
		n += rv.Field(i).Len()
	}
	return n
}
