// Package memory is the in-process cache backend: an exact map and an HNSW
// index over last-user-turn embeddings, with FIFO, LRU or LFU eviction, an
// entry bound, a byte bound and TTLs read from an injected clock.
package memory

import (
	"container/heap"
	"container/list"
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/semrouter/semrouter/services/cache"
	"github.com/semrouter/semrouter/services/cache/internal/hnsw"
)

var _ cache.Backend = (*Backend)(nil)

// semanticK is how many neighbours a semantic lookup considers; the extra
// ones cover entries that expired or are too old for the request.
const semanticK = 8

type exactKey struct {
	part string
	fp   cache.Fingerprint
}

// group holds the entries of one partition and context fingerprint. Each
// group has its own vector index, so a semantic lookup searches only the
// entries it may return, however large the group (a filtered search over
// one shared graph slows down sharply when one context holds most of the
// entries, the common case of single-turn traffic).
type group struct {
	gid     uint32
	key     exactKey // partition and context fingerprint
	members map[uint64]struct{}
	idx     *hnsw.Index
}

type item struct {
	id      uint64
	e       *cache.Entry
	exact   exactKey
	grp     *group
	expires time.Time // zero: never
	size    int64
	hits    int64

	elem    *list.Element // list evictors
	heapIdx int           // lfu evictor
	freq    int64
	tick    uint64
	expIdx  int // expiry heap
}

// Backend is the in-memory backend.
type Backend struct {
	opts     cache.Options
	vecCfg   hnsw.Config // per-group index settings; Dim 0: exact tier only
	vecBytes int64

	// writeMu serialises writers (Put, Invalidate, Flush, purges), which
	// also mutate the index; lookups never take it.
	writeMu sync.Mutex

	mu      sync.Mutex // guards everything below
	items   map[uint64]*item
	exact   map[exactKey]*item
	groups  map[exactKey]*group
	gids    map[uint32]*group
	nextGID uint32
	seq     uint32
	ev      evictor
	exp     expiryHeap
	bytes   int64
	closed  bool

	hits, exactHits, misses, evictions, expirations atomic.Int64
}

// New returns an empty backend.
func New(opts cache.Options) (*Backend, error) {
	opts, err := opts.WithDefaults()
	if err != nil {
		return nil, err
	}
	b := &Backend{
		opts:   opts,
		items:  make(map[uint64]*item),
		exact:  make(map[exactKey]*item),
		groups: make(map[exactKey]*group),
		gids:   make(map[uint32]*group),
		ev:     newEvictor(opts.Eviction),
	}
	if opts.Dim > 0 {
		b.vecCfg = hnsw.Config{Dim: opts.Dim, M: opts.M, EfConstruction: opts.EfConstruction, Ef: opts.Ef}
		probe, err := hnsw.New(b.vecCfg)
		if err != nil {
			return nil, fmt.Errorf("create vector index: %w", err)
		}
		b.vecBytes = probe.BytesPerVector()
	}
	return b, nil
}

