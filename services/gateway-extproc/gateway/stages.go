// Package gateway is the request processor shared by the Envoy ext_proc
// server and the OpenAI-compatible API mode: path dispatch, body parsing,
// the embed → (classify ∥ cache) fan-out with deadlines and degradation,
// decision application (rewrite, plugins, immediate responses), the x-vsr-*
// header contract, and response-path accounting (usage, TTFT/TPOT, cache
// publication).
package gateway

import (
	"context"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
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
	// Header returns a request header value (lower-case name).
	Header func(name string) string
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

// CacheQuery is a cache lookup.
type CacheQuery struct {
	Model     string
	Recipe    string
	Query     string
	Embedding []float32
}

// CachedResponse is one cache candidate.
type CachedResponse struct {
	// Decision is the decision scope the entry was stored under.
	Decision   string
	Similarity float32
	Exact      bool
	// Body is a chat.completion JSON body.
	Body []byte
}

// CacheEntry is a completed 2xx response to publish.
type CacheEntry struct {
	Decision  string
	Model     string
	Query     string
	Embedding []float32
	Body      []byte
	TTL       time.Duration
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
