package sticky

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// RedisStore keeps pins in Redis or Valkey, shared by every gateway that
// names the same server and key prefix: a conversation keeps its model
// whichever replica serves its next turn. A pin is one string key
// (prefix + conversation key) holding the JSON of Pin, written with an
// expiry of the store's TTL.
type RedisStore struct {
	client  *goredis.Client
	prefix  string
	ttl     time.Duration
	timeout time.Duration
}

var _ Store = (*RedisStore)(nil)

// NewRedisStore connects lazily to the server of cfg (Backend redis); no
// round trip is made here.
func NewRedisStore(cfg routes.StickyStore) (*RedisStore, error) {
	r := cfg.Redis
	if r.Addr == "" {
		return nil, errors.New("sticky redis store: address is required")
	}
	if r.DB < 0 {
		return nil, fmt.Errorf("sticky redis store: db %d must not be negative", r.DB)
	}
	if r.KeyPrefix == "" {
		r.KeyPrefix = routes.DefaultStickyKeyPrefix
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = routes.DefaultStickyTimeout
	}
	opts := r.ClientOptions(time.Second, cfg.Timeout)
	return &RedisStore{client: goredis.NewClient(opts), prefix: r.KeyPrefix, ttl: max(cfg.TTL, 0), timeout: cfg.Timeout}, nil
}

// Get reads the pin of key; an unreachable or slow server is an error
// wrapping ErrStore.
func (s *RedisStore) Get(ctx context.Context, key string) (Pin, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	raw, err := s.client.Get(ctx, s.prefix+key).Bytes()
	if errors.Is(err, goredis.Nil) {
		return Pin{}, false, nil
	}
	if err != nil {
		return Pin{}, false, fmt.Errorf("%w: get pin: %w", ErrStore, err)
	}
	var p Pin
	if err := json.Unmarshal(raw, &p); err != nil {
		// a value another writer left: treat as no pin, it is overwritten
		return Pin{}, false, nil
	}
	return p, true, nil
}

// Put writes the pin of key with the store's TTL.
func (s *RedisStore) Put(ctx context.Context, key string, p Pin) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode pin: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.client.Set(ctx, s.prefix+key, raw, s.ttl).Err(); err != nil {
		return fmt.Errorf("%w: put pin: %w", ErrStore, err)
	}
	return nil
}

// Close releases the connections.
func (s *RedisStore) Close() error { return s.client.Close() }
