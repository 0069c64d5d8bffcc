package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/semrouter/semrouter/services/cache"
)

// Put stores e (see cache.Backend).
func (b *Backend) Put(ctx context.Context, e *cache.Entry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if e.Embedding != nil && len(e.Embedding) != b.opts.Dim {
		return fmt.Errorf("%w: got %d, want %d", cache.ErrDimension, len(e.Embedding), b.opts.Dim)
	}
	if err := b.check(ctx); err != nil {
		return err
	}
	size := e.SizeBytes()
	if e.Embedding != nil && b.vec != nil {
		size += b.vec.BytesPerVector()
	}
	if b.opts.MaxMemoryBytes > 0 && size > b.opts.MaxMemoryBytes {
		return fmt.Errorf("%w: %d bytes, bound %d", cache.ErrTooLarge, size, b.opts.MaxMemoryBytes)
	}
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	if _, err := b.purgeExpired(ctx); err != nil {
		return err
	}
	pkey := e.Partition.Key()
	xkey := b.exactKey(pkey, e.Exact)
	octx, cancel := b.op(ctx)
	old, err := b.client.Get(octx, xkey).Result()
	cancel()
	switch {
	case err == nil:
		if err := b.removeID(ctx, old); err != nil {
			return err
		}
	case !errors.Is(err, goredis.Nil):
		return fmt.Errorf("look up replaced entry: %w", err)
	}
	if err := b.makeRoom(ctx, size); err != nil {
		return err
	}

	octx, cancel = b.op(ctx)
	defer cancel()
	seq, err := b.client.Incr(octx, b.seqKey()).Result()
	if err != nil {
		return fmt.Errorf("allocate entry id: %w", err)
	}
	tick, err := b.client.Incr(octx, b.tickKey()).Result()
	if err != nil {
		return fmt.Errorf("allocate entry tick: %w", err)
	}
	id := strconv.FormatInt(seq, 10)
	expires := b.opts.ExpiresAt(e)
	fields, err := encodeEntry(e, xkey, expires)
	if err != nil {
		return err
	}
	var ttl time.Duration
	if !expires.IsZero() {
		ttl = max(expires.Sub(b.opts.Clock.Now()), time.Millisecond) + expireGrace
	}
	_, err = b.client.TxPipelined(octx, func(p goredis.Pipeliner) error {
		ek := b.entryKey(id)
		p.HSet(octx, ek, fields)
		p.Set(octx, xkey, id, ttl)
		if ttl > 0 {
			p.Expire(octx, ek, ttl)
			p.ZAdd(octx, b.expKey(), goredis.Z{Score: float64(expires.UnixNano()), Member: id})
		}
		p.ZAdd(octx, b.orderKey(), goredis.Z{Score: float64(tick), Member: id})
		p.HSet(octx, b.sizesKey(), id, size)
		p.IncrBy(octx, b.bytesKey(), size)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store cached entry: %w", err)
	}
	if e.Embedding != nil && b.vec != nil {
		if err := b.vec.Add(groupName(pkey, e.Context.String()), uint64(seq), e.Embedding); err != nil {
			_ = b.removeID(ctx, id)
			return err
		}
	}
	return nil
}

// makeRoom evicts until an entry of size bytes fits the bounds.
func (b *Backend) makeRoom(ctx context.Context, size int64) error {
	if b.opts.MaxEntries <= 0 && b.opts.MaxMemoryBytes <= 0 {
		return nil
	}
	for {
		octx, cancel := b.op(ctx)
		card, err := b.client.ZCard(octx, b.orderKey()).Result()
		if err != nil {
			cancel()
			return fmt.Errorf("count cached entries: %w", err)
		}
		used, err := b.client.Get(octx, b.bytesKey()).Int64()
		if err != nil && !errors.Is(err, goredis.Nil) {
			cancel()
			return fmt.Errorf("read cached bytes: %w", err)
		}
		over := (b.opts.MaxEntries > 0 && card+1 > int64(b.opts.MaxEntries)) ||
			(b.opts.MaxMemoryBytes > 0 && used+size > b.opts.MaxMemoryBytes)
		if !over {
			cancel()
			return nil
		}
		victims, err := b.client.ZRange(octx, b.orderKey(), 0, 0).Result()
		cancel()
		if err != nil {
			return fmt.Errorf("pick eviction victim: %w", err)
		}
		if len(victims) == 0 {
			return nil
		}
		if err := b.removeID(ctx, victims[0]); err != nil {
			return err
		}
		b.count(ctx, "evictions", 1)
	}
}

// load reads one entry; nil when it is gone.
func (b *Backend) load(ctx context.Context, id string) (*cache.Entry, time.Time, error) {
	octx, cancel := b.op(ctx)
	defer cancel()
	m, err := b.client.HGetAll(octx, b.entryKey(id)).Result()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("read cached entry %s: %w", id, err)
	}
	if len(m) == 0 {
		return nil, time.Time{}, nil
	}
	e, exp, err := decodeEntry(m)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("decode cached entry %s: %w", id, err)
	}
	return e, exp, nil
}

