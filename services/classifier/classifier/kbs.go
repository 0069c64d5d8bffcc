package classifier

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/classifier/kb"
)

// kbSet is the knowledge bases a revision uses (those kb rules or
// kb_metric projection inputs name), loaded from disk before the one
// batched embedding call and built after it.
type kbSet struct {
	byName map[string]*kbEntry
	// metricNames are the knowledge bases whose metrics projections read;
	// every profile scores them.
	metricNames []string
}

type kbEntry struct {
	index int // in global.model_catalog.kbs
	def   *config.KnowledgeBase
	src   *kb.Source
	base  *kb.Base // nil until built, or when it could not be
}

// usedKBs lists the knowledge bases named by kb rules (any profile) and
// by kb_metric inputs (any routing block), and separately the latter.
func usedKBs(cfg *config.Config) (used map[string]bool, metrics []string) {
	used = map[string]bool{}
	seen := map[string]bool{}
	visit := func(r *config.Routing) {
		for _, x := range r.Signals.KB {
			used[x.KB] = true
		}
		for _, s := range r.Projections.Scores {
			for _, in := range s.Inputs {
				if in.Type == "kb_metric" && in.KB != "" {
					used[in.KB] = true
					if !seen[in.KB] {
						seen[in.KB] = true
						metrics = append(metrics, in.KB)
					}
				}
			}
		}
	}
	visit(&cfg.Routing)
	for i := range cfg.Recipes {
		visit(&cfg.Recipes[i].Routing)
	}
	return used, metrics
}

// loadKBs reads every used knowledge base and adds its examples to texts.
// A knowledge base that cannot be read rejects the revision: the problem
// names its YAML path.
func loadKBs(cfg *config.Config, o *options, texts *textSet, probs *problems) *kbSet {
	used, metrics := usedKBs(cfg)
	ks := &kbSet{byName: map[string]*kbEntry{}, metricNames: metrics}
	for i := range cfg.Global.ModelCatalog.KBs {
		def := &cfg.Global.ModelCatalog.KBs[i]
		if !used[def.Name] {
			continue
		}
		path := config.KBPath(i)
		if def.Source == nil || def.Source.Path == "" {
			probs.add(path+".source.path", errors.New("required: the knowledge base directory"))
			continue
		}
		dir := kbDir(cfg, def, o.kbDir)
		src, err := kb.Load(dir, def.Source.Manifest)
		if err != nil {
			probs.add(path+".source", fmt.Errorf("load knowledge base %q: %w", def.Name, err))
			continue
		}
		for _, x := range src.Texts() {
			texts.add(x)
		}
		ks.byName[def.Name] = &kbEntry{index: i, def: def, src: src}
		o.logger.Debug("knowledge base loaded", slog.String("kb", def.Name), slog.String("dir", dir), slog.Int("labels", len(src.Labels)))
	}
	return ks
}

// kbDir resolves a knowledge base's directory: absolute as written; a
// relative one against base (WithKBDir) when set, else against the config
// file's folder when the config was read from a file, else the working
// directory.
func kbDir(cfg *config.Config, def *config.KnowledgeBase, base string) string {
	if base != "" && !filepath.IsAbs(def.Source.Path) {
		return filepath.Join(base, def.Source.Path)
	}
	return cfg.KBDir(def)
}

// build takes the examples' embeddings from vecs and compiles every loaded knowledge base.
// Nothing is built when the examples could not be embedded (embErr): kb
// rules then report that error.
func (ks *kbSet) build(vecs map[string][]float32, embErr error, probs *problems) {
	if embErr != nil {
		return
	}
	for name, e := range ks.byName {
		b, err := kb.New(name, e.src, kbOptions(e.def), vecs)
		if err != nil {
			path := config.KBPath(e.index)
			for _, fe := range flatten(err) {
				var f *kb.FieldError
				if errors.As(fe, &f) {
					probs.add(path+"."+f.Field, f.Err)
				} else {
					probs.add(path, fe)
				}
			}
			continue
		}
		e.base = b
	}
}

func kbOptions(def *config.KnowledgeBase) kb.Options {
	o := kb.Options{
		Threshold:       def.Threshold,
		LabelThresholds: def.LabelThresholds,
		Groups:          def.Groups,
		Prototypes:      protoOptions(def.PrototypeScoring),
	}
	if def.PrototypeScoring != nil {
		o.Margin = def.PrototypeScoring.MarginThreshold
	}
	for _, m := range def.Metrics {
		o.Metrics = append(o.Metrics, kb.Metric{Name: m.Name, Type: m.Type, Positive: m.PositiveGroup, Negative: m.NegativeGroup})
	}
	return o
}

// buildKB compiles the kb rules of one profile. Errors in rules a recipe
// inherited are reported by the top level.
func buildKB(p *profile, s *config.Signals, prefix string, ks *kbSet, embErr error, probs *problems, own *config.Signals) {
	p.hasKB = len(s.KB) > 0 || len(ks.metricNames) > 0
	if !p.hasKB {
		return
	}
	if embErr != nil {
		return
	}
	var rules []kb.Rule
	for i, x := range s.KB {
		e := ks.byName[x.KB]
		if e == nil || e.base == nil {
			// Undeclared (a validation error) or not loadable (reported
			// under global.model_catalog.kbs).
			continue
		}
		tg, err := e.base.Target(x.Target.Kind, x.Target.Value)
		if err != nil {
			if own == nil || i < len(own.KB) {
				probs.add(fmt.Sprintf("%s.kb[%d].target", prefix, i), err)
			}
			continue
		}
		rules = append(rules, kb.Rule{Name: x.Name, Base: e.base, Target: tg, Threshold: x.Match == config.KBMatchThreshold})
	}
	var extra []*kb.Base
	for _, n := range ks.metricNames {
		if e := ks.byName[n]; e != nil && e.base != nil {
			extra = append(extra, e.base)
		}
	}
	p.kb = kb.NewFamily(rules, extra...)
}
