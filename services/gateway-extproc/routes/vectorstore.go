package routes

import (
	"strings"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/vectorstore"
)

// vectorStoreFromConfig maps global.stores.vector_store (absent or
// enabled: false: the files and vector stores API is off). Every
// backend_type runs the in-process index (validation warns about the
// others).
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
	return out
}
