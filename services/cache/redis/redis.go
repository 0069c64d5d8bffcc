package redis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/semrouter/semrouter/services/cache"
	"github.com/semrouter/semrouter/services/cache/internal/hnsw"
	"github.com/semrouter/semrouter/services/cache/internal/vecgroup"
)

var _ cache.Backend = (*Backend)(nil)

const semanticK = 8

// expireGrace is added to Redis EXPIRE so the clock-driven purge (which
// keeps the byte counter and sorted sets exact) normally runs first; Redis
// expiry is the safety net for entries no replica purges.
const expireGrace = time.Minute

// removeScript drops one entry and its bookkeeping; returns 1 when the
// entry hash existed.
const removeScript = `
local id = ARGV[1]
local ehash = KEYS[1]
redis.call('ZREM', KEYS[2], id)
redis.call('ZREM', KEYS[3], id)
local size = redis.call('HGET', KEYS[4], id)
if size then
  redis.call('HDEL', KEYS[4], id)
  redis.call('DECRBY', KEYS[5], size)
end
local xkey = redis.call('HGET', ehash, 'xkey')
if xkey and redis.call('GET', xkey) == id then
  redis.call('DEL', xkey)
end
return redis.call('DEL', ehash)
`

// touchScript records a hit: bumps the hit count and, for LRU and LFU,
// the eviction score. Returns the hit count, or -1 when the entry is gone.
const touchScript = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local hits = redis.call('HINCRBY', KEYS[1], 'hits', 1)
local tick = redis.call('INCR', KEYS[2])
if ARGV[1] == 'lru' then
  redis.call('ZADD', KEYS[3], 'XX', tick, ARGV[2])
elseif ARGV[1] == 'lfu' then
  redis.call('ZADD', KEYS[3], 'XX', hits * 4294967296 + tick, ARGV[2])
