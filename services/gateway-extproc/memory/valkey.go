package memory

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// DefaultKeyPrefix is the key prefix when collection_prefix is empty.
const DefaultKeyPrefix = "semrouter:memory:"

// ValkeyConfig locates the Valkey/Redis server (global.stores.memory.valkey).
type ValkeyConfig struct {
	Addr     string
	Password string
	DB       int
	// KeyPrefix is collection_prefix (default DefaultKeyPrefix).
	KeyPrefix string
	// Timeout bounds each round trip (default 2s).
	Timeout time.Duration
}

// Valkey is the Valkey/Redis store. Layout (documented for operators):
// one hash per user, key `<KeyPrefix><user id>`, one field per memory,
// the field name its Entry.ID (creation order), the value encodeEntry's
// binary record (text, created_at, source, float32 embedding). Redis without modules has no vector
// search, so List reads the whole hash (HGETALL) and the caller scans
// it; the per-user cap bounds that read.
type Valkey struct {
	client *goredis.Client
	prefix string
}

var _ Store = (*Valkey)(nil)

// NewValkey returns a store; it does not connect until first used, so a
// server that is down degrades requests instead of rejecting the config.
func NewValkey(cfg ValkeyConfig) (*Valkey, error) {
	if cfg.Addr == "" {
		return nil, errors.New("valkey: host is required")
	}
	if cfg.DB < 0 {
		return nil, fmt.Errorf("valkey: database %d must not be negative", cfg.DB)
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = DefaultKeyPrefix
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	c := goredis.NewClient(&goredis.Options{
		Addr: cfg.Addr, Password: cfg.Password, DB: cfg.DB,
		DialTimeout: cfg.Timeout, ReadTimeout: cfg.Timeout, WriteTimeout: cfg.Timeout,
		MaxRetries: -1, DialerRetries: 1, // a request's stage deadline is short: fail fast, degrade
		PoolSize: 8, ConnMaxIdleTime: time.Minute,
	})
	return &Valkey{client: c, prefix: cfg.KeyPrefix}, nil
}

// Key is the Redis key holding user's memories.
func (v *Valkey) Key(user string) string { return v.prefix + user }

// Close closes the connections.
func (v *Valkey) Close() error { return v.client.Close() }

// encodeEntry is the value of a memory's hash field: "m1", created_at
// (int64 Unix ns), source (uint16 length + bytes), text (uint32 length +
// bytes), then the embedding as float32, all little-endian. Binary rather
// than JSON: decoding 200 JSON-and-base64 values dominated a retrieval.
func encodeEntry(e Entry) []byte {
	b := make([]byte, 0, 2+8+2+len(e.Source)+4+len(e.Text)+4*len(e.Embedding))
	b = append(b, 'm', '1')
	b = binary.LittleEndian.AppendUint64(b, uint64(e.CreatedAt.UnixNano()))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(e.Source)))
	b = append(b, e.Source...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(e.Text)))
	b = append(b, e.Text...)
	for _, f := range e.Embedding {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	return b
}

var errBadEntry = errors.New("not a memory entry")

func decodeEntry(id string, b []byte) (Entry, error) {
	if len(b) < 16 || b[0] != 'm' || b[1] != '1' {
		return Entry{}, errBadEntry
	}
	e := Entry{ID: id, CreatedAt: time.Unix(0, int64(binary.LittleEndian.Uint64(b[2:])))}
	b = b[10:]
	n := int(binary.LittleEndian.Uint16(b))
	if len(b) < 2+n+4 {
		return Entry{}, errBadEntry
	}
	e.Source, b = string(b[2:2+n]), b[2+n:]
	n = int(binary.LittleEndian.Uint32(b))
	if len(b) < 4+n || (len(b)-4-n)%4 != 0 {
		return Entry{}, errBadEntry
	}
	e.Text, b = string(b[4:4+n]), b[4+n:]
	e.Embedding = make([]float32, len(b)/4)
	for i := range e.Embedding {
		e.Embedding[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return e, nil
}

// List reads user's hash.
func (v *Valkey) List(ctx context.Context, user string) ([]Entry, error) {
	if user == "" {
		return nil, ErrNoUser
	}
	m, err := v.client.HGetAll(ctx, v.Key(user)).Result()
	if err != nil {
		return nil, fmt.Errorf("read memories: %w", err)
	}
	out := make([]Entry, 0, len(m))
	for id, raw := range m {
		e, err := decodeEntry(id, []byte(raw))
		if err != nil {
			continue // not ours: ignore rather than fail the request
		}
		out = append(out, e)
	}
	return out, nil
}

// Add writes e and evicts the oldest fields beyond maxEntries.
func (v *Valkey) Add(ctx context.Context, user string, e Entry, maxEntries int) error {
	if user == "" {
		return ErrNoUser
	}
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	raw := encodeEntry(e)
	key := v.Key(user)
	var n *goredis.IntCmd
	if _, err := v.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.HSet(ctx, key, e.ID, raw)
		n = p.HLen(ctx, key)
		return nil
	}); err != nil {
		return fmt.Errorf("store memory: %w", err)
	}
	if n.Val() <= int64(maxEntries) {
		return nil
	}
	ids, err := v.client.HKeys(ctx, key).Result()
	if err != nil {
		return fmt.Errorf("evict memories: %w", err)
	}
	slices.Sort(ids)
	if over := len(ids) - maxEntries; over > 0 {
		if err := v.client.HDel(ctx, key, ids[:over]...).Err(); err != nil {
			return fmt.Errorf("evict memories: %w", err)
		}
	}
	return nil
}

// Forget deletes user's hash.
func (v *Valkey) Forget(ctx context.Context, user string) (int, error) {
	if user == "" {
		return 0, ErrNoUser
	}
	key := v.Key(user)
	var n *goredis.IntCmd
	if _, err := v.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		n = p.HLen(ctx, key)
		p.Del(ctx, key)
		return nil
	}); err != nil {
		return 0, fmt.Errorf("forget memories: %w", err)
	}
	return int(n.Val()), nil
}
