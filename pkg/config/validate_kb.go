package config

import "path/filepath"

// DefaultKBManifest is the manifest file name of a knowledge base whose
// source names none.
const DefaultKBManifest = "labels.json"

// KBGroupMargin is the knowledge-base metric type that subtracts the
// negative group's score from the positive group's.
const KBGroupMargin = "group_margin"

// KB match modes of a kb signal: best (the query's best label or group is
// the target; the default) and threshold (the target's score reaches its
// threshold).
const (
	KBMatchBest      = "best"
	KBMatchThreshold = "threshold"
)

// KBDir resolves a knowledge base's source.path: an absolute path as
// written, a relative one against the folder of the config file (when the
// config was loaded from a file) or else the working directory.
func (c *Config) KBDir(kb *KnowledgeBase) string {
	if kb == nil || kb.Source == nil {
		return ""
	}
	if filepath.IsAbs(kb.Source.Path) {
		return filepath.Clean(kb.Source.Path)
	}
	return filepath.Join(c.fileDir(), kb.Source.Path)
}

// KBPath is the YAML path of the i-th global knowledge base.
func KBPath(i int) string { return joinIndex("global.model_catalog.kbs", i) }

// validateKBs checks what can be known about the global knowledge bases
// without reading their files: names, sources, thresholds, prototype
// scoring, groups and metrics. Labels live in the files, so that group
// members, label_thresholds keys and label targets name existing labels
// is checked when the classifier loads the knowledge base.
func (v *validator) validateKBs() {
	names := map[string]string{}
	for i := range v.cfg.Global.ModelCatalog.KBs {
		kb := &v.cfg.Global.ModelCatalog.KBs[i]
		p := KBPath(i)
		if kb.Name == "" {
			v.errorf(sub(p, "name"), "required")
		} else if first, dup := names[kb.Name]; dup {
			v.errorf(sub(p, "name"), "duplicate knowledge base name %q (first at %s)", kb.Name, first)
		} else {
			names[kb.Name] = p
		}
		switch {
		case kb.Source == nil:
			v.errorf(sub(p, "source"), "required: set source.path to the knowledge base directory")
		case kb.Source.Path == "":
			v.errorf(sub(p, "source.path"), "required: the knowledge base directory")
		case kb.Source.Manifest != "" && (filepath.IsAbs(kb.Source.Manifest) || !filepath.IsLocal(kb.Source.Manifest)):
			v.errorf(sub(p, "source.manifest"), "manifest %q must be a file name inside source.path", kb.Source.Manifest)
		}
		v.checkUnit(sub(p, "threshold"), kb.Threshold)
		for _, l := range sortedKeys(kb.LabelThresholds) {
			v.checkUnit(sub(sub(p, "label_thresholds"), l), kb.LabelThresholds[l])
		}
		if ps := kb.PrototypeScoring; ps != nil {
			pp := sub(p, "prototype_scoring")
			v.checkUnit(sub(pp, "cluster_similarity_threshold"), ps.ClusterSimilarityThreshold)
			v.checkUnit(sub(pp, "best_weight"), ps.BestWeight)
			v.checkUnit(sub(pp, "margin_threshold"), ps.MarginThreshold)
			if ps.MaxPrototypes < 0 {
				v.errorf(sub(pp, "max_prototypes"), "must not be negative")
			}
			if ps.TopM < 0 {
				v.errorf(sub(pp, "top_m"), "must not be negative")
			}
		}
		for _, g := range sortedKeys(kb.Groups) {
			if len(kb.Groups[g]) == 0 {
				v.errorf(sub(sub(p, "groups"), g), "group %q lists no labels", g)
			}
		}
		metrics := map[string]bool{}
		for j, m := range kb.Metrics {
			mp := joinIndex(sub(p, "metrics"), j)
			if m.Name == "" {
				v.errorf(sub(mp, "name"), "required")
			} else if metrics[m.Name] {
				v.errorf(sub(mp, "name"), "duplicate metric name %q", m.Name)
			}
			metrics[m.Name] = true
			if m.Type == "" {
				v.errorf(sub(mp, "type"), "required (%s)", KBGroupMargin)
			} else {
				v.checkOneOf(sub(mp, "type"), m.Type, KBGroupMargin)
			}
			for _, g := range []struct{ key, name string }{{"positive_group", m.PositiveGroup}, {"negative_group", m.NegativeGroup}} {
				if g.name == "" {
					v.errorf(sub(mp, g.key), "required")
				} else if _, ok := kb.Groups[g.name]; !ok {
					v.errorf(sub(mp, g.key), "group %q is not defined in knowledge base %q%s", g.name, kb.Name, known(keys(kb.Groups)))
				}
			}
		}
	}
}
