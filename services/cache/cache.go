package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// Cache applies a decision's policy and the request's controls over a
// Backend.
type Cache struct {
	backend Backend
	clock   Clock
	logger  *slog.Logger
}

// New returns a Cache over b. A nil clock is the wall clock; a nil logger
// discards.
func New(b Backend, clock Clock, logger *slog.Logger) *Cache {
	if clock == nil {
		clock = SystemClock{}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Cache{backend: b, clock: clock, logger: logger}
}

// Backend returns the underlying backend.
func (c *Cache) Backend() Backend { return c.backend }

// Request is what Lookup and Store need about one chat request.
type Request struct {
	Policy    Policy
	Controls  Controls
	Partition Partition
	Keys      Keys
	// Embedding of Keys.LastUser; nil disables the semantic tier.
	Embedding []float32
}

// Skip reasons reported by Lookup and Store.
const (
	SkipDisabled    = "disabled"
	SkipBypass      = "bypass"
	SkipNoCache     = "no-cache"
	SkipNoStore     = "no-store"
	SkipNotStorable = "not-storable"
)

// LookupResult is the outcome of Lookup.
type LookupResult struct {
	Hit        bool
	Tier       Tier
	Similarity float32
	Entry      *Entry
	// Skipped names why the cache was not consulted ("" when it was).
	Skipped string
}

// Lookup consults the tiers the policy's mode names, unless the policy is
// disabled or the controls forbid answering from the cache.
func (c *Cache) Lookup(ctx context.Context, r Request) (LookupResult, error) {
	switch {
	case !r.Policy.Enabled:
		return LookupResult{Skipped: SkipDisabled}, nil
	case r.Controls.Bypass:
		return LookupResult{Skipped: SkipBypass}, nil
	case r.Controls.NoCache:
		return LookupResult{Skipped: SkipNoCache}, nil
	}
	q := Query{
		Partition: r.Partition,
		Mode:      r.Policy.Mode,
		Exact:     r.Keys.Exact,
		Context:   r.Keys.Context,
		Threshold: r.Policy.SimilarityThreshold,
	}
	if r.Keys.HasUser {
		q.Embedding = r.Embedding
		q.Text = r.Keys.LastUser
	}
	if r.Controls.HasMaxAge {
		q.MaxAge = r.Controls.MaxAge
		if q.MaxAge == 0 {
			// max-age=0 admits nothing: answer from upstream.
			return LookupResult{}, nil
		}
	}
	hit, ok, err := c.backend.Lookup(ctx, q)
	if err != nil {
		return LookupResult{}, fmt.Errorf("cache lookup: %w", err)
	}
	if !ok {
		return LookupResult{}, nil
	}
	return LookupResult{Hit: true, Tier: hit.Tier, Similarity: hit.Similarity, Entry: hit.Entry}, nil
}

// Store saves resp for r when the policy and controls allow it and resp is
// a complete 2xx response. It reports whether it stored, and why not.
func (c *Cache) Store(ctx context.Context, r Request, resp Response) (stored bool, skipped string, err error) {
	switch {
	case !r.Policy.Enabled:
		return false, SkipDisabled, nil
	case r.Controls.Bypass:
		return false, SkipBypass, nil
	case r.Controls.NoStore, r.Controls.HasTTL && r.Controls.TTL == 0:
		return false, SkipNoStore, nil
	}
	if err := resp.Storable(); err != nil {
		return false, SkipNotStorable, nil
	}
	now := c.clock.Now()
	e := &Entry{
		Partition: r.Partition,
		Exact:     r.Keys.Exact,
		Context:   r.Keys.Context,
		Query:     r.Keys.LastUser,
		Response:  resp,
		CreatedAt: now,
	}
	if r.Keys.HasUser && r.Policy.Mode != ModeExact && len(r.Embedding) > 0 {
		e.Embedding = r.Embedding
	}
	if ttl := r.Policy.EffectiveTTL(r.Controls); ttl > 0 {
		e.ExpiresAt = now.Add(ttl)
	}
	if err := c.backend.Put(ctx, e); err != nil {
		if errors.Is(err, ErrTooLarge) {
			c.logger.LogAttrs(ctx, slog.LevelDebug, "cache entry too large",
				slog.String("decision", r.Partition.Decision), slog.Int("bytes", int(e.SizeBytes())))
		}
		return false, "", fmt.Errorf("cache store: %w", err)
	}
	return true, "", nil
}
