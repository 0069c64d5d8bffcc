package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// DefaultReplayKeyPrefix is the key prefix when router_replay.redis
// names none.
const DefaultReplayKeyPrefix = "semrouter:replay:"

// Defaults of a RedisReplayStore.
const (
	defaultReplayQueue       = 1024
	defaultReplayWorkers     = 2
	defaultReplayInlineWrite = 250 * time.Millisecond
	defaultReplayAsyncWrite  = 2 * time.Second
	defaultReplayReadTimeout = 5 * time.Second
	defaultReplayDialTimeout = 2 * time.Second
	replayDropLogEvery       = 10 * time.Second
	replayBackoff            = time.Second
	replayListPage           = 500
)

// RedisReplayConfig configures a RedisReplayStore.
type RedisReplayConfig struct {
	Redis routes.ReplayRedis
	// TTL expires records (0: never; max_records still bounds them).
	TTL time.Duration
	// Async writes records from a bounded background queue.
	Async bool
	// QueueSize bounds the async queue (default 1024): a record that
	// finds it full is dropped, never waited for.
	QueueSize int
	// Workers drain the async queue (default 2).
	Workers int
	// WriteTimeout bounds one write (default 250ms inline, 2s async).
	WriteTimeout time.Duration
	// Now is the clock records expire by (default time.Now).
	Now func() time.Time
	Log *slog.Logger
	// OnDrop is called for each lost record with why: "queue_full" or
	// "write_failed" (metrics; may be nil).
	OnDrop func(reason string)
}

// RedisReplayStore keeps router_replay records in Redis or Valkey, shared
// by every gateway that names the same server and key prefix. Layout,
// under the key prefix P (documented for operators):
//
//	P r:<id>          hash {j: the record as JSON, q: its request id}
//	P q:<request id>  the id of the newest record of that request
//	P all             sorted set of every record id, scored by the
//	                  record's time (Unix microseconds)
//	P d:<decision>    the same, one decision's records
//
// Every key expires after the TTL; a write trims its decision to the
// plugin's max_records (the oldest go) and drops records older than the
// TTL from the indexes, so the store stays bounded. A write is one Lua
// script (atomic). The store never fails a request: a record it cannot
// write is counted as dropped and logged (rate-limited).
type RedisReplayStore struct {
	client  *goredis.Client
	add     *goredis.Script
	prefix  string
	ttl     time.Duration
	timeout time.Duration
	now     func() time.Time
	log     *slog.Logger
	onDrop  func(reason string)

	// async queue; mu guards pending and closed, idle is signalled when
	// pending drops to zero (Flush).
	queue   chan replayWrite
	mu      sync.Mutex
	idle    *sync.Cond
	pending int
	closed  bool
	workers sync.WaitGroup

	queueFull atomic.Uint64
	failed    atomic.Uint64
	lastLog   atomic.Int64
	// downUntil (Unix ns, wall clock): after a failed write the records
	// of the next replayBackoff are dropped without trying, so an outage
	// costs requests (inline) and the queue no time.
	downUntil atomic.Int64
}

type replayWrite struct {
	rec *ReplayRecord
	max int
}

// replayAddScript stores one record and trims the indexes.
// KEYS: record hash, all index, decision index, request-id key.
// ARGV: id, JSON, score, max records, ttl ms (0: none), cutoff score,
// key prefix, request id.
const replayAddScript = `
local id, max, ttl, prefix, rid = ARGV[1], tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[7], ARGV[8]
redis.call('HSET', KEYS[1], 'j', ARGV[2], 'q', rid)
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
if rid ~= '' then
  if ttl > 0 then redis.call('SET', KEYS[4], id, 'PX', ttl) else redis.call('SET', KEYS[4], id) end
end
redis.call('ZADD', KEYS[2], ARGV[3], id)
redis.call('ZADD', KEYS[3], ARGV[3], id)
local gone = {}
if ttl > 0 then
  gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[6], 'LIMIT', 0, 256)
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[6])
end
local n = redis.call('ZCARD', KEYS[3])
if n > max then
  local old = redis.call('ZRANGE', KEYS[3], 0, n - max - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, n - max - 1)
  for _, o in ipairs(old) do gone[#gone + 1] = o end
end
for _, o in ipairs(gone) do
  local rk = prefix .. 'r:' .. o
  local q = redis.call('HGET', rk, 'q')
  if q and q ~= '' then
    local qk = prefix .. 'q:' .. q
    if redis.call('GET', qk) == o then redis.call('DEL', qk) end
  end
  redis.call('DEL', rk)
  redis.call('ZREM', KEYS[2], o)
end
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
return #gone
`

