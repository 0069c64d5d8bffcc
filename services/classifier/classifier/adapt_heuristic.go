package classifier

import (
	"reflect"
	"strings"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/classifier/heuristic"
)

// heuristicRules maps the heuristic families of one routing profile's
// signals to heuristic.Rules. md is the modality detector settings
// (global.model_catalog.modules.modality_detector), may be nil.
func heuristicRules(s *config.Signals, md *config.ModalityDetection) heuristic.Rules {
	var r heuristic.Rules
	for _, k := range s.Keywords {
		r.Keywords = append(r.Keywords, heuristic.KeywordRule{
			Name: k.Name, Operator: k.Operator, Keywords: k.Keywords, CaseSensitive: k.CaseSensitive,
			Method: k.Method, FuzzyMatch: k.FuzzyMatch, FuzzyThreshold: int(k.FuzzyThreshold + 0.5),
			BM25Threshold: k.BM25Threshold, NgramThreshold: k.NgramThreshold, NgramArity: k.NgramArity,
		})
	}
	for _, st := range s.Structure {
		src := st.Feature.Source
		r.Structure = append(r.Structure, heuristic.StructureRule{
			Name: st.Name, FeatureType: st.Feature.Type, SourceType: src.Type, Pattern: src.Pattern,
			Keywords: src.Keywords, Sequences: src.Sequences, CaseSensitive: src.CaseSensitive,
			Predicate: predicate(st.Predicate),
		})
	}
	for _, c := range s.Context {
		r.Context = append(r.Context, heuristic.ContextRule{Name: c.Name, MinTokens: int(c.MinTokens.Value()), MaxTokens: int(c.MaxTokens.Value())})
	}
	for _, l := range s.Language {
		r.Language = append(r.Language, heuristic.LanguageRule{Name: l.Name, Threshold: l.Threshold})
	}
	for _, p := range s.PII {
		r.PII = append(r.PII, heuristic.PIIRule{Name: p.Name, Threshold: p.Threshold, AllowedTypes: p.PIITypesAllowed, IncludeHistory: p.IncludeHistory})
	}
	for _, j := range s.Jailbreak {
		r.Jailbreak = append(r.Jailbreak, heuristic.JailbreakRule{
			Name: j.Name, Method: jailbreakMethod(j), Threshold: j.Threshold, IncludeHistory: j.IncludeHistory,
			JailbreakPatterns: j.JailbreakPatterns, BenignPatterns: j.BenignPatterns,
		})
	}
	for _, c := range s.Conversation {
		r.Conversation = append(r.Conversation, heuristic.ConversationRule{
			Name: c.Name, FeatureType: c.Feature.Type, SourceType: c.Feature.Source.Type,
			Role: c.Feature.Source.Role, Predicate: predicate(c.Predicate),
		})
	}
	for _, m := range s.Metadata {
		mr := heuristic.MetadataRule{Name: m.Name, Key: m.Key, In: m.Predicate.In, Exists: m.Predicate.Exists}
		if m.Predicate.Equals != "" {
			eq := m.Predicate.Equals
			mr.Equals = &eq
		}
		r.Metadata = append(r.Metadata, mr)
	}
	for _, b := range s.RoleBindings {
		rb := heuristic.RoleBinding{Name: b.Name, Role: b.Role}
		for _, sub := range b.Subjects {
			rb.Subjects = append(rb.Subjects, heuristic.Subject{Kind: sub.Kind, Name: sub.Name})
		}
		r.RoleBindings = append(r.RoleBindings, rb)
	}
	for _, m := range s.Modality {
		r.Modality = append(r.Modality, heuristic.ModalityRule{Name: m.Name})
	}
	if md != nil {
		r.ModalityDetection = heuristic.ModalityDetection{
			Method: md.Method, PromptPrefixes: md.PromptPrefixes, Keywords: md.Keywords,
			BothKeywords: md.BothKeywords, ConfidenceThreshold: md.ConfidenceThreshold,
			LowerThresholdRatio: md.LowerThresholdRatio,
		}
	}
	return r
}

// jailbreakMethod maps the config's method to the heuristic family's:
// "pattern" is the pattern score alone ("contrastive"); an omitted method
// with patterns is "hybrid" (the model when one is wired, else the
// patterns); an omitted method without patterns needs the model.
func jailbreakMethod(j config.JailbreakSignal) string {
	m := strings.ToLower(strings.TrimSpace(j.Method))
	switch {
	case m == "pattern" || m == "patterns":
		return "contrastive"
	case m == "" && len(j.JailbreakPatterns) > 0:
		return "hybrid"
	}
	return j.Method
}

func predicate(p *config.NumericPredicate) *heuristic.Predicate {
	if p == nil {
		return nil
	}
	return &heuristic.Predicate{GT: p.GT, GTE: p.GTE, LT: p.LT, LTE: p.LTE}
}

// mergeSignals returns a recipe's signals over the top-level ones: for each
// family, the recipe's own rules first (so their indices match the
// recipe's YAML), then the top-level rules whose name the recipe does not
// redefine.
func mergeSignals(top, own *config.Signals) config.Signals {
	var out config.Signals
	tv, ov, dv := reflect.ValueOf(top).Elem(), reflect.ValueOf(own).Elem(), reflect.ValueOf(&out).Elem()
	for i := 0; i < dv.NumField(); i++ {
		t, o := tv.Field(i), ov.Field(i)
		merged := reflect.MakeSlice(t.Type(), 0, t.Len()+o.Len())
		names := make(map[string]bool, o.Len())
		for j := 0; j < o.Len(); j++ {
			merged = reflect.Append(merged, o.Index(j))
			names[o.Index(j).FieldByName("Name").String()] = true
		}
		for j := 0; j < t.Len(); j++ {
			if !names[t.Index(j).FieldByName("Name").String()] {
				merged = reflect.Append(merged, t.Index(j))
			}
		}
		dv.Field(i).Set(merged)
	}
	return out
}

// familyLen returns the number of rules under the YAML key of a family.
func familyLen(s *config.Signals, key string) int {
	v := reflect.ValueOf(s).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		k, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if k == key {
			return v.Field(i).Len()
		}
	}
	return 0
}