// Put stores e (see cache.Backend).
func (b *Backend) Put(ctx context.Context, e *cache.Entry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if e.Embedding != nil && len(e.Embedding) != b.opts.Dim {
		return fmt.Errorf("%w: got %d, want %d", cache.ErrDimension, len(e.Embedding), b.opts.Dim)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b.writeMu.Lock()
	defer b.writeMu.Unlock()

	size := e.SizeBytes()
	if e.Embedding != nil {
		size += b.vecBytes
	}
	if b.opts.MaxMemoryBytes > 0 && size > b.opts.MaxMemoryBytes {
		return fmt.Errorf("%w: %d bytes, bound %d", cache.ErrTooLarge, size, b.opts.MaxMemoryBytes)
	}
	now := b.opts.Clock.Now()
	// Keep a private copy: the caller may reuse its buffers.
	stored := *e
	if stored.Embedding != nil {
		stored.Embedding = append([]float32(nil), e.Embedding...)
	}
	stored.Response.Body = append([]byte(nil), e.Response.Body...)
	if e.Response.Headers != nil {
		stored.Response.Headers = maps.Clone(e.Response.Headers)
	}
	stored.Hits = 0

	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return cache.ErrClosed
	}
	var drop []dropped
	drop = b.purgeExpiredLocked(now, drop)
	ek := exactKey{part: e.Partition.Key(), fp: e.Exact}
	if old, ok := b.exact[ek]; ok {
		drop = b.removeLocked(old, drop)
	}
	for b.overLocked(size) {
		v := b.ev.victim()
		if v == nil {
			break
		}
		drop = b.removeLocked(v, drop)
		b.evictions.Add(1)
	}
	it := &item{e: &stored, exact: ek, size: size, heapIdx: -1, expIdx: -1}
	it.expires = b.opts.ExpiresAt(&stored)
	var gid uint32
	if stored.Embedding != nil && b.vecCfg.Dim > 0 {
		g, err := b.groupLocked(exactKey{part: ek.part, fp: e.Context})
		if err != nil {
			b.mu.Unlock()
			b.dropFromIndex(drop)
			return err
		}
		it.grp = g
		gid = it.grp.gid
	}
	for {
		b.seq++
		id := uint64(gid)<<32 | uint64(b.seq)
		if _, taken := b.items[id]; !taken {
			it.id = id
			break
		}
	}
	b.items[it.id] = it
	b.exact[ek] = it
	if it.grp != nil {
		it.grp.members[it.id] = struct{}{}
	}
	if !it.expires.IsZero() {
		heap.Push(&b.exp, it)
	}
	b.ev.add(it)
	b.bytes += size
	b.mu.Unlock()

	b.dropFromIndex(drop)
	if it.grp != nil {
		if err := it.grp.idx.Insert(it.id, stored.Embedding); err != nil {
			b.mu.Lock()
			b.removeLocked(it, nil)
			b.mu.Unlock()
			return fmt.Errorf("index embedding: %w", err)
		}
	}
	return nil
}

// overLocked reports whether adding extra bytes and one entry breaks a bound.
func (b *Backend) overLocked(extra int64) bool {
	if b.opts.MaxEntries > 0 && len(b.items)+1 > b.opts.MaxEntries {
		return true
	}
	return b.opts.MaxMemoryBytes > 0 && b.bytes+extra > b.opts.MaxMemoryBytes
}

func (b *Backend) groupLocked(k exactKey) (*group, error) {
	if g, ok := b.groups[k]; ok {
		return g, nil
	}
	idx, err := hnsw.New(b.vecCfg)
	if err != nil {
		return nil, fmt.Errorf("create vector index: %w", err)
	}
	for {
		b.nextGID++
		if b.nextGID == 0 {
			continue // 0 marks exact-only entries
		}
		if _, taken := b.gids[b.nextGID]; !taken {
			break
		}
	}
	g := &group{gid: b.nextGID, key: k, members: make(map[uint64]struct{}), idx: idx}
	b.groups[k] = g
	b.gids[g.gid] = g
	return g, nil
}

// dropped is a vector to delete from its group's index once mu is released.
type dropped struct {
	g  *group
	id uint64
}

// removeLocked unlinks it and returns drop extended with its index key.
func (b *Backend) removeLocked(it *item, drop []dropped) []dropped {
	if b.items[it.id] != it {
		return drop
	}
	delete(b.items, it.id)
	if b.exact[it.exact] == it {
		delete(b.exact, it.exact)
	}
	if it.grp != nil {
		delete(it.grp.members, it.id)
		if len(it.grp.members) == 0 {
			delete(b.groups, it.grp.key)
			delete(b.gids, it.grp.gid)
		}
		drop = append(drop, dropped{g: it.grp, id: it.id})
	}
	if it.expIdx >= 0 {
		heap.Remove(&b.exp, it.expIdx)
	}
	b.ev.remove(it)
	b.bytes -= it.size
	return drop
}

func (b *Backend) purgeExpiredLocked(now time.Time, drop []dropped) []dropped {
	for it := b.exp.peekDue(now); it != nil; it = b.exp.peekDue(now) {
		drop = b.removeLocked(it, drop)
		b.expirations.Add(1)
	}
	return drop
}

