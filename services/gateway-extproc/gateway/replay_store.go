package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"

	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// ReplayStore keeps the records of the router_replay plugin. The
// in-process ring (Replay) is one; RedisReplayStore shares records
// between replicas and keeps them across restarts.
type ReplayStore interface {
	// Add keeps rec, at most maxRecords records of its decision (newest
	// win). It never fails the request: a record the store cannot keep
	// is counted as dropped (Stats). rec must not be modified afterwards.
	Add(ctx context.Context, rec *ReplayRecord, maxRecords int)
	// List returns the records f selects, newest first.
	List(ctx context.Context, f ReplayFilter) ([]*ReplayRecord, error)
	// Get returns the record named id (its ID or its request id).
	Get(ctx context.Context, id string) (*ReplayRecord, bool, error)
	// Stats counts the records held and those dropped.
	Stats(ctx context.Context) (ReplayStats, error)
}

// ErrReplayStore wraps the errors of a shared replay store that could
// not be read (API mode answers 503).
var ErrReplayStore = errors.New("replay store unavailable")

var (
	_ ReplayStore = memoryReplayStore{}
	_ ReplayStore = (*RedisReplayStore)(nil)
)

// memoryReplayStore is the in-process ring as a ReplayStore.
type memoryReplayStore struct{ rp *Replay }

func (m memoryReplayStore) Add(_ context.Context, rec *ReplayRecord, maxRecords int) {
	m.rp.add(rec, maxRecords)
}

func (m memoryReplayStore) List(_ context.Context, f ReplayFilter) ([]*ReplayRecord, error) {
	return m.rp.List(f), nil
}

func (m memoryReplayStore) Get(_ context.Context, id string) (*ReplayRecord, bool, error) {
	r, ok := m.rp.Get(id)
	return r, ok, nil
}

func (m memoryReplayStore) Stats(context.Context) (ReplayStats, error) {
	s := m.rp.Stats()
	s.Backend = routes.ReplayBackendMemory
	return s, nil
}

// replayStores keeps the shared replay store across config revisions: a
// new one is opened only when global.services.router_replay changes.
type replayStores struct {
	mu    sync.Mutex
	cfg   routes.ReplayStore
	store *RedisReplayStore
	// bad: cfg could not be opened (logged once; records stay in process)
	bad bool
}

// ReplayStore returns the store the active routes write router_replay
// records to (the in-process ring unless global.services.router_replay
// names a shared store).
func (g *Gateway) ReplayStore() ReplayStore { return g.replayStoreFor(g.table.Load()) }

func (g *Gateway) replayStoreFor(t *routes.Table) ReplayStore {
	cfg := t.Replay
	if cfg.Backend != routes.ReplayBackendRedis {
		return memoryReplayStore{g.replay}
	}
	s := &g.rstores
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg == cfg && (s.store != nil || s.bad) {
		if s.bad {
			return memoryReplayStore{g.replay}
		}
		return s.store
	}
	st, err := NewRedisReplayStore(RedisReplayConfig{Redis: cfg.Redis, TTL: cfg.TTL, Async: cfg.Async, Now: g.now, Log: g.log,
		OnDrop: g.metrics.ReplayDropped})
	if err != nil {
		// validation requires an address; keep recording in process
		g.log.Warn("router replay: open the redis store; keeping records in process", slog.Any("error", err))
		s.cfg, s.bad = cfg, true
		return memoryReplayStore{g.replay}
	}
	if old := s.store; old != nil {
		g.background.Add(1)
		go func() {
			defer g.background.Done()
			_ = old.Close()
		}()
	}
	s.cfg, s.store, s.bad = cfg, st, false
	return st
}

// flush waits for the queued writes of the shared store (Wait).
func (s *replayStores) flush() {
	s.mu.Lock()
	st := s.store
	s.mu.Unlock()
	if st != nil {
		st.Flush()
	}
}

var _ io.Closer = (*RedisReplayStore)(nil)
