// Package gateway is the request processor shared by the Envoy ext_proc
// server and the OpenAI-compatible API mode: path dispatch, body parsing,
// the embed → (classify ∥ cache) fan-out with deadlines and degradation,
// decision application (rewrite, plugins, immediate responses), the x-vsr-*
// header contract, and response-path accounting (usage, TTFT/TPOT, cache
// publication).
package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/cachekey"
	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
)

// Sentinel errors stage adapters wrap so that logs and callers can tell
// why a stage degraded.
var (
	// ErrStageUnavailable: nobody serves the stage (no responders, closed
	// connection, overload).
	ErrStageUnavailable = errors.New("router stage unavailable")
	// ErrStageTimeout: the stage did not answer within its deadline.
	ErrStageTimeout = errors.New("router stage timed out")
)

// Embedder turns texts into embeddings (one batched call per request).
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Classifier evaluates signals, projections and decisions for a request.
type Classifier interface {
	Classify(ctx context.Context, req *RouteRequest) (*Decision, error)
}

// Cache is the response cache. Lookup returns every candidate it finds for
// the query; the gateway keeps the one scoped to the selected decision.
type Cache interface {
	Lookup(ctx context.Context, q *CacheQuery) ([]CachedResponse, error)
	Store(ctx context.Context, e *CacheEntry) error
}

// PartitionsCache is a Cache that answers one query for several
// partitions in one round trip: the gateway's speculative lookup, made
// while the classifier runs, for every partition the request may be
// routed to.
type PartitionsCache interface {
	Cache
	// LookupPartitions looks q up in each of parts (q.Partition and
	// q.Decision are ignored) and returns one candidate list per
	// partition, in order (empty: a miss). A cache that cannot answer per
	// partition returns an error that is neither ErrStageTimeout nor
	// ErrStageUnavailable: the gateway then looks the selected partition
	// up with Lookup.
	LookupPartitions(ctx context.Context, q *CacheQuery, parts []CachePartition) ([][]CachedResponse, error)
}

// ServedReporter is a PartitionsCache that counts a speculative lookup
// only when told what the request served from it: its alternatives are
// looked up without side effects, so that the hit rate and the eviction
// policy see one lookup per request, in the partition actually used.
// The gateway reports, in the background, every speculative answer it
// used (a hit it served from the cache, or a miss it sent upstream) whose
// lookup asked for a report (CacheQuery.ReportServed); a request that was
// blocked, whose decision does not cache, or whose
// partition was looked up again sequentially is not reported.
type ServedReporter interface {
	// ReportServed tells the cache what was served. It returns an error
	// wrapping ErrReportUnsupported when the cache takes no reports; the
	// gateway then pauses them and probes again later (served.go), and
	// retries a report that was lost (ErrStageUnavailable,
	// ErrStageTimeout) in the background.
	ReportServed(ctx context.Context, r *ServedReport) error
}

// ErrReportUnsupported: the cache takes no served reports (a service
// that predates them).
var ErrReportUnsupported = errors.New("the cache takes no served reports")

// ServedReport is what a request served from a speculative lookup.
type ServedReport struct {
	// Partition is the selected decision's partition.
	Partition CachePartition
	// Hit: answered from the cache, with the candidate EntryID (Exact
	// for an exact-tier hit). Otherwise the request went upstream.
	Hit     bool
	EntryID string
	Exact   bool
}

// LatencyPublisher receives one observation per upstream response.
type LatencyPublisher interface {
	PublishLatency(ctx context.Context, obs *LatencyObservation) error
}

// RouteRequest is what the classifier sees.
type RouteRequest struct {
	// Model is the model name the client asked for (an auto or entrypoint name).
	Model string
	// Recipe is the entrypoint recipe ("" for plain auto names).
	Recipe   string
	Messages []chatreq.Message
	// LastUser indexes the last user message in Messages (-1: none).
	LastUser int
	HasTools bool
	// Embedding is the embedding of the last user turn; nil when the config
	// needs none or the embedder was unavailable (EmbeddingDegraded).
	Embedding         []float32
	EmbeddingDegraded bool
	// History holds the embeddings of earlier user turns, newest first
	// (routes.Spec.HistoryTurns of them at most), from the same batch.
	History [][]float32
	// Header returns a request header value (lower-case name).
	Header func(name string) string
	// Identity is the caller as named by the trusted identity headers
	// (routes.Spec.Identity).
	Identity Identity
	// Request is the parsed body (raw bytes via Request.Raw()).
	Request *chatreq.Request
	// ConfigRevision is the config revision the gateway routes with (0:
	// unknown).
	ConfigRevision uint64
}

