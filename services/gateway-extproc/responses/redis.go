package responses

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// RedisConfig is global.services.response_api.redis.
type RedisConfig struct {
	// Addrs: the address, or the cluster addresses in cluster mode.
	Addrs        []string
	Cluster      bool
	Password     string
	DB           int
	KeyPrefix    string
	PoolSize     int
	MinIdleConns int
	MaxRetries   int
	DialTimeout  time.Duration
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	TLS          bool
	TLSSkip      bool
	CertPath     string
	KeyPath      string
	CAPath       string
}

// RedisStore keeps responses in redis (or valkey): one key per response
// (KeyPrefix + id, expiring after the TTL) and a sorted set of ids by
// creation time (KeyPrefix + "index") that bounds them to max, so that
// every router replica sharing the server sees every response.
type RedisStore struct {
	c      goredis.UniversalClient
	prefix string
	max    int
	ttl    time.Duration
	now    func() time.Time
}

var _ Store = (*RedisStore)(nil)

// OpenRedis connects lazily (the first command dials).
func OpenRedis(c RedisConfig, max int, ttl time.Duration, now func() time.Time) (*RedisStore, error) {
	if len(c.Addrs) == 0 || c.Addrs[0] == "" {
		return nil, errors.New("open redis response store: no address")
	}
	tc, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	var cl goredis.UniversalClient
	if c.Cluster {
		cl = goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: c.Addrs, Password: c.Password,
			PoolSize: c.PoolSize, MinIdleConns: c.MinIdleConns, MaxRetries: c.MaxRetries, DialTimeout: c.DialTimeout,
			ReadTimeout: c.ReadTimeout, WriteTimeout: c.WriteTimeout, TLSConfig: tc})
	} else {
		cl = goredis.NewClient(&goredis.Options{Addr: c.Addrs[0], Password: c.Password, DB: c.DB,
			PoolSize: c.PoolSize, MinIdleConns: c.MinIdleConns, MaxRetries: c.MaxRetries, DialTimeout: c.DialTimeout,
			ReadTimeout: c.ReadTimeout, WriteTimeout: c.WriteTimeout, TLSConfig: tc})
	}
	p := c.KeyPrefix
	if p == "" {
		p = DefaultKeyPrefix
	}
	return &RedisStore{c: cl, prefix: p, max: max, ttl: ttl, now: now}, nil
}

func (c RedisConfig) tlsConfig() (*tls.Config, error) {
	if !c.TLS {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.TLSSkip} //nolint:gosec // the operator's choice
	if c.CAPath != "" {
		pem, err := os.ReadFile(c.CAPath)
		if err != nil {
			return nil, fmt.Errorf("read redis CA %s: %w", c.CAPath, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read redis CA %s: no certificate", c.CAPath)
		}
		tc.RootCAs = pool
	}
	if c.CertPath != "" || c.KeyPath != "" {
		cert, err := tls.LoadX509KeyPair(c.CertPath, c.KeyPath)
		if err != nil {
			return nil, fmt.Errorf("load redis client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Close closes the connection pool.
func (r *RedisStore) Close() error { return r.c.Close() }

func (r *RedisStore) key(id string) string { return r.prefix + id }
func (r *RedisStore) index() string        { return r.prefix + "index" }

// Put stores rec, then trims the index: expired ids, then the oldest
// beyond max (their records are deleted).
func (r *RedisStore) Put(ctx context.Context, rec *Record) error {
	id := rec.Response.ID
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode response %s: %w", id, err)
	}
	now := r.now()
	pipe := r.c.Pipeline()
	pipe.Set(ctx, r.key(id), data, r.ttl)
	pipe.ZAdd(ctx, r.index(), goredis.Z{Score: float64(now.UnixMilli()), Member: id})
	pipe.ZRemRangeByScore(ctx, r.index(), "-inf", "("+strconv.FormatInt(now.Add(-r.ttl).UnixMilli(), 10))
	card := pipe.ZCard(ctx, r.index())
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("store response %s in redis: %w", id, err)
	}
	if extra := card.Val() - int64(r.max); extra > 0 {
		old, err := r.c.ZPopMin(ctx, r.index(), extra).Result()
		if err != nil {
			return fmt.Errorf("trim responses in redis: %w", err)
		}
		keys := make([]string, 0, len(old))
		for _, z := range old {
			if m, ok := z.Member.(string); ok {
				keys = append(keys, r.key(m))
			}
		}
		if len(keys) > 0 {
			if err := r.c.Del(ctx, keys...).Err(); err != nil {
				return fmt.Errorf("trim responses in redis: %w", err)
			}
		}
	}
	return nil
}

// Get reads the record id of owner.
func (r *RedisStore) Get(ctx context.Context, owner, id string) (*Record, error) {
	data, err := r.c.Get(ctx, r.key(id)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read response %s from redis: %w", id, err)
	}
	var rec Record
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("decode response %s: %w", id, err)
	}
	if rec.Owner != owner || rec.Response == nil {
		return nil, ErrNotFound
	}
	return &rec, nil
}

// Delete removes the record id of owner.
func (r *RedisStore) Delete(ctx context.Context, owner, id string) error {
	if _, err := r.Get(ctx, owner, id); err != nil {
		return err
	}
	pipe := r.c.Pipeline()
	pipe.Del(ctx, r.key(id))
	pipe.ZRem(ctx, r.index(), id)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("delete response %s from redis: %w", id, err)
	}
	return nil
}
