package config

import "sort"

// validateToolsPlugin checks a tools plugin configuration at cp.
func (v *validator) validateToolsPlugin(cp string, c *ToolsPlugin) {
	v.checkOneOf(sub(cp, "mode"), c.Mode, "passthrough", "filtered", "none")
	v.checkToolNames(sub(cp, "allow_tools"), c.AllowTools)
	v.checkToolNames(sub(cp, "block_tools"), c.BlockTools)
	block := make(map[string]bool, len(c.BlockTools))
	for _, n := range c.BlockTools {
		block[n] = true
	}
	for i, n := range c.AllowTools {
		if n != "" && block[n] {
			v.warnf(joinIndex(sub(cp, "allow_tools"), i), "tool %q is also in block_tools: block wins", n)
		}
	}
	if !c.Enabled {
		return
	}
	filtered := c.Mode == "filtered"
	if !filtered && (len(c.AllowTools) > 0 || len(c.BlockTools) > 0) {
		v.warnf(sub(cp, "mode"), "allow_tools and block_tools only apply with mode filtered; mode %s ignores them", modeName(c.Mode, "passthrough"))
	}
	if !filtered && c.SemanticSelection {
		v.warnf(sub(cp, "semantic_selection"), "only applies with mode filtered; mode %s ignores it", modeName(c.Mode, "passthrough"))
	}
	if filtered && len(c.AllowTools) == 0 && len(c.BlockTools) == 0 && !c.SemanticSelection {
		v.warnf(sub(cp, "mode"), "mode filtered without allow_tools, block_tools or semantic_selection keeps every tool")
	}
}

func (v *validator) checkToolNames(path string, names []string) {
	for i, n := range names {
		if n == "" {
			v.errorf(joinIndex(path, i), "empty tool name")
		}
	}
}

func modeName(mode, def string) string {
	if mode == "" {
		return def + " (the default)"
	}
	return mode
}

// toolSelectionMode is the effective mode: mode, or add when a tools
// database is named and filter otherwise.
func toolSelectionMode(c *ToolSelectionPlugin) string {
	switch {
	case c.Mode != "":
		return c.Mode
	case c.ToolsDBPath != "":
		return "add"
	default:
		return "filter"
	}
}

// validateToolSelectionPlugin checks a tool_selection plugin configuration
// at cp. The tools database file itself is read by the gateway when it
// applies the revision (a missing or invalid file rejects the revision
// there, with this plugin's YAML path).
func (v *validator) validateToolSelectionPlugin(cp string, c *ToolSelectionPlugin) {
	v.checkOneOf(sub(cp, "mode"), c.Mode, "add", "filter")
	v.checkUnit(sub(cp, "similarity_threshold"), c.SimilarityThreshold)
	v.checkUnit(sub(cp, "relevance_threshold"), c.RelevanceThreshold)
	if c.TopK < 0 {
		v.errorf(sub(cp, "top_k"), "must not be negative, got %d (0 adds up to 5)", c.TopK)
	}
	if c.PreserveCount < 0 {
		v.errorf(sub(cp, "preserve_count"), "must not be negative, got %d", c.PreserveCount)
	}
	v.checkKnown(sub(cp, "strategy"), c.Strategy, "default")
	if af := c.AdvancedFiltering; af != nil {
		v.validateAdvancedFiltering(sub(cp, "advanced_filtering"), af)
	}
	if !c.Enabled {
		return
	}
	switch toolSelectionMode(c) {
	case "add":
		if c.ToolsDBPath == "" {
			v.errorf(sub(cp, "tools_db_path"), "required with mode add: the JSON tools database to add tools from")
		}
		if c.RelevanceThreshold != 0 {
			v.warnf(sub(cp, "relevance_threshold"), "only applies with mode filter; mode add uses similarity_threshold")
		}
		if c.PreserveCount != 0 {
			v.warnf(sub(cp, "preserve_count"), "only applies with mode filter")
		}
	case "filter":
		if c.ToolsDBPath != "" {
			v.warnf(sub(cp, "tools_db_path"), "only applies with mode add; mode filter only filters the request's tools")
		}
		if c.TopK != 0 {
			v.warnf(sub(cp, "top_k"), "only applies with mode add")
		}
		if c.SimilarityThreshold != 0 {
			v.warnf(sub(cp, "similarity_threshold"), "only applies with mode add; mode filter uses relevance_threshold")
		}
	}
}

// validateAdvancedFiltering checks the advanced_filtering block of a
// tool_selection plugin; the parts semrouter does not act on are warned
// about.
func (v *validator) validateAdvancedFiltering(ap string, af *AdvancedFiltering) {
	if af.CandidatePoolSize < 0 {
		v.errorf(sub(ap, "candidate_pool_size"), "must not be negative, got %d", af.CandidatePoolSize)
	}
	if af.MinLexicalOverlap < 0 {
		v.errorf(sub(ap, "min_lexical_overlap"), "must not be negative, got %d", af.MinLexicalOverlap)
	}
	v.checkUnit(sub(ap, "min_combined_score"), af.MinCombinedScore)
	v.checkUnit(sub(ap, "category_confidence_threshold"), af.CategoryConfidenceThreshold)
	v.checkKnown(sub(ap, "retrieval_strategy"), af.RetrievalStrategy, "weighted")
	v.checkToolNames(sub(ap, "allow_tools"), af.AllowTools)
	v.checkToolNames(sub(ap, "block_tools"), af.BlockTools)
	names := make([]string, 0, len(af.Weights))
	for k := range af.Weights {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		wp := sub(sub(ap, "weights"), k)
		switch k {
		case "embed", "lexical", "tag", "name", "category":
			v.checkNonNegative(wp, af.Weights[k])
		default:
			v.warnf(wp, "unknown weight %q (known: embed, lexical, tag, name, category); ignored", k)
		}
	}
	if af.UseCategoryFilter {
		v.warnf(sub(ap, "use_category_filter"), "semrouter does not filter tools by the request's category; ignored")
	}
	if af.HybridHistory != nil {
		v.warnf(sub(ap, "hybrid_history"), "semrouter does not score tools by the conversation's tool history; ignored")
	}
}