func usable(e *cache.Entry, expires time.Time, q cache.Query, now time.Time) bool {
	if !expires.IsZero() && !now.Before(expires) {
		return false
	}
	return q.MaxAge <= 0 || now.Sub(e.CreatedAt) <= q.MaxAge
}

// hit returns the hit on entry id and, unless peek, records it.
func (b *Backend) hit(ctx context.Context, id string, e *cache.Entry, tier cache.Tier, sim float32, peek bool) (cache.Hit, bool, error) {
	if peek {
		return cache.Hit{Entry: e, Tier: tier, Similarity: sim}, true, nil
	}
	hits, err := b.use(ctx, id)
	if err != nil {
		return cache.Hit{}, false, err
	}
	if hits < 0 {
		return cache.Hit{}, false, nil // removed meanwhile
	}
	e.Hits = hits
	if err := b.countHit(ctx, tier); err != nil {
		return cache.Hit{}, false, err
	}
	return cache.Hit{Entry: e, Tier: tier, Similarity: sim}, true, nil
}

// use records a use of entry id by the eviction policy and bumps its hit
// count; it returns the hit count, or -1 when the entry is gone.
func (b *Backend) use(ctx context.Context, id string) (int64, error) {
	octx, cancel := b.op(ctx)
	defer cancel()
	hits, err := b.touch.Run(octx, b.client, []string{b.entryKey(id), b.tickKey(), b.orderKey()},
		string(b.opts.Eviction), id).Int64()
	if err != nil {
		return 0, fmt.Errorf("record cache hit: %w", err)
	}
	return hits, nil
}

