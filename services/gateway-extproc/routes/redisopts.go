package routes

import (
	"crypto/tls"
	"net"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// ClientOptions returns the go-redis options of a store on r (the replay
// store and the model-switch protection store share this connection
// shape): dial timeout r.Timeout (dial when unset), read and write timeout
// rw, r.MaxRetries retries (0 means none, not go-redis's three: these
// stores answer within a request's budget), and TLS named for the host of
// r.Addr when r.TLS is set. The client connects lazily.
func (r ReplayRedis) ClientOptions(dial, rw time.Duration) *goredis.Options {
	if r.Timeout > 0 {
		dial = r.Timeout
	}
	retries := r.MaxRetries
	if retries == 0 {
		retries = -1
	}
	opts := &goredis.Options{
		Addr: r.Addr, Password: r.Password, DB: r.DB, PoolSize: r.PoolSize, MaxRetries: retries,
		DialTimeout: dial, ReadTimeout: rw, WriteTimeout: rw,
		ContextTimeoutEnabled: true, DialerRetries: 1, ConnMaxIdleTime: time.Minute,
	}
	if r.TLS {
		host, _, err := net.SplitHostPort(r.Addr)
		if err != nil {
			host = r.Addr
		}
		opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host, InsecureSkipVerify: r.TLSSkipVerify} //nolint:gosec // tls_skip_verify is the operator's choice
	}
	return opts
}
