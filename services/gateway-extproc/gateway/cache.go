package gateway

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/cachekey"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
	"github.com/semrouter/semrouter/services/gateway-extproc/sse"
)

type cacheResult struct {
	hits []CachedResponse
	err  error
}

// cacheKeys is the fingerprints of this exchange, computed once for the
// speculative lookup, the lookup and the store.
type cacheKeys struct {
	done bool
	ok   bool
	// err is why the body could not be fingerprinted; reported (degraded)
	// once, when a lookup or store of the selected decision needs the keys.
	err      error
	reported bool
	keys     cachekey.Keys
	id       Identity
}

// fingerprints computes the cache keys of the request body once.
func (x *Exchange) fingerprints() (cachekey.Keys, bool) {
	ck := &x.routed.cache
	if !ck.done {
		ck.done = true
		keys, err := cachekey.Compute(x.req.Raw())
		if err != nil {
			ck.err = err
		} else {
			ck.keys, ck.ok = keys, true
		}
	}
	return ck.keys, ck.ok
}

// partitionFor is the partition of this exchange under rc, the
// response_cache plugin of decision, when model serves it: the one place
// partitions are made, for the speculative lookup (every decision × model
// the request may be routed to) and for the selected decision. ok is false
// when the request cannot be cached under rc (scope user without a user
// id).
func (x *Exchange) partitionFor(rc *routes.ResponseCachePlugin, decision, model string) (CachePartition, bool) {
	p := CachePartition{Recipe: x.recipe, Decision: decision, Model: model, Scope: rc.Scope, Revision: rc.Revision}
	switch rc.Scope {
	case routes.CacheScopeGlobal:
		p.Decision = ""
	case routes.CacheScopeUser:
		if x.routed.cache.id.User == "" {
			// Never share a per-user cache between anonymous callers.
			return CachePartition{}, false
		}
		p.ScopeID = x.routed.cache.id.User
	default:
		p.Scope = routes.CacheScopeDecision
	}
	return p, true
}

// cachePartition is the partition of this exchange under rc for the
// selected decision and the model now serving it; ok is false when the
// request cannot be cached (scope user without a user id, or a body that
// cannot be fingerprinted).
func (x *Exchange) cachePartition(rc *routes.ResponseCachePlugin) (CachePartition, cachekey.Keys, bool) {
	keys, ok := x.fingerprints()
	if ck := &x.routed.cache; !ok {
		if !ck.reported {
			ck.reported = true
			x.degrade(StageCache, ck.err)
		}
		return CachePartition{}, cachekey.Keys{}, false
	}
	if x.routed.target.Model == nil {
		return CachePartition{}, cachekey.Keys{}, false
	}
	model := x.routed.target.Model.Name
	if m := x.routed.looperRouted; m != "" {
		// A multi-call answer is kept where the lookup looks (LooperRan).
		model = m
	}
	p, ok := x.partitionFor(rc, x.routed.decision.Name, model)
	if !ok {
		return CachePartition{}, cachekey.Keys{}, false
	}
	return p, keys, true
}

// cacheQuery is the lookup of decision (whose plugin is rc) in part.
func (x *Exchange) cacheQuery(rc *routes.ResponseCachePlugin, decision string, part CachePartition, keys cachekey.Keys) *CacheQuery {
	q := &CacheQuery{Model: x.req.Model, Recipe: x.recipe, Decision: decision, Partition: part, Keys: keys,
		Query: x.req.LastUserText(), Embedding: x.routed.embedding, Mode: rc.Mode, SimilarityThreshold: rc.SimilarityThreshold}
	if maxAge, ok := x.cacheControlSeconds(rc, "max-age"); ok {
		q.MaxAge = maxAge
	}
	return q
}

// cacheLookup asks the cache for the selected decision when its
// response_cache plugin is enabled, under the stage deadline. When the
// speculative lookup (started with the classifier) anticipated the
// selected partition, its candidate is the answer; otherwise the lookup
// is made now. A lookup that ignores its deadline is abandoned.
func (x *Exchange) cacheLookup(ctx context.Context, spec *speculation) []CachedResponse {
	rc := x.responseCachePlugin()
	c := x.g.stages.Cache
	if rc == nil || c == nil || x.req.LastUser < 0 || x.cacheDirective(rc, "no-cache") {
		return nil
	}
	part, keys, ok := x.cachePartition(rc)
	if !ok {
		return nil
	}
	q := x.cacheQuery(rc, x.routed.decision.Name, part, keys)
	if hits, ok := x.speculated(spec, q); ok {
		return hits
	}
	ctx = x.startCacheSpan(ctx, q.Decision)
	ctx, cancel := context.WithTimeout(ctx, x.t.StageTimeout)
	defer cancel()
	ch := make(chan cacheResult, 1)
	go func() {
		hits, err := c.Lookup(ctx, q)
		ch <- cacheResult{hits, err}
	}()
	var res cacheResult
	select {
	case res = <-ch:
	case <-ctx.Done():
		res.err = ctx.Err()
	}
	if res.err != nil {
		x.cacheErr = res.err
		x.degrade(StageCache, res.err)
		return nil
	}
	return res.hits
}

