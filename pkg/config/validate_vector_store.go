package config

import (
	"strconv"
	"strings"
)

// vectorStoreBackends are the backend_type values of
// global.stores.vector_store; semrouter runs memory (in process), valkey
// and redis (shared through the valkey block's server), and indexes every
// other one in process.
var vectorStoreBackends = []string{"memory", "valkey", "redis", "milvus", "llama_stack", "qdrant"}

// validateVectorStore checks global.stores.vector_store (the files and
// vector stores API of API mode).
func (v *validator) validateVectorStore() {
	vs := v.cfg.Global.Stores.VectorStore
	if vs == nil {
		return
	}
	p := "global.stores.vector_store"
	shared := vs.BackendType == "valkey" || vs.BackendType == "redis"
	if vs.BackendType != "" {
		v.checkKnown(sub(p, "backend_type"), vs.BackendType, vectorStoreBackends...)
		if vs.BackendType != "memory" && !shared && vs.Enabled {
			v.warnf(sub(p, "backend_type"), "backend_type %s is not run by semrouter: the vector store keeps its index in process (backend memory, persisted under file_storage_dir)", vs.BackendType)
		}
	}
	if vs.MaxFileSizeMB < 0 {
		v.errorf(sub(p, "max_file_size_mb"), "must be positive, got %d", vs.MaxFileSizeMB)
	}
	if vs.EmbeddingDimension < 0 {
		v.errorf(sub(p, "embedding_dimension"), "must be positive, got %d", vs.EmbeddingDimension)
	}
	if mc := &v.cfg.Global.ModelCatalog; vs.EmbeddingDimension > 0 && mc.Embeddings != nil && mc.Embeddings.Semantic != nil &&
		mc.Embeddings.Semantic.EmbeddingConfig != nil {
		if td := mc.Embeddings.Semantic.EmbeddingConfig.TargetDimension; td > 0 && td != vs.EmbeddingDimension {
			v.warnf(sub(p, "embedding_dimension"), "%d differs from the router embedder's %d (global.model_catalog.embeddings.semantic.embedding_config.target_dimension): every file would fail to ingest",
				vs.EmbeddingDimension, td)
		}
	}
	if vs.IngestionWorkers < 0 {
		v.errorf(sub(p, "ingestion_workers"), "must be at least 1, got %d", vs.IngestionWorkers)
	}
	if vs.IngestionDrainTimeoutSeconds < 0 {
		v.errorf(sub(p, "ingestion_drain_timeout_seconds"), "must not be negative, got %d", vs.IngestionDrainTimeoutSeconds)
	}
	for i, f := range vs.SupportedFormats {
		fp := joinIndex(sub(p, "supported_formats"), i)
		switch {
		case !strings.HasPrefix(f, ".") || len(f) < 2:
			v.errorf(fp, "%q must be a file extension starting with '.' (e.g. .txt)", f)
		case strings.EqualFold(f, ".pdf"):
			v.warnf(fp, "has no effect: semrouter extracts text from .txt, .md, .json, .csv and .html files; PDF uploads are refused (415)")
		}
	}
	if m := vs.Memory; m != nil && m.MaxEntriesPerStore < 0 {
		v.errorf(sub(p, "memory.max_entries_per_store"), "must not be negative, got %d", m.MaxEntriesPerStore)
	}
	if vs.Valkey != nil {
		v.validateVectorStoreValkey(sub(p, "valkey"), vs.Valkey, shared && vs.Enabled)
	}
	if shared {
		if vs.Enabled && vs.Valkey == nil {
			v.errorf(sub(p, "valkey"), "required for backend_type %s: host (and port, default 6379) of the shared server", vs.BackendType)
		}
		if vs.Enabled && vs.FileStorageDir != "" {
			v.warnf(sub(p, "file_storage_dir"), "has no effect with backend_type %s: uploads, metadata and chunks are kept in valkey/redis", vs.BackendType)
		}
		if vs.Milvus != nil || vs.LlamaStack != nil || vs.Qdrant != nil || vs.MetadataPostgres != nil || vs.MetadataStore != "" {
			v.warnf(p, "milvus, llama_stack, qdrant and metadata_store settings have no effect: the vector store keeps its index and metadata in valkey/redis")
		}
		return
	}
	if vs.Milvus != nil || vs.LlamaStack != nil || vs.Valkey != nil || vs.Qdrant != nil || vs.MetadataPostgres != nil || vs.MetadataStore != "" {
		v.warnf(p, "milvus, llama_stack, valkey, qdrant and metadata_store settings have no effect: the vector store keeps its index and metadata in process, persisted under file_storage_dir")
	}
}

// validateVectorStoreValkey checks global.stores.vector_store.valkey;
// active is whether the store runs on it (backend_type valkey or redis,
// enabled).
func (v *validator) validateVectorStoreValkey(vp string, k *ValkeyStore, active bool) {
	if active && strings.TrimSpace(k.Host) == "" {
		v.errorf(sub(vp, "host"), "required: the valkey/redis server the replicas share")
	}
	if k.Port < 0 || k.Port > 65535 {
		v.errorf(sub(vp, "port"), "port %s out of range (1-65535; 0: 6379)", strconv.Itoa(k.Port))
	}
	if k.Database < 0 {
		v.errorf(sub(vp, "database"), "must not be negative, got %d", k.Database)
	}
	if k.Timeout < 0 {
		v.errorf(sub(vp, "timeout"), "must not be negative, got %d", k.Timeout)
	}
	if k.ConnectTimeout < 0 {
		v.errorf(sub(vp, "connect_timeout"), "must not be negative, got %d", k.ConnectTimeout)
	}
	if !active {
		return
	}
	if k.MetricType != "" || k.IndexM != 0 || k.IndexEfConstruction != 0 || k.IndexName != "" || k.Dimension != 0 {
		v.warnf(vp, "index_name, dimension, metric_type, index_m and index_ef_construction have no effect: the vector store scans each store's int8 vectors with cosine similarity, it builds no vector index")
	}
	if k.TLSEnabled || k.TLSCAPath != "" || k.TLSInsecureSkipVerify {
		v.warnf(vp, "tls_enabled, tls_ca_path and tls_insecure_skip_verify have no effect: the vector store connects to valkey/redis without TLS")
	}
}

// validateRAGVectorStore checks backend_config of a rag plugin with
// backend vectorstore (services/gateway-extproc/rag.VectorStore).
func (v *validator) validateRAGVectorStore(bp string, bc map[string]any) {
	id, ok := bc["vector_store_id"].(string)
	if !ok || strings.TrimSpace(id) == "" {
		v.errorf(sub(bp, "vector_store_id"), "required for backend vectorstore (the id POST /v1/vector_stores returned)")
	}
	if ids, ok := bc["file_ids"]; ok && ids != nil {
		list, ok := ids.([]any)
		if !ok {
			v.errorf(sub(bp, "file_ids"), "expected a list of file ids, got %s", describeValue(ids))
		}
		for i, x := range list {
			if s, ok := x.(string); !ok || s == "" {
				v.errorf(joinIndex(sub(bp, "file_ids"), i), "expected a file id string, got %s", describeValue(x))
			}
		}
	}
	if v.cfg.Global.Stores.VectorStore == nil || !v.cfg.Global.Stores.VectorStore.Enabled {
		v.warnf(sub(bp, "vector_store_id"), "global.stores.vector_store is not enabled: retrieval fails and on_failure applies")
	}
}
