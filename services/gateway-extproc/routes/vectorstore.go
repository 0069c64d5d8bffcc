package routes

import (
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/vectorstore"
)

// vectorStoreFromConfig maps global.stores.vector_store (absent or
// enabled: false: the files and vector stores API is off). backend_type
// valkey and redis run the shared store on the valkey block's server;
// every other backend_type runs the in-process index (validation warns).
func vectorStoreFromConfig(cfg *config.Config) vectorstore.Config {
	vs := cfg.Global.Stores.VectorStore
	if vs == nil || !vs.Enabled {
		return vectorstore.Config{}
	}
	out := vectorstore.Config{Enabled: true, Dir: vs.FileStorageDir, MaxFileBytes: int64(vs.MaxFileSizeMB) << 20,
		Workers: vs.IngestionWorkers, DrainTimeout: time.Duration(vs.IngestionDrainTimeoutSeconds) * time.Second,
		Dimension: vs.EmbeddingDimension}
	fs := make([]string, 0, len(vs.SupportedFormats))
	for _, f := range vs.SupportedFormats {
		fs = append(fs, strings.ToLower(strings.TrimSpace(f)))
	}
	out.Formats = strings.Join(fs, ",")
	if vs.Memory != nil {
		out.MaxEntriesPerStore = vs.Memory.MaxEntriesPerStore
	}
	if vs.BackendType == "valkey" || vs.BackendType == "redis" {
		out.Backend, out.Dir = vectorstore.BackendRedis, ""
		k := vs.Valkey
		if k == nil {
			k = &config.ValkeyStore{}
		}
		port := k.Port
		if port == 0 {
			port = 6379
		}
		out.Redis = vectorstore.RedisConfig{Addr: net.JoinHostPort(k.Host, strconv.Itoa(port)), Password: k.Password, DB: k.Database,
			Prefix: k.CollectionPrefix, DialTimeout: time.Duration(k.ConnectTimeout) * time.Second, Timeout: time.Duration(k.Timeout) * time.Second}
	}
	return out
}
