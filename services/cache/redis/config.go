// Package redis is the Redis cache backend: entries live in Redis (hashes
// and strings with EXPIRE, sorted sets for eviction order and expiry, a
// byte counter and shared stats), so they survive restarts and are shared
// by replicas; the semantic tier searches an in-process HNSW index rebuilt
// from Redis when the backend starts (Redis 7 without modules has no vector
// search).
package redis

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// DefaultPasswordEnv is the environment variable the password is read from
// when Config.Password is empty.
const DefaultPasswordEnv = "SEMROUTER_CACHE_REDIS_PASSWORD"

// Config locates the Redis server.
type Config struct {
	Addr     string
	Username string
	// Password; when empty it is read from PasswordEnv.
	Password string
	// PasswordEnv defaults to DefaultPasswordEnv.
	PasswordEnv string
	DB          int
	// KeyPrefix namespaces every key (default "semrouter:cache:").
	KeyPrefix string
	TLS       TLSConfig
	// Timeout bounds each Redis round trip (default 2s).
	Timeout time.Duration
}

// TLSConfig enables TLS to Redis.
type TLSConfig struct {
	Enabled            bool
	CAFile             string
	CertFile, KeyFile  string
	ServerName         string
	InsecureSkipVerify bool
}

func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("redis: addr is required"))
	}
	if c.DB < 0 {
		errs = append(errs, fmt.Errorf("redis: db %d must not be negative", c.DB))
	}
	if c.PasswordEnv == "" {
		c.PasswordEnv = DefaultPasswordEnv
	}
	if c.Password == "" {
		c.Password = os.Getenv(c.PasswordEnv)
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = "semrouter:cache:"
	}
	if strings.ContainsAny(c.KeyPrefix, "*?[]\\") {
		errs = append(errs, fmt.Errorf("redis: key_prefix %q must not contain glob characters", c.KeyPrefix))
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Second
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("redis: tls cert_file and key_file go together"))
	}
	return c, errors.Join(errs...)
}

func (t TLSConfig) build() (*tls.Config, error) {
	if !t.Enabled {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read redis CA %q: %w", t.CAFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read redis CA %q: no PEM certificates", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load redis client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
