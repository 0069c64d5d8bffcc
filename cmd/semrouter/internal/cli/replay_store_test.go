package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/redistest"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

const sharedReplayDoc = `version: v0.3
listeners: [{name: http, port: 8899}]
providers:
  defaults: {default_model: m1}
  models: [{name: m1, backend_refs: [{name: b, endpoint: "127.0.0.1:9"}]}]
routing:
  signals: {keywords: [{name: kw, keywords: [x]}]}
  decisions:
    - name: rec
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins: [{type: router_replay, configuration: {enabled: true, max_records: 10, capture_request_body: true}}]
global:
  services:
    router_replay: {enabled: true, store_backend: BACKEND, ttl_seconds: 600, redis: {address: "REDIS", key_prefix: "cli:"}}
`

// TestReplayCommandReadsStore: a gateway that serves no HTTP API (the
// core ext_proc drives; Envoy cannot run here, so the test plays its
// calls) writes records to a real redis-server; `semrouter replay`
// reads them with --config and with --redis.
func TestReplayCommandReadsStore(t *testing.T) {
	rs := redistest.Start(t)
	dir := t.TempDir()
	writeDoc := func(name, backend string) string {
		p := filepath.Join(dir, name)
		doc := strings.NewReplacer("BACKEND", backend, "REDIS", rs.Addr).Replace(sharedReplayDoc)
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	file := writeDoc("redis.yaml", "redis")
	cfg, _, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := routes.FromConfig(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := routes.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	g := gateway.New(tbl, gateway.Stages{Classifier: recClassifier{}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, rid := range []string{"ext-1", "ext-2"} {
		x := g.NewExchange()
		x.RequestHeaders("POST", "/v1/chat/completions", func(n string) string {
			if n == "x-request-id" {
				return rid
			}
			return ""
		})
		if imm, fwd := x.RequestBody(context.Background(), []byte(`{"model":"auto","messages":[{"role":"user","content":"x from `+rid+`"}]}`)); imm != nil || fwd == nil {
			t.Fatalf("not forwarded: %+v", imm)
		}
		x.ResponseHeaders(200, "application/json")
		x.ResponseBody([]byte(`{"choices":[{"message":{"role":"assistant","content":"ok"}}]}`), true)
		x.End(200)
	}
	g.Wait()
	if s, ok := g.ReplayStore().(*gateway.RedisReplayStore); ok {
		defer s.Close()
	}

	run := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := Run(context.Background(), append([]string{"replay"}, args...), &out, &errb)
		return out.String(), err
	}
	out, err := run("--config", file, "--decision", "rec")
	if err != nil {
		t.Fatalf("--config: %v", err)
	}
	var list struct {
		Data  []gateway.ReplayRecord `json:"data"`
		Stats gateway.ReplayStats    `json:"stats"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Data) != 2 || list.Data[0].RequestID != "ext-2" ||
		list.Stats.Records != 2 || list.Stats.Backend != "redis" {
		t.Fatalf("--config list (%v): %s", err, out)
	}
	out, err = run("--redis", rs.Addr, "--redis-prefix", "cli:", "ext-1")
	var rec gateway.ReplayRecord
	if err != nil || json.Unmarshal([]byte(out), &rec) != nil || rec.RequestID != "ext-1" || !strings.Contains(rec.RequestBody, "x from ext-1") {
		t.Fatalf("--redis get: %v %s", err, out)
	}
	if _, err := run("--redis", rs.Addr, "nope"); err == nil || !strings.Contains(err.Error(), `no router replay record "nope"`) {
		t.Errorf("unknown id (default prefix): %v", err)
	}
	cases := []struct {
		name string
		args []string
	}{
		{"config keeps records in memory", []string{"--config", writeDoc("memory.yaml", "memory")}},
		{"config and redis together", []string{"--config", file, "--redis", rs.Addr}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := run(tc.args...); ExitCode(err) != ExitUsage {
				t.Errorf("%v: %v, want a usage error", tc.args, err)
			}
		})
	}
}
