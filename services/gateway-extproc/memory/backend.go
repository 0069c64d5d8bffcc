package memory

// Backends of global.stores.memory.backend.
const (
	// BackendLocal (also "local"): the in-process store, the default when
	// the global block is absent.
	BackendLocal = "memory"
	// BackendValkey: a Valkey/Redis server (also "redis").
	BackendValkey = "valkey"
)

// StoreConfig is the global memory store as the gateway uses it; the
// gateway keeps one store per distinct StoreConfig across config
// revisions.
type StoreConfig struct {
	Backend string // BackendLocal or BackendValkey
	Valkey  ValkeyConfig
}

// Open builds the store of c.
func Open(c StoreConfig) (Store, error) {
	if c.Backend == BackendValkey {
		return NewValkey(c.Valkey)
	}
	return NewLocal(), nil
}