// NewRedisReplayStore returns a store; it does not connect until first
// used, so a server that is down drops records instead of failing the
// config. Close it to stop the async writers.
func NewRedisReplayStore(cfg RedisReplayConfig) (*RedisReplayStore, error) {
	r := cfg.Redis
	if r.Addr == "" {
		return nil, errors.New("router replay redis: address is required")
	}
	if r.DB < 0 {
		return nil, fmt.Errorf("router replay redis: db %d must not be negative", r.DB)
	}
	if r.KeyPrefix == "" {
		r.KeyPrefix = DefaultReplayKeyPrefix
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = defaultReplayInlineWrite
		if cfg.Async {
			cfg.WriteTimeout = defaultReplayAsyncWrite
		}
	}
	opts := r.ClientOptions(defaultReplayDialTimeout, defaultReplayReadTimeout)
	s := &RedisReplayStore{client: goredis.NewClient(opts), add: goredis.NewScript(replayAddScript), prefix: r.KeyPrefix,
		ttl: max(cfg.TTL, 0), timeout: cfg.WriteTimeout, now: cfg.Now, log: cfg.Log, onDrop: cfg.OnDrop}
	s.idle = sync.NewCond(&s.mu)
	if cfg.Async {
		q := cfg.QueueSize
		if q <= 0 {
			q = defaultReplayQueue
		}
		w := cfg.Workers
		if w <= 0 {
			w = defaultReplayWorkers
		}
		s.queue = make(chan replayWrite, q)
		for range w {
			s.workers.Add(1)
			go s.drain()
		}
	}
	return s, nil
}

// Prefix is the key prefix of the store.
func (s *RedisReplayStore) Prefix() string { return s.prefix }

// RecordKey is the Redis key of record id.
func (s *RedisReplayStore) RecordKey(id string) string { return s.prefix + "r:" + id }

func (s *RedisReplayStore) decisionKey(d string) string { return s.prefix + "d:" + d }

// Add writes rec inline (bounded by the write timeout) or queues it
// (async_writes); a full queue or a failed write drops the record.
func (s *RedisReplayStore) Add(ctx context.Context, rec *ReplayRecord, maxRecords int) {
	if maxRecords <= 0 {
		return
	}
	if s.backingOff() {
		s.drop(&s.failed, "store down", nil)
		return
	}
	if s.queue == nil {
		if err := s.write(ctx, rec, maxRecords); err != nil {
			s.drop(&s.failed, "write", err)
		}
		return
	}
	s.mu.Lock()
	queued := false
	if !s.closed {
		select {
		case s.queue <- replayWrite{rec, maxRecords}:
			s.pending++
			queued = true
		default:
		}
	}
	s.mu.Unlock()
	if !queued {
		s.drop(&s.queueFull, "queue full", nil)
	}
}

func (s *RedisReplayStore) drain() {
	defer s.workers.Done()
	for w := range s.queue {
		if s.backingOff() {
			s.drop(&s.failed, "store down", nil)
		} else if err := s.write(context.Background(), w.rec, w.max); err != nil {
			s.drop(&s.failed, "write", err)
		}
		s.mu.Lock()
		s.pending--
		if s.pending == 0 {
			s.idle.Broadcast()
		}
		s.mu.Unlock()
	}
}

func (s *RedisReplayStore) backingOff() bool { return time.Now().UnixNano() < s.downUntil.Load() }

// write runs the add script for rec; a failure backs the store off.
func (s *RedisReplayStore) write(ctx context.Context, rec *ReplayRecord, maxRecords int) error {
	body, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode record: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	keys := []string{s.RecordKey(rec.ID), s.prefix + "all", s.decisionKey(rec.Decision), s.prefix + "q:" + rec.RequestID}
	err = s.add.Run(ctx, s.client, keys, rec.ID, body, score(rec.Time), maxRecords, s.ttl.Milliseconds(),
		s.cutoff(), s.prefix, rec.RequestID).Err()
	if err != nil {
		s.downUntil.Store(time.Now().Add(replayBackoff).UnixNano())
	}
	return err
}

