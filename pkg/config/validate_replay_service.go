package config

// ReplayStoreBackends are the store_backend values of
// global.services.router_replay: memory (in process), redis and valkey
// (one shared store) run; postgres, milvus and qdrant are accepted and
// fall back to memory with a warning.
var ReplayStoreBackends = []string{"memory", "redis", "valkey", "postgres", "milvus", "qdrant"}

// validateRouterReplayService checks global.services.router_replay.
// enabled: false (or no block) keeps the router_replay plugins recording
// in each gateway's memory: the plugins turn recording on, the service
// only says where records go.
func (v *validator) validateRouterReplayService() {
	s := v.cfg.Global.Services.RouterReplay
	if s == nil {
		return
	}
	p := "global.services.router_replay"
	v.checkOneOf(sub(p, "store_backend"), s.StoreBackend, ReplayStoreBackends...)
	if s.TTLSeconds < 0 {
		v.errorf(sub(p, "ttl_seconds"), "must not be negative (0: records never expire)")
	}
	shared := s.StoreBackend == "redis" || s.StoreBackend == "valkey"
	switch {
	case !s.Enabled && s.StoreBackend != "" && s.StoreBackend != "memory":
		v.warnf(sub(p, "enabled"), "false: store_backend %s is not used; router_replay plugins keep records in each gateway's memory", s.StoreBackend)
	case s.Enabled && (s.StoreBackend == "postgres" || s.StoreBackend == "milvus" || s.StoreBackend == "qdrant"):
		v.warnf(sub(p, "store_backend"), "backend %s has no effect: semrouter keeps replay records in redis/valkey or in process only, so records stay in each gateway's memory (use store_backend: redis)", s.StoreBackend)
	}
	if s.Enabled && (s.StoreBackend == "" || s.StoreBackend == "memory") {
		if s.TTLSeconds > 0 {
			v.warnf(sub(p, "ttl_seconds"), "has no effect with the in-process store: records are bounded by the plugins' max_records (use store_backend: redis to expire them)")
		}
		if s.AsyncWrites {
			v.warnf(sub(p, "async_writes"), "has no effect with the in-process store: records are kept in memory at once")
		}
	}
	r := s.Redis
	if s.Enabled && shared && (r == nil || r.Address == "") {
		v.requireRedisAddress(p, r, "store_backend", s.StoreBackend)
	}
	if r == nil {
		return
	}
	rp := sub(p, "redis")
	v.checkRedisNumbers(rp, r)
	if !shared || !s.Enabled {
		return
	}
	if r.ClusterMode {
		v.warnf(sub(rp, "cluster_mode"), "has no effect: the replay store talks to one redis/valkey server (address)")
	}
	if len(r.ClusterAddresses) > 0 {
		v.warnf(sub(rp, "cluster_addresses"), "has no effect: the replay store talks to one redis/valkey server (address)")
	}
	if r.TTLSeconds != 0 {
		v.warnf(sub(rp, "ttl_seconds"), "has no effect: records expire after global.services.router_replay.ttl_seconds")
	}
	if r.TLSCertPath != "" || r.TLSKeyPath != "" || r.TLSCAPath != "" {
		v.warnf(rp, "tls_cert_path, tls_key_path and tls_ca_path have no effect: use_tls verifies the server against the system roots")
	}
}