// Identity is the caller of a request.
type Identity struct {
	User   string
	Groups []string
}

// Decision is the classifier's answer.
type Decision struct {
	// Name of the matched routing.decisions entry ("" when none matched).
	Name       string
	Confidence float64
	// Model is the selected model name; "" means the decision's first
	// modelRef (or the default model).
	Model string
	// UseReasoning overrides the modelRef's use_reasoning when set.
	UseReasoning    *bool
	ReasoningEffort string
	// Category is the domain classifier's category, when it ran.
	Category string
	// Algorithm is the model-selection algorithm used.
	Algorithm string
	// Scores are the selection algorithm's scores of the decision's
	// models by name (higher is better; nil when it computes none). Model
	// switch protection replaces a conversation's pinned model only for a
	// choice that scores better by more than its margin (sticky.go).
	Scores map[string]float64
	// Matched maps a signal type (keyword, embedding, domain, jailbreak,
	// pii, …, projection) to the rule names that matched.
	Matched map[string][]string
	// Block, when set, stops the request with an immediate error.
	Block *Block
}

// Block is a guardrail verdict.
type Block struct {
	// Status defaults to 403.
	Status  int
	Message string
	// Signal names the signal type that blocked ("jailbreak", "pii").
	Signal string
}

// CacheQuery is a cache lookup for a decision whose response_cache plugin
// is enabled. With a PartitionsCache it is made once the embedding is
// known, in parallel with the classifier, for every partition the request
// may be routed to (LookupPartitions); the gateway keeps the candidate of
// the selected decision and model, and otherwise (or with a plain Cache)
// looks up once the decision and the selected model are known.
type CacheQuery struct {
	// Model is the model name the client asked for.
	Model  string
	Recipe string
	// Decision is the decision asking (Partition.Decision is "" when the
	// plugin's scope is global).
	Decision  string
	Partition CachePartition
	Keys      cachekey.Keys
	// Query is the last user turn; Embedding its embedding (nil when none).
	Query     string
	Embedding []float32
	// Mode is the plugin's mode (exact, semantic, exact_then_semantic).
	Mode                string
	SimilarityThreshold float32
	// MaxAge bounds the age of an answer (client max-age=N); 0: no bound.
	MaxAge time.Duration
	// ReportServed (speculative lookups, LookupPartitions): the gateway
	// will tell a ServedReporter what it served from this lookup, so the
	// cache is not to count it itself.
	ReportServed bool
}

// CachePartition isolates cache entries: a lookup only sees entries stored
// under an equal partition.
type CachePartition struct {
	Recipe string
	// Decision is "" for scope global.
	Decision string
	// Model is the selected (serving) model.
	Model string
	// Scope is global, decision or user; ScopeID is the user id for user.
	Scope   string
	ScopeID string
	// Revision is the plugin's revision salt.
	Revision string
}

// CachedResponse is one cache candidate.
type CachedResponse struct {
	// Decision is the decision scope the entry was stored under.
	Decision   string
	Similarity float32
	Exact      bool
	// Body is a chat.completion JSON body.
	Body []byte
	// EntryID names the cache entry (for ServedReport; may be empty).
	EntryID string
}

// CacheEntry is a completed 2xx response to publish.
type CacheEntry struct {
	Decision  string
	Model     string
	Partition CachePartition
	Keys      cachekey.Keys
	Query     string
	Embedding []float32
	// Body is a chat.completion JSON body (SSE responses are reassembled).
	Body []byte
	// Usage is the completion's token usage, when reported.
	PromptTokens, CompletionTokens int64
	// TTL is the plugin's TTL, or the client's ttl=N (capped).
	TTL time.Duration
}

// LatencyObservation describes one upstream response.
type LatencyObservation struct {
	Model            string
	Decision         string
	Status           int
	Streamed         bool
	PromptTokens     int64
	CompletionTokens int64
	// TTFT is time to first token (streaming) or to the response headers.
	TTFT time.Duration
	// TPOT is the mean time per output token after the first.
	TPOT  time.Duration
	Total time.Duration
}
