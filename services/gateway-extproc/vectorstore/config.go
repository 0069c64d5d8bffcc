// Package vectorstore is the router's local document store behind the
// OpenAI-compatible files and vector stores API (API mode) and the rag
// plugin's `vectorstore` backend: uploaded text files are extracted,
// chunked, embedded with the router's embedder by a bounded worker pool,
// and searched by brute-force cosine similarity in process.
//
// The index (global.stores.vector_store backend_type memory) lives in
// memory and is persisted to file_storage_dir (persist.go: a small
// metadata index rewritten after every change, and each ingested file's
// chunks written once), so a restart keeps uploaded files, stores and
// chunks.
// With backend_type valkey or redis (RedisStore, redis.go) the files,
// stores, statuses, chunks and uploaded bytes live in Valkey/Redis
// instead, so several gateway replicas share them.
// Other backend types fall back to the in-process one (config
// validation warns).
package vectorstore

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Defaults of Config's zero fields.
const (
	DefaultMaxFileBytes = 50 << 20
	DefaultWorkers      = 2
	DefaultDrainTimeout = 30 * time.Second
	// DefaultChunkTokens is the most words (≈ tokens) of one chunk.
	DefaultChunkTokens = 200
	// DefaultOverlapTokens is how many words of a chunk's tail the next
	// chunk repeats (whole sentences only).
	DefaultOverlapTokens = 40
	// EmbedBatch is how many chunks one Embed call carries.
	EmbedBatch = 32
)

// DefaultFormats are the file extensions accepted when the config names
// none.
var defaultFormats = []string{".txt", ".md", ".json", ".csv", ".html"}

// Config is global.stores.vector_store compiled. It is comparable: a
// changed config reopens the store.
type Config struct {
	// Enabled turns the files and vector stores API on.
	Enabled bool
	// Dir holds the uploaded files and the index ("" : DefaultDir()).
	Dir string
	// MaxFileBytes caps one upload (0: DefaultMaxFileBytes).
	MaxFileBytes int64
	// Workers is the ingestion pool size (0: DefaultWorkers).
	Workers int
	// DrainTimeout bounds how long Close waits for queued ingestion.
	DrainTimeout time.Duration
	// Formats are the accepted extensions, lower case with the dot,
	// joined by commas ("" : .txt .md .json .csv .html).
	Formats string
	// Dimension, when set, is the embedding length the embedder must
	// return.
	Dimension int
	// MaxEntriesPerStore caps the chunks of one vector store (0: no cap
	// in process; DefaultRedisMaxChunks with Redis).
	MaxEntriesPerStore int
	// Backend is BackendMemory ("") or BackendRedis.
	Backend string
	// Redis locates the shared store (Backend BackendRedis).
	Redis RedisConfig
}

// Backends of Config.Backend.
const (
	BackendMemory = "memory"
	BackendRedis  = "redis"
)

// RedisConfig is global.stores.vector_store.valkey compiled.
type RedisConfig struct {
	// Addr is host:port.
	Addr     string
	Password string
	DB       int
	// Prefix starts every key (collection_prefix; "": DefaultRedisPrefix).
	Prefix string
	// DialTimeout bounds connecting (connect_timeout; 0: 5s).
	DialTimeout time.Duration
	// Timeout bounds each round trip (timeout; 0: 5s).
	Timeout time.Duration
	// ResumeEvery is how often a replica looks for files left in
	// progress by a replica that stopped (0: DefaultResumeEvery;
	// negative: only when the store opens).
	ResumeEvery time.Duration
}

// DefaultDir is where files go when file_storage_dir is unset.
func DefaultDir() string { return filepath.Join(os.TempDir(), "semrouter-vector-store") }

func (c Config) withDefaults() Config {
	if c.Dir == "" {
		c.Dir = DefaultDir()
	}
	if c.MaxFileBytes <= 0 {
		c.MaxFileBytes = DefaultMaxFileBytes
	}
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.Formats == "" {
		c.Formats = strings.Join(defaultFormats, ",")
	}
	return c
}

// formats is the set of accepted extensions.
func (c Config) formats() map[string]bool {
	out := map[string]bool{}
	for _, f := range strings.Split(c.Formats, ",") {
		if f = strings.ToLower(strings.TrimSpace(f)); f != "" {
			out[f] = true
		}
	}
	return out
}
