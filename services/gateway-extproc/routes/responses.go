package routes

import (
	"time"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/responses"
)

// responsesFromConfig maps global.services.response_api: absent, the
// Responses API is served with the in-process store; enabled: false turns
// it off; a store_backend other than memory or redis (validation warns)
// falls back to memory.
func responsesFromConfig(cfg *config.Config) responses.Settings {
	ra := cfg.Global.Services.ResponseAPI
	if ra == nil {
		return responses.Settings{Store: responses.StoreConfig{Backend: responses.BackendMemory}}
	}
	s := responses.Settings{Disabled: !ra.Enabled, Store: responses.StoreConfig{Backend: responses.BackendMemory,
		TTL: time.Duration(ra.TTLSeconds) * time.Second, MaxResponses: ra.MaxResponses}}
	if (ra.StoreBackend == responses.BackendRedis || ra.StoreBackend == "valkey") && ra.Redis != nil {
		r := ra.Redis
		s.Store.Backend = responses.BackendRedis
		rc := responses.RedisConfig{Addrs: []string{r.Address}, Cluster: r.ClusterMode, Password: r.Password,
			DB: r.DB, KeyPrefix: r.KeyPrefix, PoolSize: r.PoolSize, MinIdleConns: r.MinIdleConns,
			MaxRetries: r.MaxRetries, DialTimeout: respSeconds(r.DialTimeout), ReadTimeout: respSeconds(r.ReadTimeout),
			WriteTimeout: respSeconds(r.WriteTimeout), TLS: r.TLSEnabled || r.UseTLS, TLSSkip: r.TLSSkipVerify,
			CertPath: r.TLSCertPath, KeyPath: r.TLSKeyPath, CAPath: r.TLSCAPath}
		if rc.DB == 0 {
			rc.DB = r.Database
		}
		if r.ClusterMode && len(r.ClusterAddresses) > 0 {
			rc.Addrs = append([]string(nil), r.ClusterAddresses...)
		}
		s.Store.Redis = rc
	}
	return s
}

func respSeconds(n int) time.Duration { return time.Duration(n) * time.Second }
