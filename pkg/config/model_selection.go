package config

import (
	"os"
	"path/filepath"
	"strings"
)

// ML selection YAML paths.
const (
	pathML            = "global.router.model_selection.ml"
	PathKNNPretrained = pathML + ".knn.pretrained_path"
	PathKNNK          = pathML + ".knn.k"
	PathMLEmbedDim    = pathML + ".embedding_dim"
	PathQualityGap    = "global.router.model_selection.hybrid.quality_gap_threshold"
)

// MLSettings returns `global.router.model_selection.ml`, or nil.
func (c *Config) MLSettings() *MLSelection {
	if ms := c.Global.Router.ModelSelection; ms != nil {
		return ms.ML
	}
	return nil
}

// QualityGap returns `global.router.model_selection.hybrid.quality_gap_threshold`
// and whether it is set (a non-zero value).
func (c *Config) QualityGap() (float64, bool) {
	ms := c.Global.Router.ModelSelection
	if ms == nil || ms.Hybrid == nil || ms.Hybrid.QualityGapThreshold == 0 {
		return 0, false
	}
	return ms.Hybrid.QualityGapThreshold, true
}

// KNNPretrainedPath resolves `ml.knn.pretrained_path`: "" when unset; an
// absolute path as written; a relative one against, in order, the folder
// of the config file (when the config was loaded from a file) and
// `ml.models_path` (itself relative to that folder), the first that
// exists. tried lists every location considered.
func (c *Config) KNNPretrainedPath() (path string, tried []string) {
	ml := c.MLSettings()
	if ml == nil || ml.KNN == nil || ml.KNN.PretrainedPath == "" {
		return "", nil
	}
	p := ml.KNN.PretrainedPath
	if filepath.IsAbs(p) {
		return p, []string{p}
	}
	base := c.fileDir()
	tried = append(tried, filepath.Join(base, p))
	if ml.ModelsPath != "" {
		mp := ml.ModelsPath
		if !filepath.IsAbs(mp) {
			mp = filepath.Join(base, mp)
		}
		tried = append(tried, filepath.Join(mp, p))
	}
	for _, t := range tried {
		if _, err := os.Stat(t); err == nil {
			return t, tried
		}
	}
	return tried[0], tried
}

// fileDir is the folder of the file the config was loaded from, or "" (the
// working directory) when it was not loaded from a file.
func (c *Config) fileDir() string {
	if c.source == "" {
		return ""
	}
	if st, err := os.Stat(c.source); err == nil && st.Mode().IsRegular() {
		return filepath.Dir(c.source)
	}
	return ""
}

// AnyDecision reports whether a decision of the default routing or of a
// recipe satisfies match.
func (c *Config) AnyDecision(match func(*Decision) bool) bool {
	for i := range c.Routing.Decisions {
		if match(&c.Routing.Decisions[i]) {
			return true
		}
	}
	for r := range c.Recipes {
		ds := c.Recipes[r].Routing.Decisions
		for i := range ds {
			if match(&ds[i]) {
				return true
			}
		}
	}
	return false
}

// ChoosesWithKNN reports whether d selects among two or more modelRefs
// with knn (one modelRef needs no pretrained data).
func (d *Decision) ChoosesWithKNN() bool {
	return d.Algorithm != nil && d.Algorithm.Type == "knn" && len(d.ModelRefs) > 1
}

// SelectsByEmbedding reports whether d picks among two or more modelRefs
// from the query embedding (the knn and router_dc algorithms, and hybrid
// unless its block weighs neither experience nor router_dc), which the
// classifier can only do when the gateway sends one.
func (d *Decision) SelectsByEmbedding() bool {
	if d.Algorithm == nil || len(d.ModelRefs) < 2 {
		return false
	}
	return d.Algorithm.Type == "knn" || d.Algorithm.Type == "router_dc" || d.Algorithm.Type == "hybrid" && d.hybridNeedsQuery()
}

// validateModelSelection checks the ml block knn reads. The pretrained
// file is looked up only when a knn decision has a choice to make.
func (v *validator) validateModelSelection() {
	ml := v.cfg.MLSettings()
	if ml == nil {
		return
	}
	if ml.EmbeddingDim < 0 {
		v.errorf(PathMLEmbedDim, "must not be negative, got %d", ml.EmbeddingDim)
	}
	if ml.KNN == nil {
		return
	}
	if ml.KNN.K < 0 {
		v.errorf(PathKNNK, "must not be negative, got %d (0 uses the pretrained file's)", ml.KNN.K)
	}
	if ml.KNN.PretrainedPath == "" || !v.cfg.AnyDecision((*Decision).ChoosesWithKNN) {
		return
	}
	path, tried := v.cfg.KNNPretrainedPath()
	st, err := os.Stat(path)
	switch {
	case err != nil && len(tried) > 1:
		v.errorf(PathKNNPretrained, "pretrained knn file %q not found (tried %s); build one with `semrouter train selection`", ml.KNN.PretrainedPath, strings.Join(tried, ", "))
	case err != nil:
		v.errorf(PathKNNPretrained, "pretrained knn file %q not found (%s); build one with `semrouter train selection`", ml.KNN.PretrainedPath, path)
	case !st.Mode().IsRegular():
		v.errorf(PathKNNPretrained, "pretrained knn file %q is not a regular file; build one with `semrouter train selection`", path)
	}
}
