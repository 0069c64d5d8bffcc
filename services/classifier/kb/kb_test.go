package kb_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/kb"
	"github.com/semrouter/semrouter/services/classifier/semantic"
	"github.com/semrouter/semrouter/services/classifier/signal"
)

// The queries the tests score (USE-Lite label scores with supportOptions,
// for orientation: billing ≈ 0.63 / security 0.54 / chat 0.23; security
// ≈ 0.70; chat ≈ 0.76; unrelated: every label below 0.3).
const (
	qBilling  = "I was billed twice and want my money back"
	qSecurity = "Hackers stole my password and are logged into my account"
	qChat     = "Hey, how's it going?"
	qOther    = "What is the capital of France?"
)

var allQueries = []string{qBilling, qSecurity, qChat, qOther}

func build(t testing.TB, o kb.Options) (*kb.Base, map[string][]float32) {
	t.Helper()
	src, vecs, qs := embedded(t, allQueries...)
	b, err := kb.New("support", src, o, vecs)
	if err != nil {
		t.Fatal(err)
	}
	byText := map[string][]float32{}
	for i, q := range allQueries {
		byText[q] = qs[i]
	}
	return b, byText
}

func TestScoresPickTheRightLabel(t *testing.T) {
	b, q := build(t, supportOptions())
	for _, tc := range []struct{ query, label string }{{qBilling, "billing"}, {qSecurity, "security_incident"}, {qChat, "chit_chat"}} {
		t.Run(tc.label, func(t *testing.T) {
			s := b.LabelScores(q[tc.query])
			for l, v := range s {
				if l != tc.label && v >= s[tc.label] {
					t.Errorf("%q: %s scores %.3f ≥ %s %.3f", tc.query, l, v, tc.label, s[tc.label])
				}
			}
			g := b.GroupScores(q[tc.query])
			if g["support"] != math.Max(s["billing"], s["security_incident"]) {
				t.Errorf("group support %.3f is not its best member's score (%v)", g["support"], s)
			}
		})
	}
	for l, v := range b.LabelScores(q[qOther]) {
		if v >= 0.3 {
			t.Errorf("unrelated query scores %s %.3f ≥ threshold 0.3", l, v)
		}
	}
}

func TestPrototypeReduction(t *testing.T) {
	cases := []struct {
		name string
		opts semantic.PrototypeOptions
		want map[string]int
	}{
		{"disabled: every example", semantic.PrototypeOptions{Enabled: false, BestWeight: 0.75, TopM: 2}, map[string]int{"billing": 10, "security_incident": 10, "chit_chat": 10}},
		{"capped at max_prototypes", semantic.PrototypeOptions{Enabled: true, ClusterSimilarity: 0.99, MaxPrototypes: 3, BestWeight: 0.75, TopM: 2}, map[string]int{"billing": 3, "security_incident": 3, "chit_chat": 3}},
		{"loose clusters merge", semantic.PrototypeOptions{Enabled: true, ClusterSimilarity: 0.01, MaxPrototypes: 8, BestWeight: 0.75, TopM: 2}, map[string]int{"billing": 1, "security_incident": 1, "chit_chat": 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := supportOptions()
			o.Prototypes = tc.opts
			b, q := build(t, o)
			for l, n := range tc.want {
				if got := b.Prototypes(l); got != n {
					t.Errorf("%s: %d prototypes, want %d", l, got, n)
				}
			}
			// Reduced or not, the billing query is still billing.
			s := b.LabelScores(q[qBilling])
			if s["billing"] <= s["security_incident"] || s["billing"] <= s["chit_chat"] {
				t.Errorf("billing query scores %v", s)
			}
		})
	}
}

func TestScoringFormula(t *testing.T) {
	// best_weight 1 is the best prototype alone; best_weight 0 with top_m
	// 1 is the same; best_weight 0 with top_m 3 is the mean of three,
	// which is lower.
	score := func(w float64, m int) float64 {
		o := supportOptions()
		o.Prototypes = semantic.PrototypeOptions{Enabled: false, BestWeight: w, TopM: m}
		b, q := build(t, o)
		return b.LabelScores(q[qBilling])["billing"]
	}
	best := score(1, 2)
	if got := score(0.000001, 1); math.Abs(got-best) > 1e-6 {
		t.Errorf("top_m 1: %.6f, want the best %.6f", got, best)
	}
	mean3 := score(0.000001, 3)
	if mean3 >= best {
		t.Errorf("mean of top 3 %.4f not below the best %.4f", mean3, best)
	}
	half := score(0.5, 3)
	if want := 0.5*best + 0.5*mean3; math.Abs(half-want) > 1e-4 {
		t.Errorf("best_weight 0.5: %.5f, want %.5f", half, want)
	}
}

type ruleSpec struct {
	kind, value string
	threshold   bool
}

