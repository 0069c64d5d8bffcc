package config

// Stores are the router's data stores.
type Stores struct {
	ResponseCache *ResponseCacheStore `yaml:"response_cache"`
	// SemanticCache is the legacy name of ResponseCache.
	SemanticCache *ResponseCacheStore `yaml:"semantic_cache"`
	Memory        *MemoryStore        `yaml:"memory"`
	VectorStore   *VectorStore        `yaml:"vector_store"`
}

// ResponseCacheStore is the response cache backend. BackendType is memory,
// redis, valkey, milvus, qdrant or hybrid.
type ResponseCacheStore struct {
	Enabled             *bool          `yaml:"enabled"`
	BackendType         string         `yaml:"backend_type"`
	SimilarityThreshold *float64       `yaml:"similarity_threshold"`
	MaxEntries          int            `yaml:"max_entries"`
	TTLSeconds          int            `yaml:"ttl_seconds"`
	EvictionPolicy      string         `yaml:"eviction_policy"`
	EmbeddingModel      string         `yaml:"embedding_model"`
	HNSW                *HNSWConfig    `yaml:"hnsw"`
	Milvus              *MilvusBackend `yaml:"milvus"`
	Redis               *IndexedKV     `yaml:"redis"`
	Valkey              *IndexedKV     `yaml:"valkey"`
	Qdrant              *Qdrant        `yaml:"qdrant"`
}

// IsEnabled reports whether the cache is on (default false).
func (r *ResponseCacheStore) IsEnabled() bool { return r != nil && boolOr(r.Enabled, false) }

// HNSWConfig tunes the in-memory HNSW index.
type HNSWConfig struct {
	UseHNSW            bool `yaml:"use_hnsw"`
	HNSWM              int  `yaml:"hnsw_m"`
	HNSWEfConstruction int  `yaml:"hnsw_ef_construction"`
	MaxMemoryEntries   int  `yaml:"max_memory_entries"`
}

// SecretRef references a Kubernetes secret key.
type SecretRef struct {
	Name string `yaml:"name"`
	Key  string `yaml:"key"`
}

