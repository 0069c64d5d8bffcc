package config

// Global holds router-wide runtime settings.
type Global struct {
	Router       RouterGlobal `yaml:"router"`
	Services     Services     `yaml:"services"`
	Stores       Stores       `yaml:"stores"`
	Integrations Integrations `yaml:"integrations"`
	ModelCatalog ModelCatalog `yaml:"model_catalog"`
}

// RouterGlobal is the router's own behaviour.
type RouterGlobal struct {
	ConfigSource string `yaml:"config_source" sr:"unimplemented"`
	Strategy     string `yaml:"strategy"`
	// AutoModelName is the legacy single auto name; AutoModelNames wins.
	AutoModelName             string          `yaml:"auto_model_name"`
	AutoModelNames            []string        `yaml:"auto_model_names"`
	IncludeConfigModelsInList *bool           `yaml:"include_config_models_in_list"`
	ClearRouteCache           *bool           `yaml:"clear_route_cache"`
	StreamedBody              *StreamedBody   `yaml:"streamed_body"`
	SkipProcessing            *Toggle         `yaml:"skip_processing" sr:"unimplemented"`
	ModelSelection            *ModelSelection `yaml:"model_selection"`
	Learning                  *Learning       `yaml:"learning"`
}

// Toggle is a block with only an enabled flag.
type Toggle struct {
	Enabled bool `yaml:"enabled"`
}

// StreamedBody controls streaming of request bodies to the router behind
// Envoy (ext_proc FULL_DUPLEX_STREAMED instead of BUFFERED). MaxBytes caps
// request bodies in both modes (0: 10 MiB; > 0 required when Enabled);
// TimeoutSec bounds the arrival of a streamed body (0: no deadline of its
// own).
type StreamedBody struct {
	Enabled    bool  `yaml:"enabled"`
	MaxBytes   int64 `yaml:"max_bytes"`
	TimeoutSec int   `yaml:"timeout_sec"`
}

// ModelSelection holds global defaults of the selection algorithms.
type ModelSelection struct {
	Method   string          `yaml:"method" sr:"unimplemented"`
	Enabled  bool            `yaml:"enabled" sr:"unimplemented"`
	RouterDC *RouterDCConfig `yaml:"router_dc"`
	AutoMix  *AutoMixConfig  `yaml:"automix" sr:"unimplemented"`
	Hybrid   *HybridConfig   `yaml:"hybrid"`
	Momentum *Momentum       `yaml:"momentum" sr:"unimplemented"`
	ML       *MLSelection    `yaml:"ml"`
}

// Momentum smooths model switches.
type Momentum struct {
	Enabled   bool    `yaml:"enabled"`
	Attack    float64 `yaml:"attack"`
	Release   float64 `yaml:"release"`
	Threshold float64 `yaml:"threshold"`
}

// MLSelection configures the trained selectors (knn, kmeans, svm, mlp).
// semrouter implements knn (decisions with `algorithm: {type: knn}`);
// the kmeans, svm and mlp blocks are kept but have no effect.
type MLSelection struct {
	// ModelsPath is a folder pretrained_path may be relative to.
	ModelsPath string `yaml:"models_path"`
	// EmbeddingDim, when set, must equal the pretrained data's dimensions.
	EmbeddingDim int       `yaml:"embedding_dim"`
	KNN          *MLKNN    `yaml:"knn"`
	KMeans       *MLKMeans `yaml:"kmeans" sr:"unimplemented"`
	SVM          *MLSVM    `yaml:"svm" sr:"unimplemented"`
	MLP          *MLMLP    `yaml:"mlp" sr:"unimplemented"`
}

// MLKNN configures k-nearest-neighbour selection: K is the neighbour count
// (0: the pretrained file's), PretrainedPath a file written by
// `semrouter train selection` (empty: the data built into the binary for
// the embedding model); see Config.KNNPretrainedPath for how a relative
// path is resolved.
type MLKNN struct {
	K              int    `yaml:"k"`
	PretrainedPath string `yaml:"pretrained_path"`
}

// MLKMeans configures cluster-based selection.
type MLKMeans struct {
	NumClusters      int     `yaml:"num_clusters"`
	EfficiencyWeight float64 `yaml:"efficiency_weight"`
	PretrainedPath   string  `yaml:"pretrained_path"`
}

// MLSVM configures SVM selection.
type MLSVM struct {
	Kernel         string  `yaml:"kernel"`
	Gamma          float64 `yaml:"gamma"`
	PretrainedPath string  `yaml:"pretrained_path"`
}

