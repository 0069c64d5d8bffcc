package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// replayStoreFlags locate a shared router_replay store to read directly:
// the records of every gateway writing to it, ext_proc-only ones
// included.
type replayStoreFlags struct {
	config      string
	addr        string
	db          int
	prefix      string
	tls         bool
	passwordEnv string
}

// store opens the store the flags name (nil: neither --config nor
// --redis, read a router over HTTP).
func (f *replayStoreFlags) store() (*gateway.RedisReplayStore, error) {
	var st routes.ReplayStore
	switch {
	case f.config != "" && f.addr != "":
		return nil, usageErrorf("replay: use --config or --redis, not both")
	case f.config != "":
		cfg, _, err := config.Load(f.config)
		if err != nil {
			return nil, fmt.Errorf("load config %q: %w", f.config, err)
		}
		st = routes.ReplayStoreFromConfig(cfg.Global.Services.RouterReplay)
		if st.Backend != routes.ReplayBackendRedis {
			return nil, usageErrorf("replay: %s keeps router_replay records in each gateway's memory (global.services.router_replay names no enabled redis/valkey store): read them with --url", f.config)
		}
	case f.addr != "":
		st.Redis = routes.ReplayRedis{Addr: f.addr, DB: f.db, KeyPrefix: f.prefix, TLS: f.tls, Password: os.Getenv(f.passwordEnv)}
	default:
		return nil, nil
	}
	s, err := gateway.NewRedisReplayStore(gateway.RedisReplayConfig{Redis: st.Redis, TTL: st.TTL})
	if err != nil {
		return nil, usageErrorf("replay: %v", err)
	}
	return s, nil
}

// readReplayStore prints what GET /v1/router_replay[/{id}] would answer,
// read from the store itself.
func readReplayStore(ctx context.Context, env *Env, s *gateway.RedisReplayStore, id string, f gateway.ReplayFilter) error {
	defer s.Close()
	var body any
	if id != "" {
		rec, ok, err := s.Get(ctx, id)
		if err != nil {
			return fmt.Errorf("read the replay store: %w", err)
		}
		if !ok {
			return fmt.Errorf("no router replay record %q in the store", id)
		}
		body = rec
	} else {
		if f.Limit == 0 {
			f.Limit = 100 // the router's default
		}
		recs, err := s.List(ctx, f)
		if err != nil {
			return fmt.Errorf("read the replay store: %w", err)
		}
		if recs == nil {
			recs = []*gateway.ReplayRecord{}
		}
		stats, err := s.Stats(ctx)
		if err != nil {
			return fmt.Errorf("read the replay store: %w", err)
		}
		body = struct {
			Object string                  `json:"object"`
			Data   []*gateway.ReplayRecord `json:"data"`
			Stats  gateway.ReplayStats     `json:"stats"`
		}{"list", recs, stats}
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(body); err != nil {
		return fmt.Errorf("encode records: %w", err)
	}
	_, err := env.Stdout.Write(out.Bytes())
	return err
}