// TLSFiles is a TLS switch with certificate files.
type TLSFiles struct {
	Enabled  bool   `yaml:"enabled"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	CAFile   string `yaml:"ca_file"`
}

// MilvusBackend is a structured Milvus configuration.
type MilvusBackend struct {
	Connection     *MilvusConnection     `yaml:"connection"`
	Collection     *MilvusCollection     `yaml:"collection"`
	Search         *VectorSearch         `yaml:"search"`
	Performance    *MilvusPerformance    `yaml:"performance" sr:"unimplemented"`
	DataManagement *MilvusDataManagement `yaml:"data_management"`
	Logging        *MilvusLogging        `yaml:"logging" sr:"unimplemented"`
	Development    *MilvusDevelopment    `yaml:"development"`
}

// MilvusConnection is how to reach Milvus.
type MilvusConnection struct {
	Host     string      `yaml:"host"`
	Port     int         `yaml:"port"`
	Database string      `yaml:"database"`
	Timeout  int         `yaml:"timeout"`
	Auth     *MilvusAuth `yaml:"auth"`
	TLS      *TLSFiles   `yaml:"tls"`
}

// MilvusAuth holds Milvus credentials.
type MilvusAuth struct {
	Enabled           bool       `yaml:"enabled"`
	Username          string     `yaml:"username"`
	Password          string     `yaml:"password"`
	PasswordSecretRef *SecretRef `yaml:"password_secret_ref"`
}

// MilvusCollection describes the collection.
type MilvusCollection struct {
	Name        string       `yaml:"name"`
	Description string       `yaml:"description"`
	VectorField *VectorField `yaml:"vector_field"`
	Index       *VectorIndex `yaml:"index"`
}

// VectorField describes the vector field.
type VectorField struct {
	Name       string `yaml:"name"`
	Dimension  int    `yaml:"dimension"`
	MetricType string `yaml:"metric_type"`
}

// VectorIndex describes the vector index.
type VectorIndex struct {
	Type   string         `yaml:"type"`
	Params map[string]any `yaml:"params"`
}

// VectorSearch tunes searches.
type VectorSearch struct {
	Params           map[string]any `yaml:"params"`
	TopK             int            `yaml:"topk"`
	ConsistencyLevel string         `yaml:"consistency_level"`
}

// MilvusPerformance tunes pooling and batching.
type MilvusPerformance struct {
	ConnectionPool *MilvusPool  `yaml:"connection_pool"`
	Batch          *MilvusBatch `yaml:"batch"`
}

// MilvusPool sizes the connection pool.
type MilvusPool struct {
	MaxConnections     int `yaml:"max_connections"`
	MaxIdleConnections int `yaml:"max_idle_connections"`
	AcquireTimeout     int `yaml:"acquire_timeout"`
}

// MilvusBatch sizes insert batches.
type MilvusBatch struct {
	InsertBatchSize int `yaml:"insert_batch_size"`
	Timeout         int `yaml:"timeout"`
}

// MilvusDataManagement configures TTL cleanup and compaction.
type MilvusDataManagement struct {
	TTL        *MilvusTTL        `yaml:"ttl"`
	Compaction *MilvusCompaction `yaml:"compaction" sr:"unimplemented"`
}

// MilvusTTL expires old entries.
type MilvusTTL struct {
	Enabled         bool   `yaml:"enabled"`
	TimestampField  string `yaml:"timestamp_field" sr:"unimplemented"`
	CleanupInterval int    `yaml:"cleanup_interval" sr:"unimplemented"`
}

// MilvusCompaction compacts periodically.
type MilvusCompaction struct {
	Enabled  bool `yaml:"enabled"`
	Interval int  `yaml:"interval"`
}

// MilvusLogging tunes client logging.
type MilvusLogging struct {
	Level          string `yaml:"level"`
	EnableQueryLog bool   `yaml:"enable_query_log"`
	EnableMetrics  bool   `yaml:"enable_metrics"`
}

// MilvusDevelopment holds development switches.
type MilvusDevelopment struct {
	DropCollectionOnStartup bool `yaml:"drop_collection_on_startup"`
	AutoCreateCollection    bool `yaml:"auto_create_collection"`
	VerboseErrors           bool `yaml:"verbose_errors" sr:"unimplemented"`
}

// IndexedKV is a Redis/Valkey vector-index backend.
type IndexedKV struct {
	Connection  *KVConnection  `yaml:"connection"`
	Index       *KVIndex       `yaml:"index"`
	Search      *VectorSearch  `yaml:"search"`
	Development *KVDevelopment `yaml:"development"`
}

// KVConnection is how to reach Redis/Valkey.
type KVConnection struct {
	Host              string     `yaml:"host"`
	Port              int        `yaml:"port"`
	Database          int        `yaml:"database"`
	Password          string     `yaml:"password"`
	PasswordSecretRef *SecretRef `yaml:"password_secret_ref"`
	Timeout           int        `yaml:"timeout"`
	TLS               *TLSFiles  `yaml:"tls"`
}

// KVIndex describes the search index.
type KVIndex struct {
	Name        string         `yaml:"name"`
	Prefix      string         `yaml:"prefix"`
	IndexType   string         `yaml:"index_type"`
	VectorField *VectorField   `yaml:"vector_field"`
	Params      map[string]any `yaml:"params"`
}

// KVDevelopment holds development switches.
type KVDevelopment struct {
	DropIndexOnStartup bool `yaml:"drop_index_on_startup"`
	AutoCreateIndex    bool `yaml:"auto_create_index"`
	VerboseErrors      bool `yaml:"verbose_errors"`
}

// MemoryStore is the agentic memory store.
type MemoryStore struct {
	Enabled                    bool                  `yaml:"enabled"`
	Backend                    string                `yaml:"backend"`
	AutoStore                  bool                  `yaml:"auto_store"`
	DisabledRoutes             []string              `yaml:"disabled_routes"`
	DisabledModels             []string              `yaml:"disabled_models"`
	Valkey                     *ValkeyStore          `yaml:"valkey"`
	Milvus                     *MilvusSimple         `yaml:"milvus" sr:"unimplemented" srnote:"the memory store runs on valkey or in process"`
	Qdrant                     *Qdrant               `yaml:"qdrant" sr:"unimplemented" srnote:"the memory store runs on valkey or in process"`
	RedisCache                 *RedisClient          `yaml:"redis_cache" sr:"unimplemented" srnote:"memories are read from the store directly"`
	EmbeddingModel             string                `yaml:"embedding_model" sr:"unimplemented" srnote:"memories are embedded by the router embedder"`
	ExtractionBatchSize        int                   `yaml:"extraction_batch_size" sr:"unimplemented" srnote:"facts are extracted from each user turn as it is stored"`
	DefaultRetrievalLimit      int                   `yaml:"default_retrieval_limit"`
	DefaultSimilarityThreshold float64               `yaml:"default_similarity_threshold"`
	HybridSearch               bool                  `yaml:"hybrid_search" sr:"unimplemented" srnote:"memory retrieval is embedding similarity only"`
	HybridMode                 string                `yaml:"hybrid_mode" sr:"unimplemented" srnote:"memory retrieval is embedding similarity only"`
	AdaptiveThreshold          bool                  `yaml:"adaptive_threshold" sr:"unimplemented" srnote:"the similarity threshold is fixed"`
	QualityScoring             *MemoryQualityScoring `yaml:"quality_scoring"`
	Reflection                 *MemoryReflection     `yaml:"reflection"`
}

// MemoryQualityScoring prunes weak memories.
type MemoryQualityScoring struct {
	InitialStrengthDays int     `yaml:"initial_strength_days" sr:"unimplemented" srnote:"memories are ranked by similarity and reflection recency decay"`
	PruneThreshold      float64 `yaml:"prune_threshold" sr:"unimplemented" srnote:"memories are evicted oldest first beyond max_memories_per_user"`
	MaxMemoriesPerUser  int     `yaml:"max_memories_per_user"`
}

// ValkeyStore is a Valkey vector store connection.
type ValkeyStore struct {
	Host                  string `yaml:"host"`
	Port                  int    `yaml:"port"`
	Database              int    `yaml:"database"`
	Password              string `yaml:"password"`
	Timeout               int    `yaml:"timeout"`
	ConnectTimeout        int    `yaml:"connect_timeout"`
	CollectionPrefix      string `yaml:"collection_prefix"`
	IndexName             string `yaml:"index_name"`
	Dimension             int    `yaml:"dimension"`
	MetricType            string `yaml:"metric_type"`
	IndexM                int    `yaml:"index_m"`
	IndexEfConstruction   int    `yaml:"index_ef_construction"`
	TLSEnabled            bool   `yaml:"tls_enabled"`
	TLSCAPath             string `yaml:"tls_ca_path"`
	TLSInsecureSkipVerify bool   `yaml:"tls_insecure_skip_verify"`
}

// VectorStore is the document vector store.
type VectorStore struct {
	Enabled                      bool               `yaml:"enabled"`
	BackendType                  string             `yaml:"backend_type"`
	FileStorageDir               string             `yaml:"file_storage_dir"`
	MaxFileSizeMB                int                `yaml:"max_file_size_mb"`
	EmbeddingModel               string             `yaml:"embedding_model"`
	EmbeddingDimension           int                `yaml:"embedding_dimension"`
	IngestionWorkers             int                `yaml:"ingestion_workers"`
	IngestionDrainTimeoutSeconds int                `yaml:"ingestion_drain_timeout_seconds"`
	SupportedFormats             []string           `yaml:"supported_formats"`
	Milvus                       *MilvusBackend     `yaml:"milvus"`
	Memory                       *VectorStoreMemory `yaml:"memory"`
	LlamaStack                   *LlamaStack        `yaml:"llama_stack"`
	Valkey                       *ValkeyStore       `yaml:"valkey"`
	Qdrant                       *Qdrant            `yaml:"qdrant"`
	MetadataStore                string             `yaml:"metadata_store"`
	MetadataPostgres             *Postgres          `yaml:"metadata_postgres"`
}

// VectorStoreMemory bounds the in-memory vector store.
type VectorStoreMemory struct {
	MaxEntriesPerStore int `yaml:"max_entries_per_store"`
}

// LlamaStack is a Llama Stack vector-io endpoint.
type LlamaStack struct {
	Endpoint              string `yaml:"endpoint"`
	AuthToken             string `yaml:"auth_token"`
	EmbeddingModel        string `yaml:"embedding_model"`
	RequestTimeoutSeconds int    `yaml:"request_timeout_seconds"`
	SearchType            string `yaml:"search_type"`
}

// Integrations are external integrations.
type Integrations struct {
	Tools  *ToolsIntegration `yaml:"tools" sr:"unimplemented"`
	Looper *Looper           `yaml:"looper" sr:"unimplemented"`
}

// ToolsIntegration is automatic tool selection.
type ToolsIntegration struct {
	Enabled             bool               `yaml:"enabled"`
	TopK                int                `yaml:"top_k"`
	SimilarityThreshold float64            `yaml:"similarity_threshold"`
	ToolsDBPath         string             `yaml:"tools_db_path"`
	FallbackToEmpty     bool               `yaml:"fallback_to_empty"`
	AdvancedFiltering   *AdvancedFiltering `yaml:"advanced_filtering"`
}

// AdvancedFiltering refines tool selection.
type AdvancedFiltering struct {
	Enabled                     bool               `yaml:"enabled"`
	RetrievalStrategy           string             `yaml:"retrieval_strategy"`
	CandidatePoolSize           int                `yaml:"candidate_pool_size"`
	MinLexicalOverlap           int                `yaml:"min_lexical_overlap"`
	MinCombinedScore            float64            `yaml:"min_combined_score"`
	Weights                     map[string]float64 `yaml:"weights"`
	UseCategoryFilter           bool               `yaml:"use_category_filter"`
	CategoryConfidenceThreshold float64            `yaml:"category_confidence_threshold"`
	AllowTools                  []string           `yaml:"allow_tools"`
	BlockTools                  []string           `yaml:"block_tools"`
	HybridHistory               *HybridHistory     `yaml:"hybrid_history"`
}

// HybridHistory blends tool history into selection.
type HybridHistory struct {
	HistoryHorizon             int     `yaml:"history_horizon"`
	MinHistorySteps            int     `yaml:"min_history_steps"`
	HistoryConfidenceThreshold float64 `yaml:"history_confidence_threshold"`
	WeightSemantic             float64 `yaml:"weight_semantic"`
	WeightHistoryTransition    float64 `yaml:"weight_history_transition"`
	WeightDecisionPrior        float64 `yaml:"weight_decision_prior"`
	RepetitionPenaltyStrength  float64 `yaml:"repetition_penalty_strength"`
}

// Looper is the multi-call executor used by looper algorithms.
type Looper struct {
	Endpoint           string            `yaml:"endpoint"`
	GRPCMaxMsgSizeMB   int               `yaml:"grpc_max_msg_size_mb"`
	MaxResponseBytesMB int               `yaml:"max_response_bytes_mb"`
	TimeoutSeconds     int               `yaml:"timeout_seconds"`
	RetryCount         int               `yaml:"retry_count"`
	Headers            map[string]string `yaml:"headers"`
	ReMoM              *LooperModels     `yaml:"remom"`
	Fusion             *LooperModels     `yaml:"fusion"`
	Flow               *LooperFlow       `yaml:"flow"`
}

// LooperModels lists public model names of a looper mode.
type LooperModels struct {
	ModelNames []string `yaml:"model_names"`
}

// LooperFlow is the Router Flow looper.
type LooperFlow struct {
	ModelNames []string         `yaml:"model_names"`
	State      *LooperFlowState `yaml:"state"`
}

// LooperFlowState stores flow state.
type LooperFlowState struct {
	StoreBackend string          `yaml:"store_backend"`
	TTLSeconds   int             `yaml:"ttl_seconds"`
	File         *LooperFlowFile `yaml:"file"`
	Redis        *RedisClient    `yaml:"redis"`
}

// LooperFlowFile is a directory store.
type LooperFlowFile struct {
	Directory string `yaml:"directory"`
}
