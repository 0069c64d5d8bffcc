package sticky

import (
	"context"
	"errors"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/semrouter/semrouter/pkg/redistest"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// TestRedisStore runs against a real redis-server: two stores (two
// gateways) share pins, pins carry the store's TTL, and a stopped server
// is an ErrStore.
func TestRedisStore(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	cfg := routes.StickyStore{Backend: routes.StickyBackendRedis, TTL: time.Hour, Timeout: time.Second,
		Redis: routes.ReplayRedis{Addr: srv.Addr, KeyPrefix: "test:sticky:"}}
	a, err := NewRedisStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := NewRedisStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	if _, ok, err := a.Get(ctx, "k"); ok || err != nil {
		t.Fatalf("Get of a missing pin = %v, %v", ok, err)
	}
	want := Pin{Decision: "d", Model: "m", Turns: 3, LastUsed: t0.UnixMilli()}
	if err := a.Put(ctx, "k", want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := b.Get(ctx, "k")
	if err != nil || !ok || got != want {
		t.Fatalf("the other store reads %+v, %v, %v; want %+v", got, ok, err, want)
	}
	raw := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer raw.Close()
	ttl, err := raw.TTL(ctx, "test:sticky:k").Result()
	if err != nil || ttl <= 0 || ttl > time.Hour {
		t.Errorf("TTL = %v, %v; want (0, 1h]", ttl, err)
	}
	if err := raw.Set(ctx, "test:sticky:junk", "not json", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := a.Get(ctx, "junk"); ok || err != nil {
		t.Errorf("a foreign value reads as %v, %v; want no pin", ok, err)
	}

	srv.Stop()
	if _, _, err := a.Get(ctx, "k"); !errors.Is(err, ErrStore) {
		t.Errorf("Get with the server down = %v, want ErrStore", err)
	}
	if err := a.Put(ctx, "k", want); !errors.Is(err, ErrStore) {
		t.Errorf("Put with the server down = %v, want ErrStore", err)
	}
}

func TestNewRedisStoreErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    routes.ReplayRedis
	}{
		{"no address", routes.ReplayRedis{}},
		{"negative db", routes.ReplayRedis{Addr: "r:1", DB: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewRedisStore(routes.StickyStore{Redis: tc.r}); err == nil {
				t.Error("want an error")
			}
		})
	}
}
