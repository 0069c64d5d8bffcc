// Package hybrid is a two-tier cache backend: the in-memory HNSW backend in
// front of a persistent backend (Redis by default).
//
//   - Writes go to the persistent tier first (it is the source of truth),
//     then to memory.
//   - Lookups try memory first; a memory miss falls through to the
//     persistent tier and a hit there is copied into memory (read-through).
//     After a restart memory is empty and rebuilds itself from the
//     persistent store this way, one hit at a time; when the persistent
//     backend also implements Scanner the whole store is loaded eagerly
//     by New.
//   - Both tiers get the same bounds and eviction policy. For LRU and LFU a
//     memory hit is recorded on the persistent tier too (a touch), so both
//     tiers agree on what to evict. Touches are queued and applied by a
//     background goroutine; every write (Put, Invalidate, Flush) and Stats
//     first applies the pending touches, so eviction decisions always see
//     them.
//   - A peek (cache.Query.Peek) reads memory, then the persistent tier,
//     without counting, touching or copying anything into memory; Record
//     counts a use reported later and records it as a hit of Lookup would
//     (reading the entry through into memory when memory lacks it).
//   - Invalidate and Flush apply to both tiers; the persistent tier's count
//     is authoritative. Stats report the persistent tier's entries,
//     evictions and expirations, this backend's own hit and miss counters
//     and the memory tier's bytes (what this process holds).
//
// When several replicas share the persistent tier, a replica's memory tier
// may keep an entry that another replica's write evicted from the shared
// store, until its TTL or its own eviction; the byte accounting of the two
// tiers can also differ slightly under a byte bound.
package hybrid

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/semrouter/semrouter/services/cache"
	"github.com/semrouter/semrouter/services/cache/memory"
)

var _ cache.Backend = (*Backend)(nil)

// Scanner is implemented by persistent backends that can list their live
// entries; New then loads them into memory at once.
type Scanner interface {
	Scan(ctx context.Context, fn func(*cache.Entry) error) error
}

// maxPendingTouches bounds the touch queue; beyond it touches are dropped
// (counted in DroppedTouches), which only weakens LRU/LFU accuracy.
const maxPendingTouches = 4096

// Backend is the hybrid backend.
type Backend struct {
	mem   *memory.Backend
	store cache.Backend
	opts  cache.Options

	touchMu  sync.Mutex // guards pending
	pending  []cache.Query
	applyMu  sync.Mutex // serialises applying touches
	wake     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup

	hits, exactHits, misses, dropped atomic.Int64
	closed                           atomic.Bool
}

// New puts a memory tier built from opts in front of store. The hybrid
// backend owns store: Close closes it.
func New(ctx context.Context, store cache.Backend, opts cache.Options) (*Backend, error) {
	if store == nil {
		return nil, errors.New("hybrid: a persistent backend is required")
	}
	opts, err := opts.WithDefaults()
	if err != nil {
		return nil, err
	}
	mem, err := memory.New(opts)
	if err != nil {
		return nil, fmt.Errorf("hybrid: memory tier: %w", err)
	}
	b := &Backend{mem: mem, store: store, opts: opts, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if sc, ok := store.(Scanner); ok {
		err := sc.Scan(ctx, func(e *cache.Entry) error {
			if err := mem.Put(ctx, e); err != nil && !errors.Is(err, cache.ErrTooLarge) {
				return err
			}
			return nil
		})
		if err != nil {
			_ = mem.Close()
			return nil, fmt.Errorf("hybrid: load persistent entries: %w", err)
		}
	}
	b.wg.Add(1)
	go b.touchLoop()
	return b, nil
}

// Memory is the memory tier (for inspection).
func (b *Backend) Memory() *memory.Backend { return b.mem }

// Put stores e in the persistent tier, then in memory.
func (b *Backend) Put(ctx context.Context, e *cache.Entry) error {
	if b.closed.Load() {
		return cache.ErrClosed
	}
	b.applyTouches(ctx)
	if err := b.store.Put(ctx, e); err != nil {
		return err
	}
	if err := b.mem.Put(ctx, e); err != nil {
		// The entry is stored; memory will pick it up on a read-through.
		b.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "hybrid: memory tier put", slog.String("error", err.Error()))
	}
	return nil
}

// Lookup tries memory, then the persistent tier. A peek (q.Peek) counts
// nothing, touches neither tier and copies nothing into memory.
func (b *Backend) Lookup(ctx context.Context, q cache.Query) (cache.Hit, bool, error) {
	if b.closed.Load() {
		return cache.Hit{}, false, cache.ErrClosed
	}
	h, ok, err := b.mem.Lookup(ctx, q)
	if err != nil {
		return cache.Hit{}, false, err
	}
	if ok {
		if !q.Peek {
			b.count(h.Tier)
			b.touchStore(h.Entry.Partition, h.Entry.Exact)
		}
		return h, true, nil
	}
	h, ok, err = b.store.Lookup(ctx, q)
	if err != nil {
		return cache.Hit{}, false, err
	}
	if q.Peek {
		return h, ok, nil
	}
	if !ok {
		b.misses.Add(1)
		return cache.Hit{}, false, nil
	}
	b.count(h.Tier)
	b.copyToMemory(ctx, h.Entry)
	return h, true, nil
}