// dropFromIndex deletes vectors from their groups' indexes; writeMu is
// held. An emptied group's index is simply dropped with the group.
func (b *Backend) dropFromIndex(ds []dropped) {
	for _, d := range ds {
		if err := d.g.idx.Delete(d.id); err != nil && !errors.Is(err, hnsw.ErrNotFound) {
			b.opts.Logger.Warn("drop cache vector", "error", err)
		}
	}
	for _, d := range ds {
		if d.g.idx.Len() > 0 && d.g.idx.NeedsCompaction() {
			d.g.idx.Compact()
		}
	}
}

// usableLocked reports whether it may answer a query at now.
func usable(it *item, q cache.Query, now time.Time) bool {
	if !it.expires.IsZero() && !now.Before(it.expires) {
		return false
	}
	return q.MaxAge <= 0 || now.Sub(it.e.CreatedAt) <= q.MaxAge
}

// hitLocked returns the caller's copy of its entry and, unless peek,
// records the hit.
func (b *Backend) hitLocked(it *item, tier cache.Tier, sim float32, peek bool) cache.Hit {
	if !peek {
		b.useLocked(it, tier)
	}
	e := *it.e
	e.Hits = it.hits
	return cache.Hit{Entry: &e, Tier: tier, Similarity: sim}
}

// useLocked records a hit on it: eviction recency and frequency, the
// entry's hit count and the counters.
func (b *Backend) useLocked(it *item, tier cache.Tier) {
	b.ev.touch(it)
	it.hits++
	b.countHit(tier)
}

func (b *Backend) countHit(tier cache.Tier) {
	b.hits.Add(1)
	if tier == cache.TierExact {
		b.exactHits.Add(1)
	}
}

// miss counts a miss unless q peeks.
func (b *Backend) miss(q cache.Query) {
	if !q.Peek {
		b.misses.Add(1)
	}
}

// Record counts u and records a hit on its entry (see cache.Backend).
func (b *Backend) Record(ctx context.Context, u cache.Use) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if !u.Hit {
		b.misses.Add(1)
		return false, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false, cache.ErrClosed
	}
	it, ok := b.exact[exactKey{part: u.Partition.Key(), fp: u.Exact}]
	if !ok {
		b.countHit(u.Tier)
		return false, nil
	}
	b.useLocked(it, u.Tier)
	return true, nil
}

// Lookup answers q (see cache.Backend).
func (b *Backend) Lookup(ctx context.Context, q cache.Query) (cache.Hit, bool, error) {
	if err := ctx.Err(); err != nil {
		return cache.Hit{}, false, err
	}
	now := b.opts.Clock.Now()
	part := q.Partition.Key()
	wantExact := q.Mode == cache.ModeExact || q.Mode == cache.ModeExactThenSemantic
	wantSemantic := (q.Mode == cache.ModeSemantic || q.Mode == cache.ModeExactThenSemantic) &&
		len(q.Embedding) > 0 && b.vecCfg.Dim > 0

	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return cache.Hit{}, false, cache.ErrClosed
	}
	if wantExact {
		if it, ok := b.exact[exactKey{part: part, fp: q.Exact}]; ok && usable(it, q, now) {
			h := b.hitLocked(it, cache.TierExact, 1, q.Peek)
			b.mu.Unlock()
			return h, true, nil
		}
	}
	if !wantSemantic {
		b.mu.Unlock()
		b.miss(q)
		return cache.Hit{}, false, nil
	}
	if len(q.Embedding) != b.opts.Dim {
		b.mu.Unlock()
		return cache.Hit{}, false, fmt.Errorf("%w: got %d, want %d", cache.ErrDimension, len(q.Embedding), b.opts.Dim)
	}
	want := exactKey{part: part, fp: q.Context}
	g, ok := b.groups[want]
	if !ok {
		b.mu.Unlock()
		b.miss(q)
		return cache.Hit{}, false, nil
	}
	idx := g.idx
	b.mu.Unlock()

	var buf [semanticK]hnsw.Result
	res, err := idx.SearchInto(buf[:0], q.Embedding, hnsw.SearchOptions{K: semanticK})
	if err != nil {
		return cache.Hit{}, false, fmt.Errorf("search embeddings: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range res {
		if r.Score < q.Threshold {
			break
		}
		it, ok := b.items[r.Key]
		// The group may have emptied and its id been reused since the
		// search started: check the entry's own keys.
		if !ok || it.grp == nil || it.grp.key != want || !usable(it, q, now) || !cache.SameQuestion(q.Text, it.e.Query) {
			continue
		}
		return b.hitLocked(it, cache.TierSemantic, r.Score, q.Peek), true, nil
	}
	b.miss(q)
	return cache.Hit{}, false, nil
}

