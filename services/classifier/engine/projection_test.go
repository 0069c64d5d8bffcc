package engine

import (
	"math"
	"slices"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

func hits(res Result) map[string]float64 {
	out := map[string]float64{}
	for _, h := range res.Projections {
		out[h.Name] = h.Confidence
	}
	return out
}

func TestPartitions(t *testing.T) {
	emb := func(name string) Rule { return leafRule(signal.Embedding, name) }
	decisions := []Decision{
		{Name: "tech", Priority: 3, Rules: emb("tech"), ModelRefs: refs("m-tech")},
		{Name: "account", Priority: 2, Rules: emb("account"), ModelRefs: refs("m-account")},
		{Name: "billing", Priority: 1, Rules: emb("billing"), ModelRefs: refs("m-billing")},
	}
	exclusive := Partition{Name: "intents", Semantics: "exclusive", Members: []string{"tech", "account", "billing"}, Default: "billing"}
	softmax := Partition{Name: "intents", Semantics: "softmax_exclusive", Temperature: 0.5, Members: []string{"tech", "account", "billing"}}
	scores := func(tech, account, billing float64) signal.Outcome {
		return signal.Outcome{Family: signal.Embedding, Scores: map[string]float64{"tech": tech, "account": account, "billing": billing}}
	}
	tests := []struct {
		name     string
		part     Partition
		outcomes []signal.Outcome
		want     string  // decision
		wantConf float64 // winner confidence
	}{
		{
			name: "exclusive keeps only the best member",
			part: exclusive,
			outcomes: []signal.Outcome{{Family: signal.Embedding, Matches: []signal.Match{
				{Name: "tech", Confidence: 0.76}, {Name: "account", Confidence: 0.91},
			}}},
			// tech has the higher priority but lost the partition.
			want: "account", wantConf: 0.91,
		},
		{
			name:     "no member matched: default member at confidence 0",
			part:     exclusive,
			outcomes: []signal.Outcome{scores(0.3, 0.2, 0.1)},
			want:     "billing", wantConf: 0,
		},
		{
			name: "softmax winner confidence is its probability",
			part: softmax,
			outcomes: []signal.Outcome{{Family: signal.Embedding,
				Matches: []signal.Match{{Name: "tech", Confidence: 0.9}, {Name: "account", Confidence: 0.8}},
				Scores:  map[string]float64{"billing": 0.1}}},
			want: "tech",
			wantConf: math.Exp(0.9/0.5) /
				(math.Exp(0.9/0.5) + math.Exp(0.8/0.5) + math.Exp(0.1/0.5)),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := compileT(t, Spec{Routing: Routing{
				Projections: Projections{Partitions: []Partition{tc.part}},
				Decisions:   decisions,
			}})
			res := evalT(t, e, Request{}, tc.outcomes...)
			if res.Decision != tc.want {
				t.Fatalf("decision = %q, want %q", res.Decision, tc.want)
			}
			if !near(res.Confidence, tc.wantConf) {
				t.Fatalf("confidence = %v, want %v", res.Confidence, tc.wantConf)
			}
			if got := hits(res); len(got) != 1 || !near(got[tc.want], tc.wantConf) {
				t.Fatalf("projection hits = %v, want only %s", got, tc.want)
			}
		})
	}

	t.Run("softmax temperature sharpens the winner", func(t *testing.T) {
		conf := func(temp float64) float64 {
			p := softmax
			p.Temperature = temp
			e := compileT(t, Spec{Routing: Routing{Projections: Projections{Partitions: []Partition{p}}, Decisions: decisions}})
			res := evalT(t, e, Request{}, signal.Outcome{Family: signal.Embedding,
				Matches: []signal.Match{{Name: "tech", Confidence: 0.9}, {Name: "account", Confidence: 0.8}}})
			return res.Confidence
		}
		hot, cold := conf(5), conf(0.05)
		if !(cold > 0.85 && hot < 0.4 && cold > hot) {
			t.Fatalf("confidence at t=0.05 %v, at t=5 %v: want sharp vs flat", cold, hot)
		}
	})
	t.Run("failed family makes every member unknown", func(t *testing.T) {
		e := compileT(t, Spec{Routing: Routing{Projections: Projections{Partitions: []Partition{exclusive}}, Decisions: decisions}})
		res := evalT(t, e, Request{}, failed(signal.Embedding))
		if res.Matched {
			t.Fatalf("decision %q matched on a failed family; the default member must not stand in", res.Decision)
		}
	})
}

