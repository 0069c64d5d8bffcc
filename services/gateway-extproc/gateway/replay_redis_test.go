package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/semrouter/semrouter/pkg/redistest"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// replaySpec is testSpec with decision "rec" keeping max records in the
// store st. The classifier of the tests routes every request to "rec".
func replaySpec(st routes.ReplayStore, maxRecords int) routes.Spec {
	spec := testSpec()
	spec.NeedsEmbedding = false
	spec.Replay = st
	spec.Decisions = append(spec.Decisions, routes.Decision{Name: "rec", ModelRefs: []routes.ModelRef{{Model: "qwen3-8b"}},
		Plugins: routes.Plugins{RouterReplay: &routes.RouterReplayPlugin{MaxRecords: maxRecords, MaxBodyBytes: 4096, CaptureRequestBody: true}}})
	return spec
}

var recClassifier = Stages{Classifier: staticClassifier{&Decision{Name: "rec", Confidence: 0.7, Matched: map[string][]string{"keyword": {"kw"}}}}}

// serveRecorded runs one routed request with x-request-id rid through g
// to a 200 answer; the request must be forwarded upstream.
func serveRecorded(t testing.TB, g *Gateway, rid string) {
	t.Helper()
	hdr := func(n string) string {
		if n == "x-request-id" {
			return rid
		}
		return ""
	}
	x, imm, fwd := chat(g, hdr, replayBody)
	if imm != nil || fwd == nil {
		t.Fatalf("request %s not forwarded: %+v", rid, imm)
	}
	x.ResponseHeaders(200, "application/json")
	x.ResponseBody([]byte(replayAnswer), true)
	x.End(200)
}