// countHit adds one hit (and one exact hit for the exact tier) to the
// shared counters.
func (b *Backend) countHit(ctx context.Context, tier cache.Tier) error {
	octx, cancel := b.op(ctx)
	defer cancel()
	_, err := b.client.TxPipelined(octx, func(p goredis.Pipeliner) error {
		p.HIncrBy(octx, b.statsKey(), "hits", 1)
		if tier == cache.TierExact {
			p.HIncrBy(octx, b.statsKey(), "exact_hits", 1)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("count cache hit: %w", err)
	}
	return nil
}

// Record counts u in the shared counters and records a hit on its entry
// (see cache.Backend).
func (b *Backend) Record(ctx context.Context, u cache.Use) (bool, error) {
	if err := b.check(ctx); err != nil {
		return false, err
	}
	if !u.Hit {
		b.count(ctx, "misses", 1)
		return false, nil
	}
	octx, cancel := b.op(ctx)
	id, err := b.client.Get(octx, b.exactKey(u.Partition.Key(), u.Exact)).Result()
	cancel()
	found := false
	switch {
	case err == nil:
		hits, err := b.use(ctx, id)
		if err != nil {
			return false, err
		}
		found = hits >= 0
	case !errors.Is(err, goredis.Nil):
		return false, fmt.Errorf("look up exact key: %w", err)
	}
	return found, b.countHit(ctx, u.Tier)
}

// Lookup answers q (see cache.Backend).
func (b *Backend) Lookup(ctx context.Context, q cache.Query) (cache.Hit, bool, error) {
	if err := b.check(ctx); err != nil {
		return cache.Hit{}, false, err
	}
	now := b.opts.Clock.Now()
	pkey := q.Partition.Key()
	wantExact := q.Mode == cache.ModeExact || q.Mode == cache.ModeExactThenSemantic
	wantSemantic := (q.Mode == cache.ModeSemantic || q.Mode == cache.ModeExactThenSemantic) &&
		len(q.Embedding) > 0 && b.vec != nil
	if wantExact {
		octx, cancel := b.op(ctx)
		id, err := b.client.Get(octx, b.exactKey(pkey, q.Exact)).Result()
		cancel()
		if err != nil && !errors.Is(err, goredis.Nil) {
			return cache.Hit{}, false, fmt.Errorf("look up exact key: %w", err)
		}
		if err == nil {
			e, exp, err := b.load(ctx, id)
			if err != nil {
				return cache.Hit{}, false, err
			}
			if e != nil && e.Partition == q.Partition && e.Exact == q.Exact && usable(e, exp, q, now) {
				if h, ok, err := b.hit(ctx, id, e, cache.TierExact, 1, q.Peek); err != nil || ok {
					return h, ok, err
				}
			}
		}
	}
	if wantSemantic {
		if len(q.Embedding) != b.opts.Dim {
			return cache.Hit{}, false, fmt.Errorf("%w: got %d, want %d", cache.ErrDimension, len(q.Embedding), b.opts.Dim)
		}
		matches, err := b.vec.Search(groupName(pkey, q.Context.String()), q.Embedding, semanticK)
		if err != nil {
			return cache.Hit{}, false, fmt.Errorf("search embeddings: %w", err)
		}
		for _, m := range matches {
			if m.Score < q.Threshold {
				break
			}
			id := strconv.FormatUint(m.ID, 10)
			e, exp, err := b.load(ctx, id)
			if err != nil {
				return cache.Hit{}, false, err
			}
			if e == nil {
				b.vec.Remove(m.ID) // dropped by another replica or by Redis expiry
				continue
			}
			if e.Partition != q.Partition || e.Context != q.Context || !usable(e, exp, q, now) || !cache.SameQuestion(q.Text, e.Query) {
				continue
			}
			if h, ok, err := b.hit(ctx, id, e, cache.TierSemantic, m.Score, q.Peek); err != nil || ok {
				return h, ok, err
			}
		}
	}
	if !q.Peek {
		b.count(ctx, "misses", 1)
	}
	return cache.Hit{}, false, nil
}

// Invalidate drops or counts matching entries (see cache.Backend). It reads
// every entry's partition and age, so it costs one pass over the cache.
func (b *Backend) Invalidate(ctx context.Context, f cache.InvalidateFilter) (int, error) {
	if f.IsEmpty() {
		return 0, cache.ErrEmptyFilter
	}
	if err := b.check(ctx); err != nil {
		return 0, err
	}
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	if _, err := b.purgeExpired(ctx); err != nil {
		return 0, err
	}
	now := b.opts.Clock.Now()
	octx, cancel := b.op(ctx)
	ids, err := b.client.ZRange(octx, b.orderKey(), 0, -1).Result()
	cancel()
	if err != nil {
		return 0, fmt.Errorf("list cached entries: %w", err)
	}
	matched := 0
	for start := 0; start < len(ids); start += 256 {
		batch := ids[start:min(start+256, len(ids))]
		octx, cancel := b.op(ctx)
		cmds, err := b.client.Pipelined(octx, func(p goredis.Pipeliner) error {
			for _, id := range batch {
				p.HMGet(octx, b.entryKey(id), fPart, fCreated)
			}
			return nil
		})
		cancel()
		if err != nil && !errors.Is(err, goredis.Nil) {
			return 0, fmt.Errorf("read cached entries: %w", err)
		}
		for i, c := range cmds {
			vals, err := c.(*goredis.SliceCmd).Result()
			if err != nil || len(vals) != 2 || vals[0] == nil || vals[1] == nil {
				continue
			}
			var e cache.Entry
			if json.Unmarshal([]byte(vals[0].(string)), &e.Partition) != nil {
				continue
			}
			if e.CreatedAt, err = parseUnixNano(vals[1].(string)); err != nil || !f.Matches(&e, now) {
				continue
			}
			matched++
			if !f.DryRun {
				if err := b.removeID(ctx, batch[i]); err != nil {
					return matched, err
				}
			}
		}
	}
	return matched, nil
}

// Flush deletes every key under the prefix and resets the vector index.
func (b *Backend) Flush(ctx context.Context) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	var cursor uint64
	for {
		octx, cancel := b.op(ctx)
		keys, next, err := b.client.Scan(octx, cursor, b.cfg.KeyPrefix+"*", 500).Result()
		if err == nil && len(keys) > 0 {
			err = b.client.Unlink(octx, keys...).Err()
		}
		cancel()
		if err != nil {
			return fmt.Errorf("flush cache keys: %w", err)
		}
		if next == 0 {
			break
		}
		cursor = next
	}
	if b.vec != nil {
		b.vec.Reset()
	}
	return nil
}

// Stats drops expired entries and returns the shared counters.
func (b *Backend) Stats(ctx context.Context) (cache.Stats, error) {
	if err := b.check(ctx); err != nil {
		return cache.Stats{}, err
	}
	b.writeMu.Lock()
	_, err := b.purgeExpired(ctx)
	b.writeMu.Unlock()
	if err != nil {
		return cache.Stats{}, err
	}
	octx, cancel := b.op(ctx)
	defer cancel()
	var card *goredis.IntCmd
	var used *goredis.StringCmd
	var counters *goredis.MapStringStringCmd
	_, err = b.client.Pipelined(octx, func(p goredis.Pipeliner) error {
		card = p.ZCard(octx, b.orderKey())
		used = p.Get(octx, b.bytesKey())
		counters = p.HGetAll(octx, b.statsKey())
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return cache.Stats{}, fmt.Errorf("read cache stats: %w", err)
	}
	m := counters.Val()
	n := func(k string) int64 {
		v, _ := strconv.ParseInt(m[k], 10, 64)
		return v
	}
	bytes, _ := strconv.ParseInt(used.Val(), 10, 64)
	return cache.Stats{
		Entries:     card.Val(),
		Hits:        n("hits"),
		ExactHits:   n("exact_hits"),
		Misses:      n("misses"),
		Evictions:   n("evictions"),
		Expirations: n("expirations"),
		MemoryBytes: bytes,
	}, nil
}

// Close closes the Redis connection pool; later calls fail with
// cache.ErrClosed.
func (b *Backend) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	if b.vec != nil {
		b.vec.Reset()
	}
	return b.client.Close()
}