// score is a record time as a sorted-set score (Unix microseconds: exact
// in a float64).
func score(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

// cutoff is the score below which records have expired ("-inf": never).
func (s *RedisReplayStore) cutoff() string {
	if s.ttl <= 0 {
		return "-inf"
	}
	return score(s.now().Add(-s.ttl))
}

// drop counts a lost record and logs at most once per replayDropLogEvery.
func (s *RedisReplayStore) drop(c *atomic.Uint64, reason string, err error) {
	c.Add(1)
	if s.onDrop != nil {
		why := "write_failed"
		if c == &s.queueFull {
			why = "queue_full"
		}
		s.onDrop(why)
	}
	now := s.now().UnixNano()
	last := s.lastLog.Load()
	if last != 0 && now-last < int64(replayDropLogEvery) || !s.lastLog.CompareAndSwap(last, now) {
		return
	}
	attrs := []any{slog.String("reason", reason), slog.Uint64("dropped_total", s.queueFull.Load()+s.failed.Load())}
	if err != nil {
		attrs = append(attrs, slog.Any("error", err))
	}
	s.log.Warn("router replay: records dropped", attrs...)
}

// Dropped counts the records lost since the store opened: to a full
// async queue, and to failed writes (store down or slow).
func (s *RedisReplayStore) Dropped() (queueFull, failed uint64) {
	return s.queueFull.Load(), s.failed.Load()
}

// Flush waits until the queued records are written or dropped.
func (s *RedisReplayStore) Flush() {
	s.mu.Lock()
	for s.pending > 0 {
		s.idle.Wait()
	}
	s.mu.Unlock()
}

// Close writes the queued records, stops the writers and closes the
// connections. Records added afterwards are dropped.
func (s *RedisReplayStore) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.queue != nil {
		close(s.queue)
	}
	s.mu.Unlock()
	s.workers.Wait()
	return s.client.Close()
}

// List returns the records f selects, newest first, skipping those
// older than the TTL.
func (s *RedisReplayStore) List(ctx context.Context, f ReplayFilter) ([]*ReplayRecord, error) {
	key := s.prefix + "all"
	if f.Decision != "" {
		key = s.decisionKey(f.Decision)
	}
	page := f.Limit
	if page <= 0 {
		page = replayListPage
	}
	var out []*ReplayRecord
	for offset := 0; ; {
		ids, err := s.client.ZRevRangeByScore(ctx, key, &goredis.ZRangeBy{Min: s.cutoff(), Max: "+inf",
			Offset: int64(offset), Count: int64(page)}).Result()
		if err != nil {
			return nil, fmt.Errorf("%w: list records: %w", ErrReplayStore, err)
		}
		recs, err := s.load(ctx, ids)
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
		offset += len(ids)
		if len(ids) < page || f.Limit > 0 && len(out) >= f.Limit {
			break
		}
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// load reads the records ids names, skipping those gone (expired or
// trimmed since the index was read).
func (s *RedisReplayStore) load(ctx context.Context, ids []string) ([]*ReplayRecord, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*goredis.StringCmd, len(ids))
	_, err := s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGet(ctx, s.RecordKey(id), "j")
		}
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("%w: read records: %w", ErrReplayStore, err)
	}
	out := make([]*ReplayRecord, 0, len(ids))
	for i, c := range cmds {
		b, err := c.Bytes()
		if errors.Is(err, goredis.Nil) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: read record %q: %w", ErrReplayStore, ids[i], err)
		}
		rec := &ReplayRecord{}
		if err := json.Unmarshal(b, rec); err != nil {
			return nil, fmt.Errorf("decode record %q: %w", ids[i], err)
		}
		if !s.expired(rec) {
			out = append(out, rec)
		}
	}
	return out, nil
}

func (s *RedisReplayStore) expired(rec *ReplayRecord) bool {
	return s.ttl > 0 && rec.Time.UnixMicro() < s.now().Add(-s.ttl).UnixMicro()
}

// Get returns the record named id: a record id, else a request id.
func (s *RedisReplayStore) Get(ctx context.Context, id string) (*ReplayRecord, bool, error) {
	recs, err := s.load(ctx, []string{id})
	if err != nil || len(recs) == 1 {
		return first(recs), len(recs) == 1, err
	}
	rid, err := s.client.Get(ctx, s.prefix+"q:"+id).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%w: read request id: %w", ErrReplayStore, err)
	}
	recs, err = s.load(ctx, []string{rid})
	return first(recs), len(recs) == 1, err
}

func first(recs []*ReplayRecord) *ReplayRecord {
	if len(recs) == 0 {
		return nil
	}
	return recs[0]
}

// Stats counts the records the store holds (every replica's) and the
// records this gateway dropped. Bytes is not tracked for a shared store.
func (s *RedisReplayStore) Stats(ctx context.Context) (ReplayStats, error) {
	n, err := s.client.ZCount(ctx, s.prefix+"all", s.cutoff(), "+inf").Result()
	if err != nil {
		return ReplayStats{}, fmt.Errorf("%w: count records: %w", ErrReplayStore, err)
	}
	qf, failed := s.Dropped()
	return ReplayStats{Records: int(n), Backend: routes.ReplayBackendRedis, Dropped: qf + failed}, nil
}
