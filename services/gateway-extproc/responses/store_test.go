package responses

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/semrouter/semrouter/pkg/redistest"
)

// clock is an injected time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func record(owner, id, text string) *Record {
	s := text
	return &Record{Owner: owner, Response: &Response{ID: id, Object: "response", Status: StatusCompleted,
		Output: []Item{messageItem("msg_"+id, text, StatusCompleted)}},
		Input: []Item{{Type: TypeMessage, ID: "in_" + id, Role: "user", Content: []Part{{Type: PartInputText, Text: &s}}}}}
}

// The store contract, for each backend: a record is read back whole by
// its owner only, deleted once, and the oldest go beyond max.
func TestStoreContract(t *testing.T) {
	backends := []struct {
		name string
		open func(t *testing.T, max int) Store
	}{
		{"memory", func(t *testing.T, max int) Store { return NewMemoryStore(max, time.Hour, nil) }},
		{"redis", func(t *testing.T, max int) Store {
			rs := redistest.Start(t)
			st, err := OpenRedis(RedisConfig{Addrs: []string{rs.Addr}, KeyPrefix: "t:"}, max, time.Hour, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			return st
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			st := b.open(t, 3)
			if err := st.Put(ctx, record("alice", "r1", "one")); err != nil {
				t.Fatal(err)
			}
			got, err := st.Get(ctx, "alice", "r1")
			if err != nil {
				t.Fatal(err)
			}
			if got.Owner != "alice" || got.Response.Output[0].Content[0].Text == nil || *got.Response.Output[0].Content[0].Text != "one" ||
				got.Input[0].ID != "in_r1" {
				t.Fatalf("read back %+v", got)
			}
			if c := got.Conversation(); len(c) != 2 || c[0].ID != "in_r1" || c[1].ID != "msg_r1" {
				t.Fatalf("conversation %+v", c)
			}
			for _, owner := range []string{"bob", ""} {
				if _, err := st.Get(ctx, owner, "r1"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("%q read alice's record: %v", owner, err)
				}
				if err := st.Delete(ctx, owner, "r1"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("%q deleted alice's record: %v", owner, err)
				}
			}
			if _, err := st.Get(ctx, "alice", "nope"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("unknown id: %v", err)
			}
			if err := st.Delete(ctx, "alice", "r1"); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Get(ctx, "alice", "r1"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("after delete: %v", err)
			}
			for i := range 5 {
				if err := st.Put(ctx, record("", "k"+strconv.Itoa(i), "x")); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 5 {
				_, err := st.Get(ctx, "", "k"+strconv.Itoa(i))
				if kept := i >= 2; kept != (err == nil) {
					t.Fatalf("k%d: kept=%v err=%v (max 3 keeps the newest)", i, kept, err)
				}
			}
		})
	}
}

// Memory records expire after the TTL (injected clock).
func TestMemoryStoreExpiry(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	st := NewMemoryStore(10, time.Minute, c.now)
	ctx := context.Background()
	if err := st.Put(ctx, record("", "a", "x")); err != nil {
		t.Fatal(err)
	}
	c.advance(59 * time.Second)
	if _, err := st.Get(ctx, "", "a"); err != nil {
		t.Fatalf("before the TTL: %v", err)
	}
	c.advance(time.Second)
	if _, err := st.Get(ctx, "", "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("at the TTL: %v", err)
	}
	if st.Len() != 0 {
		t.Fatalf("expired record kept: %d", st.Len())
	}
	// a put drops the expired records before it
	_ = st.Put(ctx, record("", "b", "x"))
	c.advance(2 * time.Minute)
	_ = st.Put(ctx, record("", "c", "x"))
	if st.Len() != 1 {
		t.Fatalf("held %d records, want 1", st.Len())
	}
}

// Redis keys carry the TTL, and the index drops ids older than it.
func TestRedisStoreTTL(t *testing.T) {
	rs := redistest.Start(t)
	c := &clock{t: time.Now()}
	st, err := OpenRedis(RedisConfig{Addrs: []string{rs.Addr}, KeyPrefix: "ttl:"}, 100, 90*time.Second, c.now)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if err := st.Put(ctx, record("", "old", "x")); err != nil {
		t.Fatal(err)
	}
	cl := goredis.NewClient(&goredis.Options{Addr: rs.Addr})
	defer cl.Close()
	ttl, err := cl.TTL(ctx, "ttl:old").Result()
	if err != nil || ttl <= 0 || ttl > 90*time.Second {
		t.Fatalf("key TTL %v err %v", ttl, err)
	}
	c.advance(2 * time.Minute)
	if err := st.Put(ctx, record("", "new", "x")); err != nil {
		t.Fatal(err)
	}
	ids, err := cl.ZRange(ctx, "ttl:index", 0, -1).Result()
	if err != nil || len(ids) != 1 || ids[0] != "new" {
		t.Fatalf("index %v err %v", ids, err)
	}
}

// Open picks the backend; an unknown one is an error, a redis one
// without an address too.
func TestOpenStore(t *testing.T) {
	if st, err := Open(StoreConfig{}, nil); err != nil || st.(*MemoryStore).max != DefaultMaxResponses || st.(*MemoryStore).ttl != DefaultTTL {
		t.Fatalf("default store %v %v", st, err)
	}
	if _, err := Open(StoreConfig{Backend: "postgres"}, nil); err == nil {
		t.Fatal("unknown backend opened")
	}
	if _, err := Open(StoreConfig{Backend: BackendRedis}, nil); err == nil {
		t.Fatal("redis without address opened")
	}
}
