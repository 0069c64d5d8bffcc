package config

// Default values applied by ApplyDefaults. They are exported so that
// services document and test against the same numbers.
const (
	DefaultEmbeddingTopK          = 1
	DefaultEmbeddingAggregation   = "max"
	DefaultKeywordOperator        = "OR"
	DefaultKeywordMethod          = "regex"
	DefaultNgramArity             = 3
	DefaultFuzzyThreshold         = 80.0
	DefaultMappingCalibration     = "sigmoid_distance"
	DefaultMappingSlope           = 12.0
	DefaultScoreValueSource       = "binary"
	DefaultPartitionSemantics     = "exclusive"
	DefaultReaskLookbackTurns     = 1
	DefaultJailbreakMethod        = "classifier"
	DefaultRuleOperator           = "AND"
	DefaultBackendWeight          = 1
	DefaultBackendProtocol        = "http"
	DefaultListenerAddress        = "0.0.0.0"
	DefaultManagementAPIPort      = 8080
	DefaultManagementBindAddress  = "127.0.0.1"
	DefaultRoutingStrategy        = "priority"
	DefaultCacheBackend           = "memory"
	DefaultCacheSimilarity        = 0.8
	DefaultCacheMaxEntries        = 1000
	DefaultCacheTTLSeconds        = 3600
	DefaultCacheEvictionPolicy    = "fifo"
	DefaultCachePluginMode        = "semantic"
	DefaultCachePluginScope       = "decision"
	DefaultSystemPromptMode       = "replace"
	DefaultStructurePredicateGT   = 0.0
	DefaultAlgorithmType          = "static"
	DefaultPromptGuardOnError     = "allow"
	DefaultManagementAuthMode     = "disabled"
	DefaultLatencyAwarePercentile = 95
)

// ApplyDefaults fills unset fields with their defaults, in place. It is
// the one place defaults live; it is idempotent and leaves set values
// alone. Parse calls it before Validate.
func ApplyDefaults(c *Config) {
	if c.Version == "" {
		c.Version = CanonicalVersion
	}
	for i := range c.Listeners {
		if c.Listeners[i].Address == "" {
			c.Listeners[i].Address = DefaultListenerAddress
		}
	}
	for i := range c.Providers.Models {
		m := &c.Providers.Models[i]
		for j := range m.BackendRefs {
			b := &m.BackendRefs[j]
			if b.Weight == 0 {
				b.Weight = DefaultBackendWeight
			}
			if b.Protocol == "" && b.Endpoint != "" {
				b.Protocol = DefaultBackendProtocol
			}
		}
	}
	defaultRouting(&c.Routing)
	for i := range c.Recipes {
		defaultRouting(&c.Recipes[i].Routing)
	}
	defaultGlobal(&c.Global)
}

func defaultRouting(r *Routing) {
	if r.Strategy == "" {
		r.Strategy = DefaultRoutingStrategy
	}
	s := &r.Signals
	for i := range s.Keywords {
		k := &s.Keywords[i]
		if k.Operator == "" {
			k.Operator = DefaultKeywordOperator
		}
		if k.Method == "" {
			k.Method = DefaultKeywordMethod
			if k.FuzzyMatch {
				k.Method = "fuzzy"
			}
		}
		if k.Method == "ngram" && k.NgramArity == 0 {
			k.NgramArity = DefaultNgramArity
		}
		if (k.Method == "fuzzy" || k.FuzzyMatch) && k.FuzzyThreshold == 0 {
			k.FuzzyThreshold = DefaultFuzzyThreshold
		}
	}
	for i := range s.Embeddings {
		e := &s.Embeddings[i]
		if e.TopK == 0 {
			e.TopK = DefaultEmbeddingTopK
		}
		if e.AggregationMethod == "" {
			e.AggregationMethod = DefaultEmbeddingAggregation
		}
		if e.QueryModality == "" {
			e.QueryModality = "text"
		}
	}
	for i := range s.Reasks {
		if s.Reasks[i].LookbackTurns == 0 {
			s.Reasks[i].LookbackTurns = DefaultReaskLookbackTurns
		}
	}
	for i := range s.Jailbreak {
		if s.Jailbreak[i].Method == "" {
			s.Jailbreak[i].Method = DefaultJailbreakMethod
		}
	}
	for i := range s.Structure {
		defaultPredicate(s.Structure[i].Feature.Type, &s.Structure[i].Predicate)
	}
	for i := range s.Conversation {
		defaultPredicate(s.Conversation[i].Feature.Type, &s.Conversation[i].Predicate)
	}
	for i := range s.Complexity {
		if s.Complexity[i].Composer != nil {
			defaultRule(s.Complexity[i].Composer)
		}
	}
	p := &r.Projections
	for i := range p.Partitions {
		if p.Partitions[i].Semantics == "" {
			p.Partitions[i].Semantics = DefaultPartitionSemantics
		}
	}
	for i := range p.Scores {
		for j := range p.Scores[i].Inputs {
			in := &p.Scores[i].Inputs[j]
			if in.ValueSource == "" && in.Type != "kb_metric" {
				in.ValueSource = DefaultScoreValueSource
			}
		}
	}
	for i := range p.Mappings {
		m := &p.Mappings[i]
		if m.Calibration == nil {
			m.Calibration = &Calibration{}
		}
		if m.Calibration.Method == "" {
			m.Calibration.Method = DefaultMappingCalibration
		}
		if m.Calibration.Method == DefaultMappingCalibration && m.Calibration.Slope == 0 {
			m.Calibration.Slope = DefaultMappingSlope
		}
	}
	for i := range r.Decisions {
		defaultDecision(&r.Decisions[i])
	}
}