// MLMLP configures MLP selection.
type MLMLP struct {
	Device         string `yaml:"device"`
	PretrainedPath string `yaml:"pretrained_path"`
}

// Learning configures router learning (adaptation and switch protection).
type Learning struct {
	Enabled    bool                `yaml:"enabled"`
	Adaptation *LearningAdaptation `yaml:"adaptation"`
	Protection *LearningProtection `yaml:"protection"`
	StateStore *LearningStateStore `yaml:"state_store"`
}

// LearningAdaptation tunes adaptation.
type LearningAdaptation struct {
	Enabled      bool   `yaml:"enabled"`
	CandidateSet string `yaml:"candidate_set"`
	Strategy     string `yaml:"strategy"`
}

// LearningProtection damps model switches within a session.
type LearningProtection struct {
	Enabled  bool              `yaml:"enabled"`
	Scope    string            `yaml:"scope"`
	Identity *LearningIdentity `yaml:"identity"`
	Tuning   *LearningTuning   `yaml:"tuning"`
}

// LearningIdentity names the headers that identify a session.
type LearningIdentity struct {
	Headers map[string]string `yaml:"headers"`
}

// LearningTuning holds switch-protection parameters.
type LearningTuning struct {
	IdleTimeoutSeconds   int     `yaml:"idle_timeout_seconds"`
	MinTurnsBeforeSwitch int     `yaml:"min_turns_before_switch"`
	SwitchMargin         float64 `yaml:"switch_margin"`
	StabilityWeight      float64 `yaml:"stability_weight"`
}

// LearningStateStore keeps learning state.
type LearningStateStore struct {
	Backend    string       `yaml:"backend"`
	TTLSeconds int          `yaml:"ttl_seconds"`
	TimeoutMs  int          `yaml:"timeout_ms"`
	Redis      *RedisClient `yaml:"redis"`
}

// RedisClient is a Redis connection (fields used by the various stores).
type RedisClient struct {
	Enabled          bool     `yaml:"enabled"`
	Address          string   `yaml:"address"`
	Password         string   `yaml:"password"`
	DB               int      `yaml:"db"`
	Database         int      `yaml:"database"`
	KeyPrefix        string   `yaml:"key_prefix"`
	TTLSeconds       int      `yaml:"ttl_seconds"`
	ClusterMode      bool     `yaml:"cluster_mode"`
	ClusterAddresses []string `yaml:"cluster_addresses"`
	PoolSize         int      `yaml:"pool_size"`
	MinIdleConns     int      `yaml:"min_idle_conns"`
	MaxRetries       int      `yaml:"max_retries"`
	DialTimeout      int      `yaml:"dial_timeout"`
	ReadTimeout      int      `yaml:"read_timeout"`
	WriteTimeout     int      `yaml:"write_timeout"`
	UseTLS           bool     `yaml:"use_tls"`
	TLSEnabled       bool     `yaml:"tls_enabled"`
	TLSSkipVerify    bool     `yaml:"tls_skip_verify"`
	TLSCertPath      string   `yaml:"tls_cert_path"`
	TLSKeyPath       string   `yaml:"tls_key_path"`
	TLSCAPath        string   `yaml:"tls_ca_path"`
	ConfigPath       string   `yaml:"config_path"`
}

// Services are the router's auxiliary services.
type Services struct {
	API           *APIService          `yaml:"api"`
	ResponseAPI   *ResponseAPIService  `yaml:"response_api"`
	Observability *Observability       `yaml:"observability"`
	Authz         *Authz               `yaml:"authz"`
	RateLimit     *RateLimit           `yaml:"ratelimit"`
	ManagementAPI *ManagementAPI       `yaml:"management_api"`
	StartupStatus *StartupStatus       `yaml:"startup_status" sr:"unimplemented"`
	RouterReplay  *RouterReplayService `yaml:"router_replay"`
}

// APIService is the classifier's classification API (POST
// /api/v1/classify/batch); see validate_api.go for defaults and checks.
type APIService struct {
	BatchClassification *BatchClassification `yaml:"batch_classification"`
}

// BatchClassification limits batch classification requests: at most
// max_batch_size texts; batches of at most concurrency_threshold texts run
// one after the other, larger ones on at most max_concurrency goroutines.
type BatchClassification struct {
	MaxBatchSize         int           `yaml:"max_batch_size"`
	ConcurrencyThreshold int           `yaml:"concurrency_threshold"`
	MaxConcurrency       int           `yaml:"max_concurrency"`
	Metrics              *BatchMetrics `yaml:"metrics"`
}