// cacheEntry builds the entry to store for a complete 2xx completion, or
// nil when this exchange must not be stored.
func (x *Exchange) cacheEntry(completion []byte, model string) *CacheEntry {
	rc := x.responseCachePlugin()
	if rc == nil || x.g.stages.Cache == nil || x.req.LastUser < 0 || x.cacheDirective(rc, "no-store") {
		return nil
	}
	part, keys, ok := x.cachePartition(rc)
	if !ok {
		return nil
	}
	e := &CacheEntry{Decision: x.routed.decision.Name, Model: model, Partition: part, Keys: keys,
		Query: x.req.LastUserText(), Embedding: x.routed.embedding, Body: completion, TTL: rc.TTL}
	if ttl, ok := x.cacheControlSeconds(rc, "ttl"); ok {
		if rc.Controls.MaxTTL > 0 && ttl > rc.Controls.MaxTTL {
			ttl = rc.Controls.MaxTTL
		}
		e.TTL = ttl
	}
	return e
}

// cacheHit returns the immediate response for the best cache candidate
// scoped to the selected decision, when the decision enables the cache.
func (x *Exchange) cacheHit(hits []CachedResponse) *Immediate {
	rc := x.responseCachePlugin()
	if rc == nil || len(hits) == 0 || x.cacheDirective(rc, "no-cache") {
		return nil
	}
	name := x.routed.decision.Name
	best := -1
	for i, c := range hits {
		if c.Decision != name || len(c.Body) == 0 || (!c.Exact && c.Similarity < rc.SimilarityThreshold) {
			continue
		}
		if best < 0 || c.Exact || c.Similarity > hits[best].Similarity {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	hit := hits[best]
	body, ctype := hit.Body, "application/json"
	if x.req.Stream {
		replay, err := sse.Replay(hit.Body, x.req.IncludeUsage)
		if err != nil {
			x.degrade(StageCache, err)
			return nil
		}
		body, ctype = replay, "text/event-stream"
	}
	x.routed.path, x.routed.cacheHit = "cache", true
	x.routed.cacheEntry, x.routed.cacheExact = hit.EntryID, hit.Exact
	x.routed.similarity = hit.Similarity
	if hit.Exact {
		x.routed.similarity = 1
	}
	h := x.appendRouteHeaders([]Header{{"content-type", ctype}})
	return &Immediate{Status: http.StatusOK, Body: body, Headers: append(h, x.priceCacheHit(hit.Body)...)}
}

// cacheDirective reports whether the client asked for directive (or for
// "bypass", which implies both no-cache and no-store) through the decision's
// request_controls header, and the decision allows it.
func (x *Exchange) cacheDirective(rc *routes.ResponseCachePlugin, directive string) bool {
	c := rc.Controls
	if c == nil || x.hdr == nil {
		return false
	}
	name := c.Header
	if name == "" {
		name = "x-vsr-cache-control"
	}
	v := x.hdr(strings.ToLower(name))
	if v == "" {
		return false
	}
	for _, d := range strings.Split(v, ",") {
		d = strings.ToLower(strings.TrimSpace(d))
		if d != directive && d != "bypass" {
			continue
		}
		for _, a := range c.Allowed {
			if strings.EqualFold(a, d) {
				return true
			}
		}
	}
	return false
}

// cacheControlSeconds returns the value of an allowed "name=N" directive
// (N seconds) of the request_controls header.
func (x *Exchange) cacheControlSeconds(rc *routes.ResponseCachePlugin, name string) (time.Duration, bool) {
	c := rc.Controls
	if c == nil || x.hdr == nil {
		return 0, false
	}
	allowed := false
	for _, a := range c.Allowed {
		allowed = allowed || strings.EqualFold(a, name)
	}
	if !allowed {
		return 0, false
	}
	header := c.Header
	if header == "" {
		header = "x-vsr-cache-control"
	}
	for _, d := range strings.Split(x.hdr(strings.ToLower(header)), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(d), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), name) {
			continue
		}
		n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(v), `"`), 10, 64)
		if err != nil || n < 0 || n > 100*365*24*3600 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	return 0, false
}
