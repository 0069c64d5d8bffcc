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

var (
	_ gateway.PartitionsCache = (*Cache)(nil)
	_ gateway.ServedReporter  = (*Cache)(nil)
)

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

// lookupRequest is the wire form of q, without its partition.
func (c *Cache) lookupRequest(q *gateway.CacheQuery) *cachev1.LookupRequest {
	req := &cachev1.LookupRequest{
		ExactFingerprint: q.Keys.Exact, ContextFingerprint: q.Keys.Context,
		Mode: Mode(q.Mode), SimilarityThreshold: float64(q.SimilarityThreshold), QueryText: q.Query,
	}
	if len(q.Embedding) > 0 {
		req.QueryEmbedding, req.EmbeddingModel = &commonv1.Vector{Values: q.Embedding}, c.embeddingModel()
	}
	if q.MaxAge > 0 {
		req.MaxAge = durationpb.New(q.MaxAge)
	}
	return req
}

// Lookup asks the cache for an answer in the query's partition.
func (c *Cache) Lookup(ctx context.Context, q *gateway.CacheQuery) ([]gateway.CachedResponse, error) {
	req := c.lookupRequest(q)
	req.Partition = Partition(q.Partition)
	res, err := c.client.Lookup(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, stageError("cache lookup", err)
	}
	m := res.Msg
	return candidate(q.Decision, m.GetHit(), m.GetSimilarity(), m.GetTier(), m.GetResponse(), m.GetEntryId())
}

// ErrNoCandidates: the cache service answered a lookup with alternatives
// without one candidate per alternative (a service that predates them).
var ErrNoCandidates = errors.New("cache lookup: the service answered no candidates for the alternatives")

// LookupPartitions asks the cache for an answer in each of parts at once
// (LookupRequest.alternatives): one candidate list per partition. With
// q.ReportServed the lookup asks to be counted by ReportServed
// (report_served) instead of counting itself.
func (c *Cache) LookupPartitions(ctx context.Context, q *gateway.CacheQuery, parts []gateway.CachePartition) ([][]gateway.CachedResponse, error) {
	req := c.lookupRequest(q)
	req.ReportServed = q.ReportServed
	req.Alternatives = make([]*cachev1.Partition, len(parts))
	for i, p := range parts {
		req.Alternatives[i] = Partition(p)
	}
	res, err := c.client.Lookup(ctx, connect.NewRequest(req))
	if err != nil {
		if connect.CodeOf(err) == connect.CodeInvalidArgument || connect.CodeOf(err) == connect.CodeUnimplemented {
			// Not a stage failure: the gateway falls back to Lookup.
			return nil, fmt.Errorf("cache lookup: %w", err)
		}
		return nil, stageError("cache lookup", err)
	}
	cands := res.Msg.GetCandidates()
	if len(cands) != len(parts) {
		return nil, ErrNoCandidates
	}
	out := make([][]gateway.CachedResponse, len(parts))
	for _, m := range cands {
		i := int(m.GetIndex())
		if i < 0 || i >= len(parts) || out[i] != nil {
			return nil, fmt.Errorf("%w: candidate index %d", ErrNoCandidates, i)
		}
		hits, err := candidate("", m.GetHit(), m.GetSimilarity(), m.GetTier(), m.GetResponse(), m.GetEntryId())
		if err != nil {
			return nil, err
		}
		if hits == nil {
			hits = []gateway.CachedResponse{}
		}
		out[i] = hits
	}
	return out, nil
}

// candidate decodes one lookup outcome (nil: a miss). A stream stored by
// another writer is reassembled: the gateway answers from the completion
// it carries.
func candidate(decision string, hit bool, similarity float64, tier cachev1.CacheTier, resp *cachev1.CachedResponse, entryID string) ([]gateway.CachedResponse, error) {
	if !hit || len(resp.GetBody()) == 0 {
		return nil, nil
	}
	body := resp.GetBody()
	if resp.GetSse() {
		r := sse.New(len(body) + 1)
		r.Write(body)
		r.Close()
		if !r.Complete() {
			return nil, errors.New("cache lookup: cached stream is incomplete")
		}
		var err error
		if body, err = r.Completion(); err != nil {
			return nil, fmt.Errorf("cache lookup: reassemble cached stream: %w", err)
		}
	}
	return []gateway.CachedResponse{{Decision: decision, Similarity: float32(similarity),
		Exact: tier == cachev1.CacheTier_CACHE_TIER_EXACT, Body: body, EntryID: entryID}}, nil
}

// ReportServed sends CacheService/Served: what a request served from a
// lookup made by LookupPartitions. A service that answers Unimplemented
// (it predates served reports) gets an error wrapping
// gateway.ErrReportUnsupported; the gateway then pauses reports and
// probes again later. A report that found no responder or timed out
// wraps gateway.ErrStageUnavailable or gateway.ErrStageTimeout (the
// gateway retries it).
func (c *Cache) ReportServed(ctx context.Context, r *gateway.ServedReport) error {
	req := &cachev1.ServedRequest{Partition: Partition(r.Partition), Hit: r.Hit}
	if r.Hit {
		req.EntryId, req.Tier = r.EntryID, cachev1.CacheTier_CACHE_TIER_SEMANTIC
		if r.Exact {
			req.Tier = cachev1.CacheTier_CACHE_TIER_EXACT
		}
	}
	_, err := c.client.Served(ctx, connect.NewRequest(req))
	if connect.CodeOf(err) == connect.CodeUnimplemented {
		return fmt.Errorf("cache served report: %w: %w", gateway.ErrReportUnsupported, err)
	}
	if err != nil {
		return stageError("cache served report", err)
	}
	return nil
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