// BatchMetrics configures batch classification metrics.
type BatchMetrics struct {
	Enabled                   bool             `yaml:"enabled"`
	SampleRate                float64          `yaml:"sample_rate"`
	BatchSizeRanges           []BatchSizeRange `yaml:"batch_size_ranges"`
	DurationBuckets           []float64        `yaml:"duration_buckets"`
	SizeBuckets               []float64        `yaml:"size_buckets"`
	DetailedGoroutineTracking bool             `yaml:"detailed_goroutine_tracking"`
	HighResolutionTiming      bool             `yaml:"high_resolution_timing"`
}

// BatchSizeRange labels a range of batch sizes.
type BatchSizeRange struct {
	Min   int    `yaml:"min"`
	Max   int    `yaml:"max"`
	Label string `yaml:"label"`
}

// ResponseAPIService is the OpenAI Responses API of API mode and its
// store: absent, /v1/responses is served with the in-process store;
// enabled: false turns it off; store_backend memory (default) or
// redis/valkey (redis block); see validate_response_api.go.
type ResponseAPIService struct {
	Enabled      bool         `yaml:"enabled"`
	StoreBackend string       `yaml:"store_backend"`
	TTLSeconds   int          `yaml:"ttl_seconds"`
	MaxResponses int          `yaml:"max_responses"`
	Redis        *RedisClient `yaml:"redis"`
}

// Observability configures tracing and metrics.
type Observability struct {
	Tracing *Tracing `yaml:"tracing"`
	Metrics *Metrics `yaml:"metrics"`
}

// Tracing configures OpenTelemetry tracing.
type Tracing struct {
	Enabled  bool             `yaml:"enabled"`
	Provider string           `yaml:"provider"`
	Exporter *TracingExporter `yaml:"exporter"`
	Sampling *TracingSampling `yaml:"sampling"`
	Resource *TracingResource `yaml:"resource"`
}

// TracingExporter is where spans go.
type TracingExporter struct {
	Type     string `yaml:"type"`
	Endpoint string `yaml:"endpoint"`
	Insecure bool   `yaml:"insecure"`
}

// TracingSampling is always_on, always_off or probabilistic (Rate).
type TracingSampling struct {
	Type string  `yaml:"type"`
	Rate float64 `yaml:"rate"`
}

// TracingResource names the service in traces.
type TracingResource struct {
	ServiceName           string `yaml:"service_name"`
	ServiceVersion        string `yaml:"service_version"`
	DeploymentEnvironment string `yaml:"deployment_environment"`
}

// Metrics configures Prometheus metrics.
type Metrics struct {
	Enabled         *bool            `yaml:"enabled"`
	WindowedMetrics *WindowedMetrics `yaml:"windowed_metrics"`
}

// WindowedMetrics keeps per-model sliding-window metrics in each gateway
// (request rate, error ratio, latency/TTFT/TPOT quantiles, tokens/s, and
// with queue_depth_estimation the in-flight requests and an estimated
// queue wait), exported as semrouter_gateway_window_* gauges and served at
// API mode's GET /v1/router_model_stats.
type WindowedMetrics struct {
	Enabled bool `yaml:"enabled"`
	// TimeWindows are durations (1m, 5m, 1h), positive and increasing.
	TimeWindows []string `yaml:"time_windows"`
	// UpdateInterval is how often the aggregates are recomputed (> 0,
	// at most the smallest window; default 30s or the smallest window).
	UpdateInterval Duration `yaml:"update_interval"`
	// ModelMetrics (default true): one series per model; false
	// aggregates every model under model "all".
	ModelMetrics         *bool `yaml:"model_metrics"`
	QueueDepthEstimation bool  `yaml:"queue_depth_estimation"`
	// MaxModels bounds the models tracked by name (default 50); later
	// models are aggregated under model "other".
	MaxModels int `yaml:"max_models"`
}

// Authz resolves caller identity for role_bindings.
type Authz struct {
	FailOpen  bool            `yaml:"fail_open"`
	Identity  *AuthzIdentity  `yaml:"identity"`
	Providers []AuthzProvider `yaml:"providers" sr:"unimplemented" srnote:"identity comes only from the global.services.authz.identity headers"`
}

// AuthzIdentity names the identity headers.
type AuthzIdentity struct {
	UserIDHeader     string `yaml:"user_id_header"`
	UserGroupsHeader string `yaml:"user_groups_header"`
}