// Invalidate drops or counts matching entries (see cache.Backend).
func (b *Backend) Invalidate(ctx context.Context, f cache.InvalidateFilter) (int, error) {
	if f.IsEmpty() {
		return 0, cache.ErrEmptyFilter
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	now := b.opts.Clock.Now()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return 0, cache.ErrClosed
	}
	var drop []dropped
	drop = b.purgeExpiredLocked(now, drop)
	var match []*item
	for _, it := range b.items {
		if f.Matches(it.e, now) {
			match = append(match, it)
		}
	}
	if !f.DryRun {
		for _, it := range match {
			drop = b.removeLocked(it, drop)
		}
	}
	b.mu.Unlock()
	b.dropFromIndex(drop)
	return len(match), nil
}

// Flush drops every entry.
func (b *Backend) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return cache.ErrClosed
	}
	b.resetLocked()
	b.mu.Unlock()
	return nil
}

func (b *Backend) resetLocked() {
	b.items = make(map[uint64]*item)
	b.exact = make(map[exactKey]*item)
	b.groups = make(map[exactKey]*group)
	b.gids = make(map[uint32]*group)
	b.ev = newEvictor(b.opts.Eviction)
	b.exp = nil
	b.bytes = 0
}

// PurgeExpired drops expired entries now and returns how many it dropped.
func (b *Backend) PurgeExpired(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	b.mu.Lock()
	before := len(b.items)
	drop := b.purgeExpiredLocked(b.opts.Clock.Now(), nil)
	n := before - len(b.items)
	b.mu.Unlock()
	b.dropFromIndex(drop)
	return n, nil
}

// Stats returns the counters after dropping expired entries.
func (b *Backend) Stats(ctx context.Context) (cache.Stats, error) {
	if _, err := b.PurgeExpired(ctx); err != nil {
		return cache.Stats{}, err
	}
	b.mu.Lock()
	entries, bytes := int64(len(b.items)), b.bytes
	b.mu.Unlock()
	return cache.Stats{
		Entries:     entries,
		Hits:        b.hits.Load(),
		ExactHits:   b.exactHits.Load(),
		Misses:      b.misses.Load(),
		Evictions:   b.evictions.Load(),
		Expirations: b.expirations.Load(),
		MemoryBytes: bytes,
	}, nil
}

// IndexStats describes the vector indexes, summed over the groups (zero
// without embeddings).
func (b *Backend) IndexStats() hnsw.Stats {
	b.mu.Lock()
	idxs := make([]*hnsw.Index, 0, len(b.groups))
	for _, g := range b.groups {
		idxs = append(idxs, g.idx)
	}
	b.mu.Unlock()
	var st hnsw.Stats
	for _, x := range idxs {
		s := x.Stats()
		st.Live += s.Live
		st.Tombstones += s.Tombstones
		st.Slots += s.Slots
		st.MaxLevel = max(st.MaxLevel, s.MaxLevel)
		st.MemoryBytes += s.MemoryBytes
	}
	return st
}

// Close releases the entries; later calls fail with cache.ErrClosed.
func (b *Backend) Close() error {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	b.mu.Lock()
	b.closed = true
	b.resetLocked()
	b.mu.Unlock()
	return nil
}