func TestScoresAndMappings(t *testing.T) {
	difficulty := Score{Name: "difficulty", Method: "weighted_sum", Inputs: []ScoreInput{
		{Type: "embedding", Name: "tech", Weight: 0.5, ValueSource: "confidence"},
		{Type: "embedding", Name: "account", Weight: -0.25, ValueSource: "confidence"},
		{Type: "complexity", Name: "needs_reasoning:hard", Weight: 0.4},
		{Type: "context", Name: "long_context", Weight: 0.2, Match: ptr(0.5), Miss: -0.1},
		{Type: "kb_metric", KB: "privacy_kb", Metric: "private_vs_public", Weight: 1},
		{Type: "keyword", Name: "kw_a", Weight: 0.1, ValueSource: "raw"},
	}}
	bands := func(method string, cal *Calibration) Mapping {
		return Mapping{Name: "band", Source: "difficulty", Method: method, Calibration: cal, Outputs: []Band{
			{Name: "easy", LT: ptr(0.3)},
			{Name: "medium", GTE: ptr(0.2), LT: ptr(0.7)},
			{Name: "hard", GTE: ptr(0.5)},
		}}
	}
	base := []signal.Outcome{
		{Family: signal.Embedding, Matches: []signal.Match{{Name: "tech", Confidence: 0.8}, {Name: "account", Confidence: 0.4}}},
		match(signal.Complexity, "needs_reasoning:hard", 0.7),
		{Family: signal.Context},
		{Family: signal.KB, Scores: map[string]float64{"privacy_kb:private_vs_public": 0.05}},
		{Family: signal.Keyword, Scores: map[string]float64{"kw_a": 2}},
	}
	// 0.5*0.8 - 0.25*0.4 + 0.4*1 + 0.2*(-0.1) + 1*0.05 + 0.1*2 = 0.93
	const wantScore = 0.93
	tests := []struct {
		name    string
		mapping Mapping
		extra   []signal.Outcome
		score   float64
		want    map[string]float64
	}{
		{"threshold_bands emits the first matching band", bands("threshold_bands", nil), nil, wantScore,
			map[string]float64{"hard": 1 / (1 + math.Exp(-12*0.43))}},
		{"sigmoid slope from calibration", bands("", &Calibration{Method: "sigmoid_distance", Slope: 2}), nil, wantScore,
			map[string]float64{"hard": 1 / (1 + math.Exp(-2*0.43))}},
		{"multi_emit emits every band that holds", bands("multi_emit", nil),
			// tech 0.2 → 0.1, account −0.1, hard 0.4, long_context matched 0.2×0.5, kb 0.05, no kw_a → 0.55
			[]signal.Outcome{match(signal.Context, "long_context", 1), {Family: signal.Embedding, Matches: []signal.Match{{Name: "tech", Confidence: 0.2}, {Name: "account", Confidence: 0.4}}}},
			0.55,
			map[string]float64{
				"medium": 1 / (1 + math.Exp(-12*0.15)),
				"hard":   1 / (1 + math.Exp(-12*0.05)),
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := compileT(t, Spec{Routing: Routing{
				Projections: Projections{Scores: []Score{difficulty}, Mappings: []Mapping{tc.mapping}},
				Decisions: []Decision{
					{Name: "hard", Priority: 2, Rules: Rule{Type: "projection", Name: "hard"}, ModelRefs: refs("big")},
					{Name: "medium", Priority: 1, Rules: Rule{Type: "projection", Name: "medium"}, ModelRefs: refs("mid")},
				},
			}})
			outcomes := slices.Clone(base)
			// Set keeps the more confident of two matches of one rule, so the
			// multi_emit case builds its own embedding and keyword outcomes.
			if tc.extra != nil {
				outcomes = []signal.Outcome{base[1], base[3], tc.extra[0], tc.extra[1]}
			}
			res := evalT(t, e, Request{}, outcomes...)
			if len(res.Scores) != 1 || !near(res.Scores[0].Value, tc.score) {
				t.Fatalf("scores = %+v, want difficulty %v", res.Scores, tc.score)
			}
			got := hits(res)
			if len(got) != len(tc.want) {
				t.Fatalf("hits = %v, want %v", got, tc.want)
			}
			for name, conf := range tc.want {
				if !near(got[name], conf) {
					t.Fatalf("hit %s = %v, want %v (all %v)", name, got[name], conf, got)
				}
			}
		})
	}

	t.Run("negative weights can pull a score below zero", func(t *testing.T) {
		s := Score{Name: "cheap", Inputs: []ScoreInput{
			{Type: "keyword", Name: "kw_a", Weight: -1},
			{Type: "keyword", Name: "kw_b", Weight: 0.3},
		}}
		m := Mapping{Name: "m", Source: "cheap", Outputs: []Band{{Name: "negative", LT: ptr(0)}, {Name: "positive", GTE: ptr(0)}}}
		e := compileT(t, Spec{Routing: Routing{
			Projections: Projections{Scores: []Score{s}, Mappings: []Mapping{m}},
			Decisions:   []Decision{{Name: "neg", Rules: Rule{Type: "projection", Name: "negative"}, ModelRefs: refs("small")}},
		}})
		res := evalT(t, e, Request{}, match(signal.Keyword, "kw_a", 1), match(signal.Keyword, "kw_b", 1))
		if !near(res.Scores[0].Value, -0.7) || res.Decision != "neg" {
			t.Fatalf("score %v decision %q, want -0.7 and neg", res.Scores[0].Value, res.Decision)
		}
	})
	t.Run("a failed input family leaves the score unknown", func(t *testing.T) {
		e := compileT(t, Spec{Routing: Routing{
			Projections: Projections{Scores: []Score{difficulty}, Mappings: []Mapping{bands("", nil)}},
			Decisions: []Decision{{Name: "easy", Rules: Rule{Type: "projection", Name: "easy", OnUnknown: "fail_request"}, ModelRefs: refs("m")},
				{Name: "fallback", Rules: and(), ModelRefs: refs("fb")}},
		}})
		var res Result
		err := e.Evaluate(signal.NewSet(failed(signal.Embedding)), Request{}, &res)
		if err == nil {
			t.Fatalf("want fail_request error, got decision %q", res.Decision)
		}
		if !res.Scores[0].Unknown {
			t.Fatalf("score = %+v, want unknown", res.Scores[0])
		}
	})
	t.Run("a failed kb family leaves a kb_metric score unknown", func(t *testing.T) {
		s := Score{Name: "privacy", Inputs: []ScoreInput{{Type: "kb_metric", KB: "privacy_kb", Metric: "private_vs_public", Weight: 1}}}
		e := compileT(t, Spec{Routing: Routing{Projections: Projections{Scores: []Score{s}}}})
		res := evalT(t, e, Request{}, failed(signal.KB))
		if !res.Scores[0].Unknown {
			t.Fatalf("score = %+v, want unknown", res.Scores[0])
		}
		// A kb family that ran but reported no such metric reads 0.
		res = evalT(t, e, Request{}, signal.Outcome{Family: signal.KB})
		if res.Scores[0].Unknown || res.Scores[0].Value != 0 {
			t.Fatalf("score = %+v, want 0", res.Scores[0])
		}
	})
	t.Run("projection input reads an earlier score", func(t *testing.T) {
		s1 := Score{Name: "base", Inputs: []ScoreInput{{Type: "keyword", Name: "kw_a", Weight: 0.4}}}
		s2 := Score{Name: "derived", Inputs: []ScoreInput{{Type: "projection", Name: "base", Weight: 2}}}
		e := compileT(t, Spec{Routing: Routing{
			Projections: Projections{Scores: []Score{s1, s2}},
			Decisions:   []Decision{{Name: "d", Rules: Rule{Type: "projection", Name: "derived"}, ModelRefs: refs("m")}},
		}})
		res := evalT(t, e, Request{}, match(signal.Keyword, "kw_a", 1))
		if !near(res.Scores[1].Value, 0.8) || res.Decision != "d" || !near(res.Confidence, 0.8) {
			t.Fatalf("scores %+v decision %q conf %v", res.Scores, res.Decision, res.Confidence)
		}
	})
}