// defaultPredicate makes a count or density feature without a predicate
// match when the value is above zero.
func defaultPredicate(featureType string, p **NumericPredicate) {
	if *p != nil || (featureType != "count" && featureType != "density") {
		return
	}
	*p = &NumericPredicate{GT: Ptr(DefaultStructurePredicateGT)}
}

func defaultRule(n *RuleNode) {
	if n.Operator == "" && n.Type == "" {
		n.Operator = DefaultRuleOperator
	}
	for i := range n.Conditions {
		defaultRule(&n.Conditions[i])
	}
}

func defaultDecision(d *Decision) {
	defaultRule(&d.Rules)
	if d.Algorithm != nil && d.Algorithm.Type == "" {
		d.Algorithm.Type = DefaultAlgorithmType
	}
	if a := d.Algorithm; a != nil && a.LatencyAware != nil {
		if a.LatencyAware.TPOTPercentile == 0 {
			a.LatencyAware.TPOTPercentile = DefaultLatencyAwarePercentile
		}
		if a.LatencyAware.TTFTPercentile == 0 {
			a.LatencyAware.TTFTPercentile = DefaultLatencyAwarePercentile
		}
	}
	for i := range d.Plugins {
		switch c := d.Plugins[i].Configuration.(type) {
		case *SystemPromptPlugin:
			if c.Mode == "" {
				c.Mode = DefaultSystemPromptMode
			}
		case *ResponseCachePlugin:
			if c.Mode == "" {
				c.Mode = DefaultCachePluginMode
			}
			if c.Scope == "" {
				c.Scope = DefaultCachePluginScope
			}
		}
	}
}

func defaultGlobal(g *Global) {
	if len(g.Router.AutoModelNames) == 0 {
		g.Router.AutoModelNames = DefaultAutoModelNames()
	}
	if g.Router.Strategy == "" {
		g.Router.Strategy = DefaultRoutingStrategy
	}
	if g.Services.ManagementAPI == nil {
		g.Services.ManagementAPI = &ManagementAPI{}
	}
	m := g.Services.ManagementAPI
	if m.Port == 0 {
		m.Port = DefaultManagementAPIPort
	}
	if m.BindAddress == "" {
		m.BindAddress = DefaultManagementBindAddress
	}
	if m.Auth != nil && m.Auth.Mode == "" {
		m.Auth.Mode = DefaultManagementAuthMode
	}
	for _, rc := range []*ResponseCacheStore{g.Stores.ResponseCache, g.Stores.SemanticCache} {
		if rc == nil {
			continue
		}
		if rc.BackendType == "" {
			rc.BackendType = DefaultCacheBackend
		}
		if rc.SimilarityThreshold == nil {
			rc.SimilarityThreshold = Ptr(DefaultCacheSimilarity)
		}
		if rc.MaxEntries == 0 {
			rc.MaxEntries = DefaultCacheMaxEntries
		}
		if rc.TTLSeconds == 0 {
			rc.TTLSeconds = DefaultCacheTTLSeconds
		}
		if rc.EvictionPolicy == "" {
			rc.EvictionPolicy = DefaultCacheEvictionPolicy
		}
	}
	if mods := g.ModelCatalog.Modules; mods != nil && mods.PromptGuard != nil && mods.PromptGuard.OnError == "" {
		mods.PromptGuard.OnError = DefaultPromptGuardOnError
	}
}
