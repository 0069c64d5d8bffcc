package heuristic

import (
	"fmt"
	"slices"
	"strings"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

// MetadataRule mirrors routing.signals.metadata[]: it tests one key of the
// request metadata. Exactly one predicate is set: Equals (the key is present
// with exactly this value), In (present with one of these values) or Exists
// (presence equals *Exists). Matches have confidence 1.
type MetadataRule struct {
	Name   string
	Key    string
	Equals *string
	In     []string
	Exists *bool
}

type metadataFamily struct{ rules []MetadataRule }

func compileMetadata(rules []MetadataRule, errs *errorList) *metadataFamily {
	names := make([]string, len(rules))
	for i, r := range rules {
		names[i] = r.Name
		p := fmt.Sprintf("metadata[%d]", i)
		if strings.TrimSpace(r.Key) == "" {
			errs.add(p+".key", r.Name, fmt.Errorf("key must not be empty"))
		}
		set := 0
		if r.Equals != nil {
			set++
		}
		if len(r.In) > 0 {
			set++
		}
		if r.Exists != nil {
			set++
		}
		if set != 1 {
			errs.add(p+".predicate", r.Name, fmt.Errorf("exactly one of equals, in, exists is required (got %d)", set))
		}
	}
	checkNames(errs, "metadata", names)
	return &metadataFamily{rules: rules}
}

func metadataMatches(r *MetadataRule, md map[string]string) bool {
	v, ok := md[r.Key]
	switch {
	case r.Equals != nil:
		return ok && v == *r.Equals
	case len(r.In) > 0:
		return ok && slices.Contains(r.In, v)
	case r.Exists != nil:
		return ok == *r.Exists
	}
	return false
}

func (f *metadataFamily) evaluate(st *evalState) signal.Outcome {
	out := signal.Outcome{Family: signal.Metadata}
	for i := range f.rules {
		r := &f.rules[i]
		if metadataMatches(r, st.req.Metadata) {
			out.Matches = append(out.Matches, signal.Match{Family: signal.Metadata, Name: r.Name, Confidence: 1, Value: 1})
		}
	}
	return out
}
