package routes

import (
	"net"
	"strconv"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/memory"
)

// attachMemory compiles the memory plugin of every decision into
// Plugins.Memory and the global store into Spec.Memory. A global block
// with enabled: false, or a backend semrouter cannot reach here (milvus,
// qdrant; validation warns), leaves the plugins off. The compiled plugins
// have no Store: the gateway binds the store of Spec.Memory, which it
// keeps across revisions.
func attachMemory(cfg *config.Config, spec *Spec) error {
	sc, on := memoryStore(cfg.Global.Stores.Memory)
	if !on {
		return nil
	}
	g := cfg.Global.Stores.Memory
	return attachEach(cfg, spec, "memory", func(c *config.MemoryPlugin, out *Plugins) error {
		if !c.Enabled {
			return nil
		}
		s := memory.Settings{RetrievalLimit: c.RetrievalLimit, SimilarityThreshold: c.SimilarityThreshold,
			AutoStore: c.AutoStore}
		if g != nil {
			if s.RetrievalLimit == 0 {
				s.RetrievalLimit = g.DefaultRetrievalLimit
			}
			if s.SimilarityThreshold == 0 {
				s.SimilarityThreshold = g.DefaultSimilarityThreshold
			}
			s.AutoStore = s.AutoStore || g.AutoStore
		}
		r := c.Reflection
		if r == nil && g != nil {
			r = g.Reflection
		}
		if r != nil && r.Enabled {
			s.RecencySemantic = r.Algorithm == "" || r.Algorithm == "recency_semantic"
			s.RecencyDecayDays, s.DedupThreshold, s.MaxInjectTokens = r.RecencyDecayDays, r.DedupThreshold, r.MaxInjectTokens
			s.BlockPatterns = r.BlockPatterns
		}
		p, err := memory.NewPlugin(nil, s)
		if err != nil {
			return err
		}
		if g != nil {
			p.DisabledRoutes, p.DisabledModels = set(g.DisabledRoutes), set(g.DisabledModels)
			if q := g.QualityScoring; q != nil && q.MaxMemoriesPerUser > 0 {
				p.MaxEntries = q.MaxMemoriesPerUser
			}
		}
		out.Memory = p
		spec.Memory = sc
		spec.NeedsEmbedding = true
		return nil
	})
}

// memoryStore maps global.stores.memory; on is false when memory cannot
// run (disabled, or a backend without effect).
func memoryStore(g *config.MemoryStore) (sc memory.StoreConfig, on bool) {
	if g == nil {
		return memory.StoreConfig{Backend: memory.BackendLocal}, true
	}
	if !g.Enabled {
		return sc, false
	}
	switch g.Backend {
	case "", memory.BackendLocal, "local":
		return memory.StoreConfig{Backend: memory.BackendLocal}, true
	case memory.BackendValkey, "redis":
		v := g.Valkey
		if v == nil {
			v = &config.ValkeyStore{}
		}
		host, port := v.Host, v.Port
		if host == "" {
			host = "localhost"
		}
		if port == 0 {
			port = 6379
		}
		return memory.StoreConfig{Backend: memory.BackendValkey, Valkey: memory.ValkeyConfig{
			Addr: net.JoinHostPort(host, strconv.Itoa(port)), Password: v.Password, DB: v.Database,
			KeyPrefix: v.CollectionPrefix, Timeout: time.Duration(v.Timeout) * time.Second}}, true
	}
	return sc, false
}

func set(names []string) map[string]bool {
	if len(names) == 0 {
		return nil
	}
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