// AuthzProvider is a credential/identity provider (header-injection, static-config).
type AuthzProvider struct {
	Type    string            `yaml:"type"`
	Headers map[string]string `yaml:"headers"`
}

// RateLimit configures rate limiting (the gateway enforces it; see
// validate_ratelimit.go for the accepted values).
type RateLimit struct {
	FailOpen  bool                `yaml:"fail_open"`
	Providers []RateLimitProvider `yaml:"providers"`
}

// RateLimitProvider is envoy-ratelimit (Address, Domain) or local-limiter (Rules).
type RateLimitProvider struct {
	Type    string          `yaml:"type"`
	Address string          `yaml:"address"`
	Domain  string          `yaml:"domain"`
	Rules   []RateLimitRule `yaml:"rules"`
}

// RateLimitRule limits matching callers per Unit. Match keys are
// RateLimitMatchKeys; Unit is one of RateLimitUnits.
type RateLimitRule struct {
	Name            string            `yaml:"name"`
	Match           map[string]string `yaml:"match"`
	RequestsPerUnit int64             `yaml:"requests_per_unit"`
	TokensPerUnit   int64             `yaml:"tokens_per_unit"`
	Unit            string            `yaml:"unit"`
}

// ManagementAPI is the management HTTP API (default 127.0.0.1:8080).
type ManagementAPI struct {
	BindAddress    string          `yaml:"bind_address"`
	Port           int             `yaml:"port"`
	RemoteExposure bool            `yaml:"remote_exposure"`
	Auth           *ManagementAuth `yaml:"auth"`
}

// ManagementAuth configures management API authentication.
type ManagementAuth struct {
	Mode   string              `yaml:"mode"`
	Tokens []ManagementToken   `yaml:"tokens"`
	Roles  map[string][]string `yaml:"roles"`
}

// ManagementToken binds a token (read from Env) to a role.
type ManagementToken struct {
	Env  string `yaml:"env"`
	Role string `yaml:"role"`
}

// StartupStatus says where startup status is kept.
type StartupStatus struct {
	StoreBackend string `yaml:"store_backend"`
}

// RouterReplayService is where the router_replay plugins keep their
// records: store_backend memory (in process; also when enabled is false)
// or redis/valkey (shared by replicas, kept across restarts); see
// validate_replay_service.go.
type RouterReplayService struct {
	Enabled      bool          `yaml:"enabled"`
	StoreBackend string        `yaml:"store_backend"`
	TTLSeconds   int           `yaml:"ttl_seconds"`
	AsyncWrites  bool          `yaml:"async_writes"`
	Redis        *RedisClient  `yaml:"redis"`
	Postgres     *Postgres     `yaml:"postgres"`
	Milvus       *MilvusSimple `yaml:"milvus"`
	Qdrant       *Qdrant       `yaml:"qdrant"`
}

// Postgres is a PostgreSQL connection.
type Postgres struct {
	Host            string `yaml:"host"`
	Port            int    `yaml:"port"`
	Database        string `yaml:"database"`
	User            string `yaml:"user"`
	Password        string `yaml:"password"`
	SSLMode         string `yaml:"ssl_mode"`
	MaxOpenConns    int    `yaml:"max_open_conns"`
	MaxIdleConns    int    `yaml:"max_idle_conns"`
	ConnMaxLifetime int    `yaml:"conn_max_lifetime"`
	TableName       string `yaml:"table_name"`
}

// MilvusSimple is a flat Milvus connection.
type MilvusSimple struct {
	Address          string `yaml:"address"`
	Username         string `yaml:"username"`
	Password         string `yaml:"password"`
	Collection       string `yaml:"collection"`
	CollectionName   string `yaml:"collection_name"`
	ConsistencyLevel string `yaml:"consistency_level"`
	ShardNum         int    `yaml:"shard_num"`
	Dimension        int    `yaml:"dimension"`
	NumPartitions    int    `yaml:"num_partitions"`
}

// Qdrant is a Qdrant connection.
type Qdrant struct {
	Host             string `yaml:"host"`
	Port             int    `yaml:"port"`
	APIKey           string `yaml:"api_key"`
	UseTLS           bool   `yaml:"use_tls"`
	ConnectTimeout   int    `yaml:"connect_timeout"`
	Collection       string `yaml:"collection"`
	CollectionName   string `yaml:"collection_name"`
	CollectionPrefix string `yaml:"collection_prefix"`
	Dimension        int    `yaml:"dimension"`
}