// Record counts u and records a hit as Lookup would: on the memory tier
// and, queued, on the persistent tier; an entry memory lacks is read
// through from the persistent tier (which records the hit there).
func (b *Backend) Record(ctx context.Context, u cache.Use) (bool, error) {
	if b.closed.Load() {
		return false, cache.ErrClosed
	}
	if !u.Hit {
		b.misses.Add(1)
		return false, nil
	}
	b.count(u.Tier)
	found, err := b.mem.Record(ctx, u)
	if err != nil {
		return false, err
	}
	if found {
		b.touchStore(u.Partition, u.Exact)
		return true, nil
	}
	h, ok, err := b.store.Lookup(ctx, cache.Query{Partition: u.Partition, Mode: cache.ModeExact, Exact: u.Exact})
	if err != nil || !ok {
		return false, err
	}
	b.copyToMemory(ctx, h.Entry)
	return true, nil
}

// touchStore queues a touch of an entry on the persistent tier (LRU and
// LFU only).
func (b *Backend) touchStore(p cache.Partition, exact cache.Fingerprint) {
	if b.opts.Eviction != cache.EvictFIFO {
		b.queueTouch(cache.Query{Partition: p, Mode: cache.ModeExact, Exact: exact})
	}
}

func (b *Backend) copyToMemory(ctx context.Context, e *cache.Entry) {
	if err := b.mem.Put(ctx, e); err != nil && !errors.Is(err, cache.ErrTooLarge) {
		b.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "hybrid: copy entry into memory", slog.String("error", err.Error()))
	}
}

func (b *Backend) count(tier cache.Tier) {
	b.hits.Add(1)
	if tier == cache.TierExact {
		b.exactHits.Add(1)
	}
}

func (b *Backend) queueTouch(q cache.Query) {
	b.touchMu.Lock()
	if len(b.pending) >= maxPendingTouches {
		b.touchMu.Unlock()
		b.dropped.Add(1)
		return
	}
	b.pending = append(b.pending, q)
	b.touchMu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// applyTouches records the queued memory hits on the persistent tier.
func (b *Backend) applyTouches(ctx context.Context) {
	b.applyMu.Lock()
	defer b.applyMu.Unlock()
	b.touchMu.Lock()
	batch := b.pending
	b.pending = nil
	b.touchMu.Unlock()
	for _, q := range batch {
		if _, _, err := b.store.Lookup(ctx, q); err != nil && !errors.Is(err, cache.ErrClosed) {
			b.opts.Logger.LogAttrs(ctx, slog.LevelDebug, "hybrid: touch persistent entry", slog.String("error", err.Error()))
		}
	}
}

func (b *Backend) touchLoop() {
	defer b.wg.Done()
	for {
		select {
		case <-b.done:
			return
		case <-b.wake:
			b.applyTouches(context.Background())
		}
	}
}

// Invalidate drops (or counts) matching entries in both tiers; the count
// is the persistent tier's.
func (b *Backend) Invalidate(ctx context.Context, f cache.InvalidateFilter) (int, error) {
	if b.closed.Load() {
		return 0, cache.ErrClosed
	}
	b.applyTouches(ctx)
	n, err := b.store.Invalidate(ctx, f)
	if err != nil || f.DryRun {
		return n, err
	}
	if _, err := b.mem.Invalidate(ctx, f); err != nil {
		return n, fmt.Errorf("hybrid: invalidate memory tier: %w", err)
	}
	return n, nil
}

// Flush empties both tiers.
func (b *Backend) Flush(ctx context.Context) error {
	if b.closed.Load() {
		return cache.ErrClosed
	}
	b.applyTouches(ctx)
	if err := b.store.Flush(ctx); err != nil {
		return err
	}
	return b.mem.Flush(ctx)
}

// Stats combines both tiers (see the package documentation).
func (b *Backend) Stats(ctx context.Context) (cache.Stats, error) {
	if b.closed.Load() {
		return cache.Stats{}, cache.ErrClosed
	}
	b.applyTouches(ctx)
	ps, err := b.store.Stats(ctx)
	if err != nil {
		return cache.Stats{}, err
	}
	ms, err := b.mem.Stats(ctx)
	if err != nil {
		return cache.Stats{}, err
	}
	return cache.Stats{
		Entries:     ps.Entries,
		Hits:        b.hits.Load(),
		ExactHits:   b.exactHits.Load(),
		Misses:      b.misses.Load(),
		Evictions:   ps.Evictions,
		Expirations: ps.Expirations,
		MemoryBytes: ms.MemoryBytes,
	}, nil
}

// DroppedTouches counts memory hits not recorded on the persistent tier
// because the touch queue was full.
func (b *Backend) DroppedTouches() int64 { return b.dropped.Load() }

// Close stops the touch goroutine and closes both tiers.
func (b *Backend) Close() error {
	if !b.closed.CompareAndSwap(false, true) {
		return nil
	}
	b.stopOnce.Do(func() { close(b.done) })
	b.wg.Wait()
	b.applyTouches(context.Background())
	return errors.Join(b.mem.Close(), b.store.Close())
}
