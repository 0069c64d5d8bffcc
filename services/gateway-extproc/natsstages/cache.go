package natsstages

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	cachev1 "github.com/semrouter/semrouter/gen/semrouter/cache/v1"
	"github.com/semrouter/semrouter/gen/semrouter/cache/v1/cachev1connect"
	commonv1 "github.com/semrouter/semrouter/gen/semrouter/common/v1"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/pkg/subjects"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
	"github.com/semrouter/semrouter/services/gateway-extproc/sse"
)

// Cache is the response cache over NATS.
type Cache struct {
	client cachev1connect.CacheServiceClient
	js     jetstream.JetStream
	// embeddingModel names the model of query embeddings.
	embeddingModel func() string
	now            func() time.Time
}

var _ gateway.Cache = (*Cache)(nil)

// NewCache returns a Cache. embeddingModel (optional) names the model the
// query embeddings come from; pass (*Embedder).ResolvedModel.
func NewCache(nc *nats.Conn, embeddingModel func() string, opts ...natsrpc.ClientOption) (*Cache, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("open jetstream: %w", err)
	}
	if embeddingModel == nil {
		embeddingModel = func() string { return "" }
	}
	return &Cache{
		client:         cachev1connect.NewCacheServiceClient(natsrpc.NewClient(nc, opts...), natsrpc.BaseURL),
		js:             js,
		embeddingModel: embeddingModel,
		now:            time.Now,
	}, nil
}

// Partition maps the gateway's partition to the wire form. The gateway
// stores JSON completions only (SSE answers are reassembled and replayed),
// so stream is always false.
func Partition(p gateway.CachePartition) *cachev1.Partition {
	out := &cachev1.Partition{Recipe: p.Recipe, Decision: p.Decision, Model: p.Model, Revision: p.Revision,
		Scope: cachev1.CacheScope_CACHE_SCOPE_GLOBAL}
	if p.Scope == routes.CacheScopeUser {
		out.Scope, out.ScopeId = cachev1.CacheScope_CACHE_SCOPE_USER, p.ScopeID
	}
	return out
}

// Mode maps a response_cache mode ("" is semantic).
func Mode(m string) cachev1.LookupMode {
	switch m {
	case routes.CacheModeExact:
		return cachev1.LookupMode_LOOKUP_MODE_EXACT
	case routes.CacheModeExactThenSemantic:
		return cachev1.LookupMode_LOOKUP_MODE_EXACT_THEN_SEMANTIC
	default:
		return cachev1.LookupMode_LOOKUP_MODE_SEMANTIC
	}
}

// Lookup asks the cache for an answer in the query's partition.
func (c *Cache) Lookup(ctx context.Context, q *gateway.CacheQuery) ([]gateway.CachedResponse, error) {
	req := &cachev1.LookupRequest{
		ExactFingerprint: q.Keys.Exact, ContextFingerprint: q.Keys.Context,
		Partition: Partition(q.Partition), Mode: Mode(q.Mode), SimilarityThreshold: float64(q.SimilarityThreshold),
	}
	if len(q.Embedding) > 0 {
		req.QueryEmbedding, req.EmbeddingModel = &commonv1.Vector{Values: q.Embedding}, c.embeddingModel()
	}
	if q.MaxAge > 0 {
		req.MaxAge = durationpb.New(q.MaxAge)
	}
	res, err := c.client.Lookup(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, stageError("cache lookup", err)
	}
	m := res.Msg
	if !m.GetHit() || len(m.GetResponse().GetBody()) == 0 {
		return nil, nil
	}
	body := m.GetResponse().GetBody()
	if m.GetResponse().GetSse() {
		// Another writer stored the raw stream: the gateway answers from
		// the completion it carries.
		r := sse.New(len(body) + 1)
		r.Write(body)
		r.Close()
		if !r.Complete() {
			return nil, errors.New("cache lookup: cached stream is incomplete")
		}
		if body, err = r.Completion(); err != nil {
			return nil, fmt.Errorf("cache lookup: reassemble cached stream: %w", err)
		}
	}
	return []gateway.CachedResponse{{Decision: q.Decision, Similarity: float32(m.GetSimilarity()),
		Exact: m.GetTier() == cachev1.CacheTier_CACHE_TIER_EXACT, Body: body}}, nil
}

// StoreRequest is the wire form of an entry.
func (c *Cache) StoreRequest(e *gateway.CacheEntry) *cachev1.StoreRequest {
	req := &cachev1.StoreRequest{
		ExactFingerprint: e.Keys.Exact, ContextFingerprint: e.Keys.Context,
		Partition: Partition(e.Partition), QueryText: e.Query,
		Response: &cachev1.CachedResponse{Body: e.Body, ContentType: "application/json", StatusCode: 200,
			StoredAt: timestamppb.New(c.now()), Model: e.Model,
			Usage: &commonv1.Usage{PromptTokens: e.PromptTokens, CompletionTokens: e.CompletionTokens,
				TotalTokens: e.PromptTokens + e.CompletionTokens}},
	}
	if len(e.Embedding) > 0 {
		req.QueryEmbedding, req.EmbeddingModel = &commonv1.Vector{Values: e.Embedding}, c.embeddingModel()
	}
	if e.TTL > 0 {
		req.Ttl = durationpb.New(e.TTL)
	}
	return req
}

// Store publishes the entry on the cache writes stream (every cache
// replica consumes it). When no stream captures the subject, it falls
// back to the synchronous CacheService/Store.
func (c *Cache) Store(ctx context.Context, e *gateway.CacheEntry) error {
	req := c.StoreRequest(e)
	data, err := proto.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode cache write: %w", err)
	}
	_, err = c.js.Publish(ctx, subjects.CacheWrite(e.Partition.Decision), data)
	if err == nil {
		return nil
	}
	if !errors.Is(err, jetstream.ErrNoStreamResponse) && !errors.Is(err, nats.ErrNoResponders) {
		return stageError("publish cache write", err)
	}
	res, err := c.client.Store(ctx, connect.NewRequest(req))
	if err != nil {
		return stageError("cache store", err)
	}
	if !res.Msg.GetStored() {
		return fmt.Errorf("cache store: dropped: %s", res.Msg.GetReason())
	}
	return nil
}