func adminClient(t testing.TB, addr string) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func redisStoreOf(t testing.TB, g *Gateway) *RedisReplayStore {
	t.Helper()
	s, ok := g.ReplayStore().(*RedisReplayStore)
	if !ok {
		t.Fatalf("store %T, want the redis store", g.ReplayStore())
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestRedisReplayShared: two gateways sharing one real redis-server see
// each other's records, newest first, bounded by max_records; records
// trimmed from the decision leave no keys behind.
func TestRedisReplayShared(t *testing.T) {
	srv := redistest.Start(t)
	st := routes.ReplayStore{Backend: routes.ReplayBackendRedis, TTL: time.Hour, Redis: routes.ReplayRedis{Addr: srv.Addr, KeyPrefix: "t:"}}
	clock := &manualClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	a := newGateway(t, replaySpec(st, 4), recClassifier, WithClock(clock.Now))
	b := newGateway(t, replaySpec(st, 4), recClassifier, WithClock(clock.Now))
	sa, sb := redisStoreOf(t, a), redisStoreOf(t, b)
	for i := range 6 {
		g := a
		if i%2 == 1 {
			g = b
		}
		serveRecorded(t, g, fmt.Sprintf("req-%d", i))
		clock.Advance(time.Second)
	}
	ctx := context.Background()
	for name, s := range map[string]*RedisReplayStore{"a": sa, "b": sb} {
		recs, err := s.List(ctx, ReplayFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range recs {
			got = append(got, r.RequestID)
		}
		if want := "req-5,req-4,req-3,req-2"; strings.Join(got, ",") != want {
			t.Errorf("gateway %s lists %v, want %s (newest first, max_records 4)", name, got, want)
		}
		if recs, _ := s.List(ctx, ReplayFilter{Decision: "rec", Limit: 2}); len(recs) != 2 || recs[0].RequestID != "req-5" {
			t.Errorf("gateway %s: decision filter with limit 2: %d records", name, len(recs))
		}
		if recs, _ := s.List(ctx, ReplayFilter{Decision: "business"}); len(recs) != 0 {
			t.Errorf("gateway %s: other decision lists %d records", name, len(recs))
		}
		st, err := s.Stats(ctx)
		if err != nil || st.Records != 4 || st.Backend != "redis" || st.Dropped != 0 {
			t.Errorf("gateway %s: stats %+v %v", name, st, err)
		}
	}
	// a's record read through b, by id and by request id
	recs, _ := sa.List(ctx, ReplayFilter{Limit: 1})
	if len(recs) != 1 {
		t.Fatal("no record")
	}
	r, ok, err := sb.Get(ctx, recs[0].ID)
	if err != nil || !ok || r.RequestID != "req-5" || r.Decision != "rec" || r.SelectedModel != "qwen3-8b" ||
		!strings.Contains(r.RequestBody, `"api_key":"[REDACTED]"`) || r.Signals["keyword"][0] != "kw" {
		t.Fatalf("get %s through the other gateway: %+v %v %v", recs[0].ID, r, ok, err)
	}
	if r, ok, _ := sa.Get(ctx, "req-4"); !ok || r.RequestID != "req-4" {
		t.Errorf("get by request id: %+v %v", r, ok)
	}
	if _, ok, _ := sa.Get(ctx, "req-0"); ok {
		t.Error("trimmed record still found by request id")
	}
	// the trimmed records' keys are gone: 4 hashes, 4 request ids, 2 indexes
	keys, err := adminClient(t, srv.Addr).Keys(ctx, "t:*").Result()
	if err != nil || len(keys) != 10 {
		t.Errorf("keys %v (%v), want 10", keys, err)
	}
}

// TestRedisReplayTTL: every key carries the TTL; records older than the
// TTL (injected clock) are neither listed nor found, and the next write
// removes them.
func TestRedisReplayTTL(t *testing.T) {
	srv := redistest.Start(t)
	ttl := 90 * time.Second
	st := routes.ReplayStore{Backend: routes.ReplayBackendRedis, TTL: ttl, Redis: routes.ReplayRedis{Addr: srv.Addr}}
	clock := &manualClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	g := newGateway(t, replaySpec(st, 10), recClassifier, WithClock(clock.Now))
	s := redisStoreOf(t, g)
	serveRecorded(t, g, "old")
	ctx := context.Background()
	recs, err := s.List(ctx, ReplayFilter{})
	if err != nil || len(recs) != 1 {
		t.Fatalf("list %d %v", len(recs), err)
	}
	admin := adminClient(t, srv.Addr)
	p := DefaultReplayKeyPrefix
	for _, k := range []string{s.RecordKey(recs[0].ID), p + "q:old", p + "all", p + "d:rec"} {
		d, err := admin.PTTL(ctx, k).Result()
		if err != nil || d <= ttl-10*time.Second || d > ttl {
			t.Errorf("%s: ttl %v (%v), want about %v", k, d, err, ttl)
		}
	}
	clock.Advance(ttl + time.Second)
	if recs, _ := s.List(ctx, ReplayFilter{}); len(recs) != 0 {
		t.Errorf("expired record listed: %+v", recs[0])
	}
	if _, ok, _ := s.Get(ctx, "old"); ok {
		t.Error("expired record found")
	}
	if st, _ := s.Stats(ctx); st.Records != 0 {
		t.Errorf("stats count expired records: %+v", st)
	}
	serveRecorded(t, g, "new")
	if n, _ := admin.Exists(ctx, s.RecordKey(recs[0].ID), p+"q:old").Result(); n != 0 {
		t.Errorf("%d keys of the expired record left after the next write", n)
	}
	if n, _ := admin.ZCard(ctx, p+"all").Result(); n != 1 {
		t.Errorf("index holds %d records, want 1", n)
	}
}

// TestRedisReplayAsyncQueueFull: with redis paused for writes the async
// queue fills; the records that find it full are counted as dropped and
// never block Add; the queued ones are written once redis resumes.
func TestRedisReplayAsyncQueueFull(t *testing.T) {
	srv := redistest.Start(t)
	admin := adminClient(t, srv.Addr)
	ctx := context.Background()
	var logs bytes.Buffer
	clock := &manualClock{t: time.Unix(1000, 0)}
	var mu sync.Mutex
	reasons := map[string]uint64{}
	s, err := NewRedisReplayStore(RedisReplayConfig{Redis: routes.ReplayRedis{Addr: srv.Addr}, Async: true, QueueSize: 2, Workers: 1,
		WriteTimeout: time.Minute, Now: clock.Now, Log: slog.New(slog.NewTextHandler(&logs, nil)),
		OnDrop: func(reason string) { mu.Lock(); reasons[reason]++; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := admin.Do(ctx, "CLIENT", "PAUSE", 60000, "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	const n = 10
	for i := range n {
		s.Add(ctx, recAt("d", i+1), 100)
	}
	queueFull, _ := s.Dropped()
	if err := admin.Do(ctx, "CLIENT", "UNPAUSE").Err(); err != nil {
		t.Fatal(err)
	}
	s.Flush()
	queueFull2, failed := s.Dropped()
	// at most the queue (2) and the record the worker holds (1) wait
	if queueFull < n-3 || queueFull2 != queueFull || failed != 0 {
		t.Fatalf("dropped: %d to a full queue (after flush %d), %d failed; want at least %d, none failed", queueFull, queueFull2, failed, n-3)
	}
	recs, err := s.List(ctx, ReplayFilter{})
	if err != nil || len(recs) != n-int(queueFull) {
		t.Fatalf("%d records written (%v), want %d", len(recs), err, n-int(queueFull))
	}
	mu.Lock()
	if len(reasons) != 1 || reasons["queue_full"] != queueFull {
		t.Errorf("OnDrop saw %v, want %d queue_full", reasons, queueFull)
	}
	mu.Unlock()
	if st, _ := s.Stats(ctx); st.Dropped != queueFull {
		t.Errorf("stats %+v, want %d dropped", st, queueFull)
	}
	// the drops are logged once per 10s of the store's clock
	if n := strings.Count(logs.String(), "records dropped"); n != 1 {
		t.Errorf("%d drop logs for %d drops, want 1:\n%s", n, queueFull, logs.String())
	}
	clock.Advance(11 * time.Second)
	if err := admin.Do(ctx, "CLIENT", "PAUSE", 60000, "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		s.Add(ctx, recAt("d", 100+i), 100)
	}
	if err := admin.Do(ctx, "CLIENT", "UNPAUSE").Err(); err != nil {
		t.Fatal(err)
	}
	s.Flush()
	if n := strings.Count(logs.String(), "records dropped"); n != 2 {
		t.Errorf("%d drop logs after the clock moved on, want 2", n)
	}
}

// TestRedisReplayDown: with the store down a request is still served;
// its record is counted as dropped (inline and async writes) and reads
// report ErrReplayStore.
func TestRedisReplayDown(t *testing.T) {
	for _, async := range []bool{false, true} {
		t.Run(fmt.Sprintf("async=%v", async), func(t *testing.T) {
			srv := redistest.Start(t)
			st := routes.ReplayStore{Backend: routes.ReplayBackendRedis, Async: async, Redis: routes.ReplayRedis{Addr: srv.Addr}}
			g := newGateway(t, replaySpec(st, 10), recClassifier)
			s := redisStoreOf(t, g)
			serveRecorded(t, g, "up")
			g.Wait()
			srv.Stop()
			serveRecorded(t, g, "down")
			serveRecorded(t, g, "down-again") // dropped while the store backs off
			g.Wait()
			if qf, failed := s.Dropped(); qf != 0 || failed != 2 {
				t.Errorf("dropped %d to a full queue, %d failed; want 2 failed", qf, failed)
			}
			if _, err := s.List(context.Background(), ReplayFilter{}); !errors.Is(err, ErrReplayStore) {
				t.Errorf("list with the store down: %v, want ErrReplayStore", err)
			}
			if _, _, err := s.Get(context.Background(), "up"); !errors.Is(err, ErrReplayStore) {
				t.Errorf("get with the store down: %v, want ErrReplayStore", err)
			}
		})
	}
}

// TestReplayStoreFollowsConfig: the memory ring is the store without a
// shared backend; a revision that names redis switches to it, and one
// that changes nothing keeps the same store.
func TestReplayStoreFollowsConfig(t *testing.T) {
	srv := redistest.Start(t)
	g := newGateway(t, replaySpec(routes.ReplayStore{}, 10), recClassifier)
	if _, ok := g.ReplayStore().(memoryReplayStore); !ok {
		t.Fatalf("store %T, want memory", g.ReplayStore())
	}
	serveRecorded(t, g, "m")
	if st, _ := g.ReplayStore().Stats(context.Background()); st.Records != 1 || st.Backend != "memory" {
		t.Errorf("memory stats %+v", st)
	}
	spec := replaySpec(routes.ReplayStore{Backend: routes.ReplayBackendRedis, Redis: routes.ReplayRedis{Addr: srv.Addr}}, 10)
	spec.Revision = "r2"
	tbl, err := routes.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	g.Swap(tbl)
	s := redisStoreOf(t, g)
	if g.ReplayStore() != ReplayStore(s) {
		t.Error("same config reopened the store")
	}
	serveRecorded(t, g, "r")
	if recs, err := s.List(context.Background(), ReplayFilter{}); err != nil || len(recs) != 1 || recs[0].RequestID != "r" {
		t.Errorf("redis records %d %v", len(recs), err)
	}
	// a store that cannot be opened (no address: validation refuses it)
	// keeps records in process
	spec = replaySpec(routes.ReplayStore{Backend: routes.ReplayBackendRedis}, 10)
	if tbl, err = routes.Compile(spec); err != nil {
		t.Fatal(err)
	}
	g.Swap(tbl)
	serveRecorded(t, g, "m2")
	if st, _ := g.ReplayStore().Stats(context.Background()); st.Records != 2 || st.Backend != "memory" {
		t.Errorf("fallback stats %+v, want the 2 in-process records", st)
	}
}

// BenchmarkReplayStoreAdd measures the record write path of each store
// (the record is captured already): the in-process ring, an inline redis
// write (one script round trip to a real redis-server), and an async
// enqueue (the request's cost; the queue may drop under the benchmark's
// load, which is counted).
func BenchmarkReplayStoreAdd(b *testing.B) {
	srv := redistest.Start(b)
	rec := &ReplayRecord{Decision: "bench", RequestID: "r", Time: time.Unix(1, 0), SelectedModel: "qwen3-8b",
		Signals: map[string][]string{"keyword": {"k"}}, RequestBody: strings.Repeat("x", 2048), ResponsePath: "upstream", Status: 200}
	open := func(async bool) ReplayStore {
		s, err := NewRedisReplayStore(RedisReplayConfig{Redis: routes.ReplayRedis{Addr: srv.Addr, KeyPrefix: fmt.Sprint("b", async, ":")}, TTL: time.Hour, Async: async})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		return s
	}
	stores := []struct {
		name string
		s    ReplayStore
	}{
		{"memory", memoryReplayStore{NewReplay(time.Unix(0, 0))}},
		{"redis-inline", open(false)},
		{"redis-async", open(true)},
	}
	ctx := context.Background()
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				r := *rec
				i++
				r.ID = "id-" + strconv.Itoa(i)
				st.s.Add(ctx, &r, 1000)
			}
			b.StopTimer()
			if rs, ok := st.s.(*RedisReplayStore); ok {
				rs.Flush()
				if _, failed := rs.Dropped(); failed != 0 {
					b.Fatalf("%d writes failed", failed)
				}
			}
		})
	}
}
