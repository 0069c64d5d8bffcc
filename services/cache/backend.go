package cache

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Clock tells the time; backends take one so tests control expiry.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Query is one lookup against a backend.
type Query struct {
	Partition Partition
	Mode      Mode
	Exact     Fingerprint
	Context   Fingerprint
	// Embedding of the last user turn; the semantic tier is skipped
	// without one.
	Embedding []float32
	// Threshold is the minimum cosine similarity of a semantic hit.
	Threshold float32
	// Text is the last user turn. When set, a semantic candidate is only
	// served if SameQuestion(Text, entry.Query) holds; "" skips the guard.
	Text string
	// MaxAge, when positive, rejects entries older than it.
	MaxAge time.Duration
	// Peek makes the lookup free of side effects: no hit or miss is
	// counted, the eviction policy's recency and frequency are not
	// touched, the entry's hit count does not change and nothing is
	// copied between tiers. The lookup of a speculative alternative is a
	// peek; the use actually served is recorded afterwards with Record.
	Peek bool
}

// Use is the outcome of a lookup recorded after the fact (Backend.Record):
// the answer of one request, found by an earlier peek.
type Use struct {
	// Hit: the request was answered from the entry of Partition with
	// exact fingerprint Exact (the entry's own, which for a semantic hit
	// differs from the query's), found through Tier. Otherwise the
	// request was a miss and the other fields are ignored.
	Hit       bool
	Partition Partition
	Exact     Fingerprint
	Tier      Tier
}

// Hit is a successful lookup. Entry is shared: callers must not modify it.
type Hit struct {
	Entry      *Entry
	Tier       Tier
	Similarity float32 // 1 for exact hits
}

// InvalidateFilter selects entries to drop; set fields must all match.
type InvalidateFilter struct {
	// Partition, when set, matches that exact partition.
	Partition *Partition
	// Decision matches entries of that decision in any partition.
	Decision string
	// OlderThan matches entries created more than this long ago.
	OlderThan time.Duration
	// DryRun counts the matches without dropping them.
	DryRun bool
}

// IsEmpty reports whether f has no criterion.
func (f InvalidateFilter) IsEmpty() bool {
	return f.Partition == nil && f.Decision == "" && f.OlderThan <= 0
}

// Matches reports whether e matches f at time now.
func (f InvalidateFilter) Matches(e *Entry, now time.Time) bool {
	if f.Partition != nil && e.Partition != *f.Partition {
		return false
	}
	if f.Decision != "" && e.Partition.Decision != f.Decision {
		return false
	}
	if f.OlderThan > 0 && now.Sub(e.CreatedAt) <= f.OlderThan {
		return false
	}
	return true
}

// Stats are a backend's counters.
type Stats struct {
	Entries     int64
	Hits        int64
	ExactHits   int64
	Misses      int64
	Evictions   int64
	Expirations int64
	MemoryBytes int64
}

// HitRatio is hits / (hits + misses), 0 before any lookup.
func (s Stats) HitRatio() float64 {
	if s.Hits+s.Misses == 0 {
		return 0
	}
	return float64(s.Hits) / float64(s.Hits+s.Misses)
}

// Backend stores entries and answers lookups. Implementations are safe for
// concurrent use.
type Backend interface {
	// Put stores e, replacing an entry with the same partition and exact
	// fingerprint. It rejects entries that are not storable.
	Put(ctx context.Context, e *Entry) error
	// Lookup tries the tiers q.Mode names; ok is false on a miss. Unless
	// q.Peek, it counts the hit or miss and records a hit as a use of the
	// entry by the eviction policy.
	Lookup(ctx context.Context, q Query) (hit Hit, ok bool, err error)
	// Record counts one lookup as u says (a hit, an exact hit, or a miss)
	// and, for a hit, records the use of its entry as a Lookup hit would
	// (eviction recency and frequency, the entry's hit count). found is
	// false when u is a miss or the entry is gone; the hit is counted
	// either way, since it was served.
	Record(ctx context.Context, u Use) (found bool, err error)
	// Invalidate drops (or, with DryRun, counts) the matching entries.
	Invalidate(ctx context.Context, f InvalidateFilter) (int, error)
	// Flush drops every entry.
	Flush(ctx context.Context) error
	Stats(ctx context.Context) (Stats, error)
	Close() error
}

// EvictionPolicy picks the entry to drop when a bound is reached.
type EvictionPolicy string

// Eviction policies.
const (
	EvictFIFO EvictionPolicy = "fifo"
	EvictLRU  EvictionPolicy = "lru"
	EvictLFU  EvictionPolicy = "lfu"
)

// Options configure a backend. Backends document which they honour.
type Options struct {
	// Dim is the embedding dimension (required for the semantic tier).
	Dim int
	// MaxEntries bounds the number of entries (0: unbounded).
	MaxEntries int
	// MaxMemoryBytes bounds the accounted bytes (Entry.SizeBytes plus index
	// cost; 0: unbounded).
	MaxMemoryBytes int64
	// DefaultTTL applies to entries without ExpiresAt (0: no expiry).
	DefaultTTL time.Duration
	// Eviction defaults to LRU.
	Eviction EvictionPolicy
	// Clock defaults to the wall clock.
	Clock Clock
	// HNSW parameters (0: the index defaults).
	M, EfConstruction, Ef int
	Logger                *slog.Logger
}

// WithDefaults fills unset options and validates the rest.
func (o Options) WithDefaults() (Options, error) {
	if o.Dim < 0 || o.MaxEntries < 0 || o.MaxMemoryBytes < 0 || o.DefaultTTL < 0 {
		return o, fmt.Errorf("cache options: dim, max_entries, max_memory_bytes and ttl must not be negative")
	}
	switch o.Eviction {
	case "":
		o.Eviction = EvictLRU
	case EvictFIFO, EvictLRU, EvictLFU:
	default:
		return o, fmt.Errorf("cache options: eviction policy %q: want fifo, lru or lfu", o.Eviction)
	}
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// ExpiresAt is when e expires under the default TTL (zero: never).
func (o Options) ExpiresAt(e *Entry) time.Time {
	if !e.ExpiresAt.IsZero() {
		return e.ExpiresAt
	}
	if o.DefaultTTL > 0 {
		return e.CreatedAt.Add(o.DefaultTTL)
	}
	return time.Time{}
}
