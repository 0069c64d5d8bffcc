package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// replayCommand reads the router_replay records of a running gateway
// (API mode: GET /v1/router_replay[/{id}]), or of every gateway sharing a
// redis/valkey store (--redis, --config; replay_store.go).
func replayCommand() *Command {
	c := &Command{
		Name:    "replay",
		Summary: "print the router_replay records of a running router (GET /v1/router_replay)",
		Usage:   "[ID] [--url http://127.0.0.1:8801 | --redis HOST:PORT | --config FILE] [--decision NAME] [--limit N]",
	}
	c.Run = func(ctx context.Context, env *Env, args []string) error {
		fs := newFlagSet(c)
		base := fs.String("url", "http://127.0.0.1:8801", "the router's OpenAI-compatible API")
		decision := fs.String("decision", "", "only this decision's records")
		limit := fs.Int("limit", 0, "at most this many records, newest first (0: the router's default, 100)")
		tokenEnv := fs.String("token-env", "SEMROUTER_MANAGEMENT_TOKEN", "environment variable holding the management token (sent as a bearer; not needed from a trusted proxy address)")
		timeout := fs.Duration("timeout", 30*time.Second, "request timeout")
		var sf replayStoreFlags
		fs.StringVar(&sf.addr, "redis", "", "read the shared redis/valkey store (global.services.router_replay.redis.address) instead of a router: every gateway's records, ext_proc-only ones included")
		fs.IntVar(&sf.db, "redis-db", 0, "with --redis: the database")
		fs.StringVar(&sf.prefix, "redis-prefix", gateway.DefaultReplayKeyPrefix, "with --redis: the key prefix (router_replay.redis.key_prefix)")
		fs.BoolVar(&sf.tls, "redis-tls", false, "with --redis: connect with TLS")
		fs.StringVar(&sf.passwordEnv, "redis-password-env", "SEMROUTER_REPLAY_REDIS_PASSWORD", "with --redis: environment variable holding the password")
		fs.StringVar(&sf.config, "config", "", "read the store that global.services.router_replay of this config names (redis/valkey)")
		pos, err := parseFlags(env, c, fs, args, "Prints the routing records the router_replay plugin keeps in the gateway's\nmemory (decision, model, signals, cache path, status, latency, redacted\nbodies) as JSON. Without ID it lists them, newest first; with ID (a record\nid or an x-request-id) it prints one record. With --redis or --config it\nreads the shared store of global.services.router_replay directly.")
		if err != nil {
			return err
		}
		if len(pos) > 1 {
			return usageErrorf("replay takes at most one record ID")
		}
		if *limit < 0 {
			return usageErrorf("replay: --limit must not be negative")
		}
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		st, err := sf.store()
		if err != nil {
			return err
		}
		if st != nil {
			id := ""
			if len(pos) == 1 {
				id = pos[0]
			}
			return readReplayStore(ctx, env, st, id, gateway.ReplayFilter{Decision: *decision, Limit: *limit})
		}
		u := strings.TrimRight(*base, "/") + "/v1/router_replay"
		if len(pos) == 1 {
			u += "/" + url.PathEscape(pos[0])
		} else {
			q := url.Values{}
			if *decision != "" {
				q.Set("decision", *decision)
			}
			if *limit > 0 {
				q.Set("limit", strconv.Itoa(*limit))
			}
			if len(q) > 0 {
				u += "?" + q.Encode()
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return usageErrorf("replay: %v", err)
		}
		if tok := os.Getenv(*tokenEnv); tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("read the replay records: %w", err)
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
		if err != nil {
			return fmt.Errorf("read the replay records: %w", err)
		}
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("the router answered %s: %s", resp.Status, strings.TrimSpace(string(data)))
		}
		var out bytes.Buffer
		if err := json.Indent(&out, data, "", "  "); err != nil {
			return fmt.Errorf("the router answered something that is not JSON: %w", err)
		}
		out.WriteByte('\n')
		_, err = env.Stdout.Write(out.Bytes())
		return err
	}
	return c
}
