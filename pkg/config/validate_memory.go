package config

import (
	"regexp"
	"strconv"
)

// Memory backends semrouter runs (global.stores.memory.backend): valkey
// (also redis) and the in-process store (memory, also local). milvus and
// qdrant are accepted and leave memory off.
var memoryBackends = []string{"valkey", "redis", "memory", "local", "milvus", "qdrant"}

// validateMemoryPlugin checks a memory plugin configuration at cp.
func (v *validator) validateMemoryPlugin(cp string, c *MemoryPlugin) {
	v.checkUnit(sub(cp, "similarity_threshold"), c.SimilarityThreshold)
	if c.RetrievalLimit < 0 {
		v.errorf(sub(cp, "retrieval_limit"), "must not be negative")
	}
	v.validateMemoryReflection(sub(cp, "reflection"), c.Reflection)
	if c.HybridSearch {
		v.warnf(sub(cp, "hybrid_search"), "has no effect: memory retrieval is embedding similarity only")
	}
	if c.HybridMode != "" {
		v.warnf(sub(cp, "hybrid_mode"), "has no effect: memory retrieval is embedding similarity only")
	}
	if m := v.cfg.Global.Stores.Memory; c.Enabled && m != nil && !m.Enabled {
		v.warnf(cp, "global.stores.memory.enabled is false: this memory plugin has no effect")
	}
}

func (v *validator) validateMemoryReflection(p string, r *MemoryReflection) {
	if r == nil {
		return
	}
	v.checkOneOf(sub(p, "algorithm"), r.Algorithm, "recency_semantic", "semantic")
	v.checkUnit(sub(p, "dedup_threshold"), r.DedupThreshold)
	if r.MaxInjectTokens < 0 {
		v.errorf(sub(p, "max_inject_tokens"), "must not be negative")
	}
	if r.RecencyDecayDays < 0 {
		v.errorf(sub(p, "recency_decay_days"), "must not be negative")
	}
	for i, bp := range r.BlockPatterns {
		if _, err := regexp.Compile("(?i)" + bp); err != nil {
			v.errorf(joinIndex(sub(p, "block_patterns"), i), "invalid regular expression: %v", err)
		}
	}
}

// validateMemoryStore checks global.stores.memory.
func (v *validator) validateMemoryStore() {
	m := v.cfg.Global.Stores.Memory
	if m == nil {
		return
	}
	p := "global.stores.memory"
	v.checkOneOf(sub(p, "backend"), m.Backend, memoryBackends...)
	if m.Enabled && (m.Backend == "milvus" || m.Backend == "qdrant") {
		v.warnf(sub(p, "backend"), "backend %s has no effect: semrouter keeps memories in valkey or in process only, so memory plugins do nothing (use backend: valkey)", m.Backend)
	}
	v.checkUnit(sub(p, "default_similarity_threshold"), m.DefaultSimilarityThreshold)
	if m.DefaultRetrievalLimit < 0 {
		v.errorf(sub(p, "default_retrieval_limit"), "must not be negative")
	}
	if q := m.QualityScoring; q != nil && q.MaxMemoriesPerUser < 0 {
		v.errorf(sub(p, "quality_scoring.max_memories_per_user"), "must not be negative")
	}
	v.validateMemoryReflection(sub(p, "reflection"), m.Reflection)
	if k := m.Valkey; k != nil {
		vp := sub(p, "valkey")
		if k.Port < 0 || k.Port > 65535 {
			v.errorf(sub(vp, "port"), "port %s out of range", strconv.Itoa(k.Port))
		}
		if k.Database < 0 {
			v.errorf(sub(vp, "database"), "must not be negative")
		}
		if k.Timeout < 0 {
			v.errorf(sub(vp, "timeout"), "must not be negative")
		}
		if k.TLSEnabled {
			v.warnf(sub(vp, "tls_enabled"), "has no effect: the memory store connects to valkey without TLS")
		}
		if k.IndexName != "" || k.Dimension != 0 || k.MetricType != "" || k.IndexM != 0 || k.IndexEfConstruction != 0 {
			v.warnf(vp, "index_name, dimension, metric_type, index_m and index_ef_construction have no effect: memories are searched by a cosine scan of the user's entries, not a vector index")
		}
		if k.ConnectTimeout != 0 {
			v.warnf(sub(vp, "connect_timeout"), "has no effect: timeout bounds connecting and each round trip")
		}
	}
}
