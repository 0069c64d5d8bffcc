package kb_test

import (
	"testing"

	"github.com/semrouter/semrouter/services/classifier/kb"
)

// BenchmarkEvaluate is the per-request kb work for a query already
// embedded: score the support knowledge base (3 labels, 8 prototypes
// each), evaluate four rules (label/group × best/threshold) and the
// group_margin metric.
func BenchmarkEvaluate(b *testing.B) {
	base, q := build(b, supportOptions())
	var rules []kb.Rule
	for _, r := range []ruleSpec{{"label", "billing", false}, {"group", "support", false}, {"label", "security_incident", true}, {"group", "casual", true}} {
		tg, err := base.Target(r.kind, r.value)
		if err != nil {
			b.Fatal(err)
		}
		rules = append(rules, kb.Rule{Name: r.kind + "_" + r.value, Base: base, Target: tg, Threshold: r.threshold})
	}
	f := kb.NewFamily(rules, base)
	query := q[qBilling]
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out := f.Evaluate(query)
		if len(out.Matches) == 0 {
			b.Fatal("no match")
		}
	}
}
