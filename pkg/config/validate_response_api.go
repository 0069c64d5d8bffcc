package config

// ResponseAPIStoreBackends are the store_backend values of
// global.services.response_api that run: memory (in process; also when
// unset) and redis/valkey (shared by replicas). Any other value falls back
// to memory with a warning.
var ResponseAPIStoreBackends = []string{"memory", "redis", "valkey"}

// validateResponseAPI checks global.services.response_api. Without the
// block the Responses API is served with the in-process store; enabled:
// false turns it off.
func (v *validator) validateResponseAPI() {
	s := v.cfg.Global.Services.ResponseAPI
	if s == nil {
		return
	}
	p := "global.services.response_api"
	shared := s.StoreBackend == "redis" || s.StoreBackend == "valkey"
	if s.StoreBackend != "" && s.StoreBackend != "memory" && !shared {
		v.warnf(sub(p, "store_backend"), "unrecognised store_backend %q (known: memory, redis, valkey): responses are kept in each router's memory", s.StoreBackend)
	}
	if s.TTLSeconds < 0 {
		v.errorf(sub(p, "ttl_seconds"), "must not be negative (0: 86400)")
	}
	if s.MaxResponses < 0 {
		v.errorf(sub(p, "max_responses"), "must not be negative (0: 1000)")
	}
	r := s.Redis
	if s.Enabled && shared && (r == nil || (r.Address == "" && !(r.ClusterMode && len(r.ClusterAddresses) > 0))) {
		v.requireRedisAddress(p, r, "store_backend", s.StoreBackend)
	}
	if r == nil {
		return
	}
	rp := sub(p, "redis")
	v.checkRedisNumbers(rp, r)
	if r.ClusterMode && len(r.ClusterAddresses) == 0 && r.Address == "" {
		v.errorf(sub(rp, "cluster_addresses"), "required when cluster_mode is true")
	}
	if !shared {
		if s.Enabled {
			v.warnf(rp, "has no effect: store_backend is not redis")
		}
		return
	}
	if r.TTLSeconds != 0 {
		v.warnf(sub(rp, "ttl_seconds"), "has no effect: responses expire after global.services.response_api.ttl_seconds")
	}
	if r.ConfigPath != "" {
		v.warnf(sub(rp, "config_path"), "has no effect: the redis settings are read from this block")
	}
	if (r.TLSCertPath != "" || r.TLSKeyPath != "" || r.TLSCAPath != "") && !r.TLSEnabled && !r.UseTLS {
		v.warnf(rp, "tls_cert_path, tls_key_path and tls_ca_path have no effect without tls_enabled: true")
	}
}
