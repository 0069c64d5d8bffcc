package service_test

// TEST DOUBLES. The embedder, classifier and cache services live in other
// modules (being built in parallel); these small implementations of their
// generated Connect handler interfaces stand in for them. They are real
// Connect handlers served over real NATS by pkg/natsrpc, so everything
// between the gateway and the handler (generated clients, natsrpc, subjects,
// deadlines, error mapping) is the production path.

import (
	"context"
	"strings"
	"sync"

	"connectrpc.com/connect"

	cachev1 "github.com/semrouter/semrouter/gen/semrouter/cache/v1"
	"github.com/semrouter/semrouter/gen/semrouter/cache/v1/cachev1connect"
	classifierv1 "github.com/semrouter/semrouter/gen/semrouter/classifier/v1"
	"github.com/semrouter/semrouter/gen/semrouter/classifier/v1/classifierv1connect"
	embeddingv1 "github.com/semrouter/semrouter/gen/semrouter/embedding/v1"
	"github.com/semrouter/semrouter/gen/semrouter/embedding/v1/embeddingv1connect"
)

// embedderDouble embeds a text as 4 numbers derived from its bytes.
type embedderDouble struct {
	embeddingv1connect.UnimplementedEmbeddingServiceHandler
	mu    sync.Mutex
	texts []string
}

const doubleEmbedModel = "double-embed"

func (e *embedderDouble) Embed(_ context.Context, r *connect.Request[embeddingv1.EmbedRequest]) (*connect.Response[embeddingv1.EmbedResponse], error) {
	e.mu.Lock()
	e.texts = append(e.texts, r.Msg.GetTexts()...)
	e.mu.Unlock()
	res := &embeddingv1.EmbedResponse{Model: doubleEmbedModel, Dimensions: 4}
	for _, t := range r.Msg.GetTexts() {
		v := []float32{1, 0, 0, 0}
		for i, b := range []byte(t) {
			v[i%4] += float32(b) / 256
		}
		res.Embeddings = append(res.Embeddings, &embeddingv1.Embedding{Values: v})
	}
	return connect.NewResponse(res), nil
}

// classifierDouble routes by keyword: "code" → decision coding / model big
// with reasoning; "capital" → decision facts / model small; anything else
// → no decision, model small. It records what it was sent.
type classifierDouble struct {
	classifierv1connect.UnimplementedClassifierServiceHandler
	mu   sync.Mutex
	seen []*classifierv1.ClassifyRequest
}

func (c *classifierDouble) Classify(_ context.Context, r *connect.Request[classifierv1.ClassifyRequest]) (*connect.Response[classifierv1.ClassifyResponse], error) {
	c.mu.Lock()
	c.seen = append(c.seen, r.Msg)
	c.mu.Unlock()
	var last string
	for _, m := range r.Msg.GetFacts().GetMessages() {
		if m.GetRole() == "user" && len(m.GetContent()) > 0 {
			last = m.GetContent()[0].GetText()
		}
	}
	ev := &classifierv1.Evaluation{Model: &classifierv1.SelectedModel{Name: "small", Algorithm: "static"},
		Reasoning: &classifierv1.Reasoning{}}
	switch {
	case strings.Contains(last, "code"):
		ev.Decision = &classifierv1.Decision{Name: "coding", Confidence: 0.9}
		ev.Model.Name = "big"
		ev.Reasoning.UseReasoning = true
		ev.Signals = []*classifierv1.SignalMatch{{Family: "keyword", Name: "code", Matched: true, Confidence: 1}}
	case strings.Contains(last, "capital"):
		ev.Decision = &classifierv1.Decision{Name: "facts", Confidence: 0.8}
		ev.Signals = []*classifierv1.SignalMatch{{Family: "keyword", Name: "cacheable", Matched: true, Confidence: 1}}
	}
	return connect.NewResponse(&classifierv1.ClassifyResponse{Evaluation: ev}), nil
}

func (c *classifierDouble) last() *classifierv1.ClassifyRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.seen) == 0 {
		return nil
	}
	return c.seen[len(c.seen)-1]
}

// cacheDouble is an exact-tier cache keyed by partition and exact
// fingerprint; it answers lookups with alternatives (one candidate each).
// stored receives every store.
type cacheDouble struct {
	cachev1connect.UnimplementedCacheServiceHandler
	mu      sync.Mutex
	entries map[string]*cachev1.StoreRequest
	lookups []*cachev1.LookupRequest
	stored  chan *cachev1.StoreRequest
}

func newCacheDouble() *cacheDouble {
	return &cacheDouble{entries: map[string]*cachev1.StoreRequest{}, stored: make(chan *cachev1.StoreRequest, 16)}
}

func partitionKey(p *cachev1.Partition, exact string) string {
	return strings.Join([]string{p.GetRecipe(), p.GetDecision(), p.GetModel(), p.GetScope().String(), p.GetScopeId(), p.GetRevision(), exact}, "\x00")
}

func (c *cacheDouble) Lookup(_ context.Context, r *connect.Request[cachev1.LookupRequest]) (*connect.Response[cachev1.LookupResponse], error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lookups = append(c.lookups, r.Msg)
	if alts := r.Msg.GetAlternatives(); len(alts) > 0 {
		// The gateway's speculative lookup: one candidate per partition.
		res := &cachev1.LookupResponse{}
		for i, p := range alts {
			cand := &cachev1.LookupCandidate{Index: int32(i)}
			if e, ok := c.entries[partitionKey(p, r.Msg.GetExactFingerprint())]; ok {
				cand.Hit, cand.Similarity, cand.Tier, cand.Response = true, 1, cachev1.CacheTier_CACHE_TIER_EXACT, e.GetResponse()
				res.Hit = true
			}
			res.Candidates = append(res.Candidates, cand)
		}
		return connect.NewResponse(res), nil
	}
	e, ok := c.entries[partitionKey(r.Msg.GetPartition(), r.Msg.GetExactFingerprint())]
	if !ok {
		return connect.NewResponse(&cachev1.LookupResponse{}), nil
	}
	return connect.NewResponse(&cachev1.LookupResponse{Hit: true, Similarity: 1, Tier: cachev1.CacheTier_CACHE_TIER_EXACT,
		Response: e.GetResponse()}), nil
}

func (c *cacheDouble) Store(_ context.Context, r *connect.Request[cachev1.StoreRequest]) (*connect.Response[cachev1.StoreResponse], error) {
	c.mu.Lock()
	c.entries[partitionKey(r.Msg.GetPartition(), r.Msg.GetExactFingerprint())] = r.Msg
	c.mu.Unlock()
	c.stored <- r.Msg
	return connect.NewResponse(&cachev1.StoreResponse{Stored: true, EntryId: r.Msg.GetExactFingerprint()[:8]}), nil
}
