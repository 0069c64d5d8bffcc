package heuristic

// referenceRules mirrors every heuristic family of
// /work/shared/upstream/reference-config.yaml (routing.signals and
// global.model_catalog.modules.modality_detector) as compiled rule structs.
func referenceRules() Rules {
	str := func(s string) *string { return &s }
	return Rules{
		Keywords: []KeywordRule{
			{Name: "code_keywords", Operator: "OR", Method: "bm25", Keywords: []string{"code", "function", "debug", "algorithm", "refactor"}, BM25Threshold: 0.1},
			{Name: "machine_learning", Operator: "OR", Method: "bm25", Keywords: []string{"machine learning", "model training", "gradient", "neural network", "classifier"}, BM25Threshold: 0.1},
			{Name: "urgent_keywords", Operator: "OR", Method: "ngram", Keywords: []string{"urgent", "immediate", "asap", "emergency"}, NgramThreshold: 0.4, NgramArity: 3},
			{Name: "fuzzy_sensitive_keywords", Operator: "OR", Method: "fuzzy", Keywords: []string{"social security", "credit card", "password", "api key"}, FuzzyMatch: true, FuzzyThreshold: 82},
		},
		Language: []LanguageRule{{Name: "zh", Threshold: 0}, {Name: "es"}},
		Context:  []ContextRule{{Name: "long_context", MinTokens: 32000, MaxTokens: 256000}},
		Structure: []StructureRule{
			{Name: "many_questions", FeatureType: "count", SourceType: "regex", Pattern: `[?？]`, Predicate: &Predicate{GTE: Ptr(4)}},
			{Name: "at_most_one_question", FeatureType: "count", SourceType: "regex", Pattern: `[?？]`, Predicate: &Predicate{LTE: Ptr(1)}},
			{Name: "numbered_steps", FeatureType: "exists", SourceType: "regex", Pattern: `(?m)^\s*\d+\.\s+`},
			{Name: "first_then_flow", FeatureType: "sequence", SourceType: "sequence", Sequences: [][]string{{"first", "then"}, {"first", "next", "finally"}, {"首先", "然后"}, {"先", "再"}}},
			{Name: "constraint_dense", FeatureType: "density", SourceType: "keyword_set", Keywords: []string{"under", "at most", "at least", "within", "no more than", "不超过", "至少", "最多"}, Predicate: &Predicate{GT: Ptr(0.08)}},
			{Name: "format_directive_dense", FeatureType: "density", SourceType: "keyword_set", Keywords: []string{"table", "bullet", "json", "markdown", "表格", "列表", "JSON"}, Predicate: &Predicate{GT: Ptr(0.08)}},
			{Name: "low_question_density", FeatureType: "density", SourceType: "regex", Pattern: `[?？]`, Predicate: &Predicate{LT: Ptr(0.05)}},
			{Name: "long_current_turn_bytes", FeatureType: "count", SourceType: "text_bytes", Predicate: &Predicate{GTE: Ptr(4000)}},
		},
		Modality: []ModalityRule{{Name: "AR"}, {Name: "DIFFUSION"}, {Name: "BOTH"}},
		ModalityDetection: ModalityDetection{
			Method:              "hybrid",
			PromptPrefixes:      []string{"generate an image of", "draw", "create a picture of"},
			Keywords:            []string{"image", "picture", "illustration"},
			BothKeywords:        []string{"explain and illustrate", "describe with an image"},
			ConfidenceThreshold: 0.7, LowerThresholdRatio: 0.7,
		},
		RoleBindings: []RoleBinding{
			{Name: "admin", Role: "admin", Subjects: []Subject{{Kind: "Group", Name: "platform-admins"}}},
			{Name: "premium_user", Role: "premium_user", Subjects: []Subject{{Kind: "Group", Name: "premium-tier"}}},
		},
		Jailbreak: []JailbreakRule{{
			Name: "prompt_injection", Method: "hybrid", Threshold: 0.8, IncludeHistory: true,
			JailbreakPatterns: []string{"ignore previous instructions", "reveal the hidden prompt", "jailbreak mode"},
			BenignPatterns:    []string{"explain the policy", "summarize the safety rules"},
		}},
		PII: []PIIRule{{Name: "restricted_pii", Threshold: 0.85, IncludeHistory: true, AllowedTypes: []string{"EMAIL_ADDRESS"}}},
		Conversation: []ConversationRule{
			{Name: "multi_turn_user", FeatureType: "count", SourceType: "message", Role: "user", Predicate: &Predicate{GTE: Ptr(2)}},
			{Name: "has_tools", FeatureType: "count", SourceType: "tool_definition", Predicate: &Predicate{GTE: Ptr(1)}},
			{Name: "active_tool_use", FeatureType: "exists", SourceType: "active_tool_loop"},
			{Name: "has_developer_msg", FeatureType: "exists", SourceType: "message", Role: "developer"},
			{Name: "heavy_non_user", FeatureType: "count", SourceType: "message", Role: "non_user", Predicate: &Predicate{GT: Ptr(5), LTE: Ptr(99)}},
			{Name: "has_images", FeatureType: "exists", SourceType: "image_content"},
		},
		Metadata: []MetadataRule{{Name: "consent_denied", Key: "consent", Equals: str("denied")}},
	}
}