end
return hits
`

// Backend is the Redis backend.
type Backend struct {
	cfg    Config
	opts   cache.Options
	client *goredis.Client
	vec    *vecgroup.Index // nil when Dim is 0
	remove *goredis.Script
	touch  *goredis.Script

	// writeMu serialises this process's writers; bounds are enforced by
	// each writer, so several replicas writing at once may overshoot a
	// bound by the number of concurrent writers.
	writeMu sync.Mutex
	closed  atomic.Bool
}

// New connects to Redis, checks it answers, and rebuilds the vector index
// from the stored entries.
func New(ctx context.Context, cfg Config, opts cache.Options) (*Backend, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if opts, err = opts.WithDefaults(); err != nil {
		return nil, err
	}
	tlsCfg, err := cfg.TLS.build()
	if err != nil {
		return nil, err
	}
	b := &Backend{
		cfg:  cfg,
		opts: opts,
		client: goredis.NewClient(&goredis.Options{
			Addr: cfg.Addr, Username: cfg.Username, Password: cfg.Password, DB: cfg.DB, TLSConfig: tlsCfg,
			DialTimeout: cfg.Timeout, ReadTimeout: cfg.Timeout, WriteTimeout: cfg.Timeout,
		}),
		remove: goredis.NewScript(removeScript),
		touch:  goredis.NewScript(touchScript),
	}
	if opts.Dim > 0 {
		b.vec, err = vecgroup.New(hnsw.Config{Dim: opts.Dim, M: opts.M, EfConstruction: opts.EfConstruction, Ef: opts.Ef})
		if err != nil {
			return nil, fmt.Errorf("create vector index: %w", err)
		}
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if err := b.client.Ping(pctx).Err(); err != nil {
		_ = b.client.Close()
		return nil, fmt.Errorf("ping redis %s: %w", cfg.Addr, err)
	}
	if err := b.rebuild(ctx); err != nil {
		_ = b.client.Close()
		return nil, err
	}
	return b, nil
}

func (b *Backend) key(parts ...string) string {
	k := b.cfg.KeyPrefix
	for _, p := range parts {
		k += p
	}
	return k
}

func (b *Backend) entryKey(id string) string { return b.key("e:", id) }
func (b *Backend) orderKey() string          { return b.key("order") }
func (b *Backend) expKey() string            { return b.key("exp") }
func (b *Backend) sizesKey() string          { return b.key("sizes") }
func (b *Backend) bytesKey() string          { return b.key("bytes") }
func (b *Backend) statsKey() string          { return b.key("stats") }
func (b *Backend) tickKey() string           { return b.key("tick") }
func (b *Backend) seqKey() string            { return b.key("seq") }

func (b *Backend) exactKey(partKey string, fp cache.Fingerprint) string {
	h := sha256.Sum256([]byte(partKey))
	return b.key("x:", hex.EncodeToString(h[:16]), ":", fp.String())
}

func groupName(partKey string, ctxFP string) string { return partKey + "\x00" + ctxFP }

// op bounds one round trip.
func (b *Backend) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, b.cfg.Timeout)
}

func (b *Backend) check(ctx context.Context) error {
	if b.closed.Load() {
		return cache.ErrClosed
	}
	return ctx.Err()
}

// rebuild loads every stored embedding into the vector index.
func (b *Backend) rebuild(ctx context.Context) error {
	if b.vec == nil {
		return nil
	}
	octx, cancel := b.op(ctx)
	ids, err := b.client.ZRange(octx, b.orderKey(), 0, -1).Result()
	cancel()
	if err != nil {
		return fmt.Errorf("list cached entries: %w", err)
	}
	for start := 0; start < len(ids); start += 256 {
		batch := ids[start:min(start+256, len(ids))]
		octx, cancel := b.op(ctx)
		cmds, err := b.client.Pipelined(octx, func(p goredis.Pipeliner) error {
			for _, id := range batch {
				p.HMGet(octx, b.entryKey(id), fPKey, fContext, fEmb)
			}
			return nil
		})
		cancel()
		if err != nil && !errors.Is(err, goredis.Nil) {
			return fmt.Errorf("load cached embeddings: %w", err)
		}
		for i, c := range cmds {
			vals, err := c.(*goredis.SliceCmd).Result()
			if err != nil || len(vals) != 3 || vals[0] == nil {
				if err := b.removeID(ctx, batch[i]); err != nil {
					return err
				}
				continue
			}
			emb, ok := vals[2].(string)
			if !ok {
				continue // exact-only entry
			}
			v, err := decodeVector([]byte(emb))
			if err != nil || len(v) != b.opts.Dim {
				b.opts.Logger.Warn("skip cached embedding", "id", batch[i], "dim", len(v))
				continue
			}
			n, err := strconv.ParseUint(batch[i], 10, 64)
			if err != nil {
				continue
			}
			if err := b.vec.Add(groupName(vals[0].(string), vals[1].(string)), n, v); err != nil {
				return fmt.Errorf("index cached embedding %s: %w", batch[i], err)
			}
		}
	}
	return nil
}

// removeID drops one entry from Redis and the vector index.
func (b *Backend) removeID(ctx context.Context, id string) error {
	octx, cancel := b.op(ctx)
	defer cancel()
	keys := []string{b.entryKey(id), b.orderKey(), b.expKey(), b.sizesKey(), b.bytesKey()}
	if err := b.remove.Run(octx, b.client, keys, id).Err(); err != nil && !errors.Is(err, goredis.Nil) {
		return fmt.Errorf("remove cached entry %s: %w", id, err)
	}
	if b.vec != nil {
		if n, err := strconv.ParseUint(id, 10, 64); err == nil {
			b.vec.Remove(n)
		}
	}
	return nil
}

func (b *Backend) count(ctx context.Context, field string, n int64) {
	octx, cancel := b.op(ctx)
	defer cancel()
	if err := b.client.HIncrBy(octx, b.statsKey(), field, n).Err(); err != nil {
		b.opts.Logger.Warn("count cache stat", "field", field, "error", err)
	}
}

// purgeExpired drops entries whose expiry (by the injected clock) passed.
func (b *Backend) purgeExpired(ctx context.Context) (int, error) {
	octx, cancel := b.op(ctx)
	ids, err := b.client.ZRangeByScore(octx, b.expKey(), &goredis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(b.opts.Clock.Now().UnixNano(), 10),
	}).Result()
	cancel()
	if err != nil {
		return 0, fmt.Errorf("list expired entries: %w", err)
	}
	for _, id := range ids {
		if err := b.removeID(ctx, id); err != nil {
			return 0, err
		}
	}
	if len(ids) > 0 {
		b.count(ctx, "expirations", int64(len(ids)))
	}
	return len(ids), nil
}
