package config

// checkRedisNumbers reports the negative numeric settings of the redis
// client block r at rp (db, database, pool sizes, retries, timeouts) and a
// db that disagrees with database. The stores (router replay, model-switch
// protection, Responses API) share these checks; each adds its own
// notes on the fields it ignores.
func (v *validator) checkRedisNumbers(rp string, r *RedisClient) {
	for _, f := range []struct {
		name string
		n    int
	}{{"db", r.DB}, {"database", r.Database}, {"pool_size", r.PoolSize}, {"min_idle_conns", r.MinIdleConns},
		{"max_retries", r.MaxRetries}, {"dial_timeout", r.DialTimeout}, {"read_timeout", r.ReadTimeout}, {"write_timeout", r.WriteTimeout}} {
		if f.n < 0 {
			v.errorf(sub(rp, f.name), "must not be negative")
		}
	}
	if r.DB != 0 && r.Database != 0 && r.DB != r.Database {
		v.errorf(sub(rp, "database"), "set only db (database %d disagrees with db %d)", r.Database, r.DB)
	}
}

// requireRedisAddress reports, at p.redis (or p.redis.address), that a
// store whose backend (named by field: store_backend, backend) is redis or
// valkey needs the server's address.
func (v *validator) requireRedisAddress(p string, r *RedisClient, field, backend string) {
	at := sub(p, "redis")
	if r != nil {
		at = sub(at, "address")
	}
	v.errorf(at, "required when %s is %s: the redis/valkey server (host:port)", field, backend)
}