func TestRules(t *testing.T) {
	cases := []struct {
		name   string
		rule   ruleSpec
		opts   func(*kb.Options)
		query  string
		match  bool
		target string // label or group whose score the rule reports
	}{
		{name: "label best matches", rule: ruleSpec{"label", "billing", false}, query: qBilling, match: true},
		{name: "label best other label", rule: ruleSpec{"label", "billing", false}, query: qSecurity},
		{name: "label best nothing passes", rule: ruleSpec{"label", "chit_chat", false}, query: qOther},
		{name: "group best single member", rule: ruleSpec{"group", "risk", false}, query: qSecurity, match: true},
		{name: "group best any member", rule: ruleSpec{"group", "support", false}, query: qBilling, match: true},
		{name: "group best other member", rule: ruleSpec{"group", "support", false}, query: qSecurity, match: true},
		{name: "group best not in group", rule: ruleSpec{"group", "support", false}, query: qChat},
		{name: "label threshold reached", rule: ruleSpec{"label", "security_incident", true}, query: qBilling, match: true},
		{name: "label threshold missed", rule: ruleSpec{"label", "security_incident", true}, query: qChat},
		{name: "group threshold reached", rule: ruleSpec{"group", "risk", true}, query: qSecurity, match: true},
		{name: "group threshold missed", rule: ruleSpec{"group", "casual", true}, query: qOther},
		{
			name: "label_thresholds raise one label", rule: ruleSpec{"label", "billing", true}, query: qBilling,
			opts: func(o *kb.Options) { o.LabelThresholds = map[string]float64{"billing": 0.95} },
		},
		{
			name: "label_thresholds hand best to the runner-up", rule: ruleSpec{"label", "security_incident", false}, query: qBilling, match: true,
			opts: func(o *kb.Options) { o.LabelThresholds = map[string]float64{"billing": 0.95} },
		},
		{
			name: "label_thresholds lower one label", rule: ruleSpec{"label", "chit_chat", true}, query: qOther, match: true,
			opts: func(o *kb.Options) { o.LabelThresholds = map[string]float64{"chit_chat": 0.1} },
		},
		{
			name: "margin not reached", rule: ruleSpec{"label", "billing", false}, query: qBilling,
			opts: func(o *kb.Options) { o.Margin = 0.3 },
		},
		{
			name: "margin reached", rule: ruleSpec{"label", "chit_chat", false}, query: qChat, match: true,
			opts: func(o *kb.Options) { o.Margin = 0.3 },
		},
		{
			name: "margin ignores labels of the target group", rule: ruleSpec{"group", "support", false}, query: qBilling, match: true,
			opts: func(o *kb.Options) { o.Margin = 0.3 },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := supportOptions()
			if tc.opts != nil {
				tc.opts(&o)
			}
			b, q := build(t, o)
			target, err := b.Target(tc.rule.kind, tc.rule.value)
			if err != nil {
				t.Fatal(err)
			}
			f := kb.NewFamily([]kb.Rule{{Name: "r", Base: b, Target: target, Threshold: tc.rule.threshold}})
			out := f.Evaluate(q[tc.query])
			if out.Err != nil {
				t.Fatal(out.Err)
			}
			want := b.LabelScores(q[tc.query])[tc.rule.value]
			if tc.rule.kind == "group" {
				want = b.GroupScores(q[tc.query])[tc.rule.value]
			}
			set := signal.NewSet(out)
			m, matched := set.Lookup(signal.KB, "r")
			if matched != tc.match {
				t.Fatalf("matched = %v, want %v (labels %v)", matched, tc.match, b.LabelScores(q[tc.query]))
			}
			v, ok := set.Score(signal.KB, "r")
			if !ok || math.Abs(v-want) > 1e-9 {
				t.Errorf("value %.4f (%v), want the target's score %.4f", v, ok, want)
			}
			if matched && math.Abs(m.Confidence-want) > 1e-9 {
				t.Errorf("confidence %.4f, want %.4f", m.Confidence, want)
			}
		})
	}
}

func TestMetricGroupMargin(t *testing.T) {
	b, q := build(t, supportOptions())
	f := kb.NewFamily(nil, b)
	for _, tc := range []struct {
		query    string
		positive bool
	}{{qBilling, true}, {qSecurity, true}, {qChat, false}} {
		out := f.Evaluate(q[tc.query])
		v, ok := out.Scores["support:support_vs_casual"]
		if !ok {
			t.Fatalf("metric missing: %v", out.Scores)
		}
		g := b.GroupScores(q[tc.query])
		if want := g["support"] - g["casual"]; math.Abs(v-want) > 1e-9 {
			t.Errorf("%q: metric %.4f, want %.4f", tc.query, v, want)
		}
		if (v > 0) != tc.positive {
			t.Errorf("%q: metric %.4f has the wrong sign", tc.query, v)
		}
	}
}

func TestNewReportsUnknownLabels(t *testing.T) {
	src, vecs, _ := embedded(t)
	o := supportOptions()
	o.Groups["broken"] = []string{"billing", "refunds"}
	o.LabelThresholds = map[string]float64{"payments": 0.5}
	o.Metrics = append(o.Metrics, kb.Metric{Name: "m", Type: kb.GroupMargin, Positive: "money", Negative: "nope"})
	_, err := kb.New("support", src, o, vecs)
	if err == nil {
		t.Fatal("New accepted unknown labels")
	}
	fields := map[string]string{}
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *kb.FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("not a FieldError: %v", e)
		}
		fields[fe.Field] = fe.Err.Error()
	}
	for field, msg := range map[string]string{
		"groups.broken":             `label "refunds" is not in the knowledge base (known: billing, chit_chat, security_incident)`,
		"label_thresholds.payments": `label "payments"`,
		"metrics[1].negative_group": `group "nope"`,
	} {
		if !strings.Contains(fields[field], msg) {
			t.Errorf("%s: %q, want it to mention %q (all: %v)", field, fields[field], msg, fields)
		}
	}
}

func TestTargetErrors(t *testing.T) {
	src, vecs, q := embedded(t, qBilling)
	b, err := kb.New("support", src, supportOptions(), vecs)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ kind, value, want string }{
		{"label", "refunds", `label "refunds" is not in knowledge base "support"`},
		{"group", "nope", `group "nope" is not defined`},
		{"cluster", "billing", "unknown target kind"},
	} {
		if _, err := b.Target(tc.kind, tc.value); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Target(%s, %s) = %v, want %q", tc.kind, tc.value, err, tc.want)
		}
	}
	// A query of another dimension is an error, not a score.
	out := kb.NewFamily(nil, b).Evaluate(q[0][:10])
	if out.Err == nil {
		t.Error("short query scored")
	}
}
