package redis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/semrouter/semrouter/services/cache"
	"github.com/semrouter/semrouter/services/cache/cachetest"
)

func newBackend(t *testing.T, cfg Config, opts cache.Options) *Backend {
	t.Helper()
	b, err := New(t.Context(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestBackendContract(t *testing.T) {
	srv := startRedis(t)
	var n atomic.Int64
	cachetest.RunBackendSuite(t, func(t *testing.T, opts cache.Options) cache.Backend {
		// Each subtest gets its own key prefix on the shared server.
		prefix := "suite" + strconv.FormatInt(n.Add(1), 10) + ":"
		return newBackend(t, Config{Addr: srv.addr, KeyPrefix: prefix}, opts)
	})
}

func TestRebuildsVectorsOnStart(t *testing.T) {
	srv := startRedis(t)
	ctx := t.Context()
	clock := cachetest.NewClock(cachetest.Start())
	opts := cache.Options{Dim: cachetest.Dim, Clock: clock}
	cfg := Config{Addr: srv.addr, KeyPrefix: "rebuild:"}
	rng := rand.New(rand.NewPCG(1, 1))
	part := cache.Partition{Decision: "d", Model: "m"}
	vecs := make([][]float32, 30)
	first := newBackend(t, cfg, opts)
	for i := range vecs {
		vecs[i] = cachetest.Unit(rng, cachetest.Dim)
		e := &cache.Entry{Partition: part, Exact: cachetest.FP(fmt.Sprint("q", i)), Context: cachetest.FP("ctx"),
			Embedding: vecs[i], Response: cachetest.OK(fmt.Sprint("b", i)), CreatedAt: clock.Now()}
		if err := first.Put(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := first.Lookup(ctx, cache.Query{}); err != cache.ErrClosed {
		t.Fatalf("lookup after close: %v, want ErrClosed", err)
	}
	second := newBackend(t, cfg, opts)
	for i, v := range vecs {
		h, ok, err := second.Lookup(ctx, cache.Query{Partition: part, Mode: cache.ModeSemantic,
			Context: cachetest.FP("ctx"), Embedding: cachetest.Near(rng, v, 0.97), Threshold: 0.9})
		if err != nil || !ok {
			t.Fatalf("entry %d not found after restart: %v", i, err)
		}
		if string(h.Entry.Response.Body) != fmt.Sprint("b", i) || h.Tier != cache.TierSemantic {
			t.Fatalf("entry %d: got %q via %s", i, h.Entry.Response.Body, h.Tier)
		}
	}
}

func TestSharedBetweenReplicas(t *testing.T) {
	srv := startRedis(t)
	ctx := t.Context()
	clock := cachetest.NewClock(cachetest.Start())
	opts := cache.Options{Dim: cachetest.Dim, Clock: clock}
	cfg := Config{Addr: srv.addr, KeyPrefix: "shared:"}
	a, b := newBackend(t, cfg, opts), newBackend(t, cfg, opts)
	part := cache.Partition{Decision: "d"}
	e := &cache.Entry{Partition: part, Exact: cachetest.FP("q"), Context: cachetest.FP("c"),
		Embedding: cachetest.Unit(rand.New(rand.NewPCG(2, 2)), cachetest.Dim), Response: cachetest.OK("x"), CreatedAt: clock.Now()}
	if err := a.Put(ctx, e); err != nil {
		t.Fatal(err)
	}
	// The exact tier is shared at once; b's vector index learns of the
	// entry only through its own writes or a restart.
	if _, ok, err := b.Lookup(ctx, cache.Query{Partition: part, Mode: cache.ModeExact, Exact: e.Exact}); err != nil || !ok {
		t.Fatalf("replica b misses a's entry: %v", err)
	}
	// An entry invalidated through b disappears for a's semantic tier too.
	if n, err := b.Invalidate(ctx, cache.InvalidateFilter{Decision: "d"}); err != nil || n != 1 {
		t.Fatalf("invalidate: %d %v", n, err)
	}
	if _, ok, err := a.Lookup(ctx, cache.Query{Partition: part, Mode: cache.ModeSemantic, Context: e.Context,
		Embedding: e.Embedding, Threshold: 0.5}); err != nil || ok {
		t.Fatalf("a still answers an invalidated entry: ok=%v err=%v", ok, err)
	}
}

func TestPasswordFromEnv(t *testing.T) {
	srv := startRedis(t, "--requirepass", "s3cret-pw")
	opts := cache.Options{Dim: 4}
	t.Setenv("SEMROUTER_TEST_REDIS_PW", "wrong")
	if _, err := New(t.Context(), Config{Addr: srv.addr, PasswordEnv: "SEMROUTER_TEST_REDIS_PW"}, opts); err == nil {
		t.Fatal("connected with a wrong password")
	}
	t.Setenv("SEMROUTER_TEST_REDIS_PW", "s3cret-pw")
	b := newBackend(t, Config{Addr: srv.addr, PasswordEnv: "SEMROUTER_TEST_REDIS_PW"}, opts)
	if _, err := b.Stats(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Setenv(DefaultPasswordEnv, "s3cret-pw")
	newBackend(t, Config{Addr: srv.addr}, opts)
}

func TestTLS(t *testing.T) {
	ca, cert, key := writeTLSFiles(t)
	port := freePort(t)
	srv := startRedis(t, "--port", "0", "--tls-port", strconv.Itoa(port), "--tls-cert-file", cert,
		"--tls-key-file", key, "--tls-ca-cert-file", ca, "--tls-auth-clients", "no")
	addr := "127.0.0.1:" + strconv.Itoa(port)
	_ = srv
	opts := cache.Options{Dim: 4}
	b := newBackend(t, Config{Addr: addr, TLS: TLSConfig{Enabled: true, CAFile: ca}}, opts)
	e := &cache.Entry{Exact: cachetest.FP("q"), Response: cachetest.OK("over tls"), CreatedAt: cachetest.Start()}
	if err := b.Put(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	h, ok, err := b.Lookup(t.Context(), cache.Query{Mode: cache.ModeExact, Exact: e.Exact})
	if err != nil || !ok || string(h.Entry.Response.Body) != "over tls" {
		t.Fatalf("lookup over TLS: %v %v", ok, err)
	}
	// Without TLS, or without trusting the CA, the connection fails.
	if _, err := New(t.Context(), Config{Addr: addr}, opts); err == nil {
		t.Fatal("plain connection to a TLS port succeeded")
	}
	if _, err := New(t.Context(), Config{Addr: addr, TLS: TLSConfig{Enabled: true}}, opts); err == nil {
		t.Fatal("TLS connection without the CA succeeded")
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "no addr", cfg: Config{}, want: "addr is required"},
		{name: "negative db", cfg: Config{Addr: "x:1", DB: -1}, want: "db -1"},
		{name: "glob prefix", cfg: Config{Addr: "x:1", KeyPrefix: "a*"}, want: "glob"},
		{name: "half client cert", cfg: Config{Addr: "x:1", TLS: TLSConfig{CertFile: "c"}}, want: "go together"},
		{name: "missing CA", cfg: Config{Addr: "x:1", TLS: TLSConfig{Enabled: true, CAFile: "/nonexistent/ca.pem"}}, want: "read redis CA"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(context.Background(), tc.cfg, cache.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err=%v, want %q", err, tc.want)
			}
		})
	}
}
