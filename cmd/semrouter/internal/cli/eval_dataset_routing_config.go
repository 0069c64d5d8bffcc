package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/classifier/classifier"
	"github.com/semrouter/semrouter/services/classifier/domain"
	"github.com/semrouter/semrouter/services/classifier/heuristic"
	"github.com/semrouter/semrouter/services/classifier/jailbreak"
	"github.com/semrouter/semrouter/services/classifier/quality"
)

// configPoint is where a config's own decisions land on the cost–quality
// plane: every eval question is classified by the compiled config, and its
// selected model counts as a strong call when it is one of StrongModels.
type configPoint struct {
	Config         string         `json:"config"`
	StrongModels   []string       `json:"strong_models"`
	StrongFraction float64        `json:"strong_fraction"`
	Accuracy       float64        `json:"accuracy"`
	GapRecovered   float64        `json:"gap_recovered"`
	RandomAtSame   float64        `json:"random_accuracy_at_same_fraction"`
	Decisions      map[string]int `json:"decisions"`
	Models         map[string]int `json:"models"`
	Degraded       int            `json:"degraded_requests"`
}

// configRouting classifies the eval cases with the config compiled by the
// classifier (the same code the router runs) and scores the result.
func configRouting(ctx context.Context, env *Env, q *qualityEnv, lm *loadedModel, h *domain.Head, o evalOptions, eval []routeCase, s *routingSummary) (*configPoint, error) {
	cfg, _, err := config.Load(o.config)
	if err != nil {
		return nil, err
	}
	opts := []classifier.Option{classifier.WithLogger(env.Logger), classifier.WithDomainHead(h)}
	if q.root != "" {
		if sc, err := jailbreak.Load(jailbreak.GuardDir(q.root)); err == nil {
			opts = append(opts, classifier.WithJailbreakScorer(sc))
		}
	}
	cl, err := classifier.Compile(ctx, cfg, lm, opts...)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", o.config, err)
	}
	strong := map[string]bool{}
	p := &configPoint{Config: o.config, Decisions: map[string]int{}, Models: map[string]int{}}
	if o.configStrong != "" {
		for _, m := range strings.Split(o.configStrong, ",") {
			strong[strings.TrimSpace(m)] = true
		}
	} else {
		// every model but the default one is a strong (expensive) call
		def := cfg.Providers.Defaults.DefaultModel
		for _, m := range cfg.Providers.Models {
			if m.Name != def {
				strong[m.Name] = true
			}
		}
	}
	for m := range strong {
		p.StrongModels = append(p.StrongModels, m)
	}
	sort.Strings(p.StrongModels)
	bar := quality.NewProgress(env.Stderr, "classify with "+o.config)
	nStrong, correct := 0, 0
	for i, c := range eval {
		res, err := cl.Classify(ctx, &classifier.Request{
			Messages: []heuristic.Message{{Role: heuristic.RoleUser, Text: c.text}},
			Model:    "auto",
			Query:    c.vec,
		})
		if err != nil {
			return nil, fmt.Errorf("classify item %d: %w", i, err)
		}
		name := res.Decision
		if res.IsDefault {
			name = "(default)"
		}
		p.Decisions[name]++
		p.Models[res.Model]++
		if len(res.Degraded) > 0 {
			p.Degraded++
		}
		ok := c.weak
		if strong[res.Model] {
			nStrong++
			ok = c.strong
		}
		if ok {
			correct++
		}
		bar.Update(i+1, len(eval))
	}
	p.StrongFraction = ratioOf(nStrong, len(eval))
	p.Accuracy = ratioOf(correct, len(eval))
	p.GapRecovered = quality.GapRecovered(p.Accuracy, s.WeakAccuracy, s.StrongAcc)
	p.RandomAtSame = s.WeakAccuracy + p.StrongFraction*(s.StrongAcc-s.WeakAccuracy)
	return p, nil
}
