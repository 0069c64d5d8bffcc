package hub_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/pkg/metrics/metricstest"
	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/pkg/subjects"
	"github.com/semrouter/semrouter/services/config-hub/hub"
	"github.com/semrouter/semrouter/services/config-hub/internal/xdstest"
)

// TestMainServesMetrics runs the command with --metrics-addr against a
// real nats-server, a real grpc-go xDS client and real HTTP scrapes: the
// file's revision, an API write, a rejected write and a rollback move the
// revision series; API requests are counted by route and code; the xDS
// stream and its responses are seen.
func TestMainServesMetrics(t *testing.T) {
	t.Setenv("HUB_ADMIN", "admin-secret")
	ns := natstest.RunServer(t)
	nc := natstest.Connect(t, ns)
	statuses, err := nc.SubscribeSync(subjects.ConfigStatusAll())
	if err != nil {
		t.Fatal(err)
	}
	a := xdstest.StartBackend(t, healthpb.HealthCheckResponse_SERVING)
	b := xdstest.StartBackend(t, healthpb.HealthCheckResponse_NOT_SERVING)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(configDoc(a, b)), 0o600); err != nil {
		t.Fatal(err)
	}

	logs := newLogWatch("config-hub serving")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- hub.Main(ctx, []string{"--nats-url", ns.ClientURL(), "--config", path, "--management-addr", "127.0.0.1:0",
			"--xds-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--instance", "m1", "--log-format", "json"}, logs)
	}()
	var line []byte
	select {
	case line = <-logs.found:
	case err := <-done:
		t.Fatalf("hub stopped: %v\n%s", err, logs)
	}
	var addrs struct{ Management, XDS, Metrics string }
	if err := json.Unmarshal(line, &addrs); err != nil || addrs.Metrics == "" || addrs.XDS == "" {
		t.Fatalf("log line %q does not name the metrics and xDS addresses: %v", line, err)
	}
	base := "http://" + addrs.Management
	waitStatus(t, statuses, 1, true)

	cc := xdstest.Client(t, addrs.XDS, "xds:///api")
	if got, err := xdstest.Identity(ctx, cc, ""); err != nil || got != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("revision 1 default route: %v %v", got, err)
	}
	m := metricstest.Scrape(t, addrs.Metrics)
	for _, tc := range []struct {
		name, series string
		want         float64
	}{
		{"file published", `semrouter_config_hub_revisions_published_total{source="file"}`, 1},
		{"revision served", `semrouter_config_hub_config_revision`, 1},
		{"revision accepted", `semrouter_config_hub_config_revisions_total{outcome="accepted"}`, 1},
		{"one xDS stream", `semrouter_config_hub_xds_streams`, 1},
	} {
		if got := m[tc.series]; got != tc.want {
			t.Errorf("%s: %s = %v, want %v", tc.name, tc.series, got, tc.want)
		}
	}
	if m[`semrouter_config_hub_xds_responses_total{type="listener"}`] < 1 || m[`semrouter_config_hub_xds_responses_total{type="cluster"}`] < 1 {
		t.Errorf("no listener or cluster xDS response counted: %v", m)
	}
	if _, ok := m["go_goroutines"]; !ok {
		t.Error("no Go runtime collector")
	}
	if _, ok := m["process_start_time_seconds"]; !ok && isLinux() {
		t.Error("no process collector")
	}

	// An invalid write is refused by validation; a valid one, then a
	// rollback, publish revisions 2 and 3.
	bad := strings.Replace(configDoc(b, a), "default_model: small", "default_model: ghost", 1)
	if code, _, body := request(t, "PUT", base+"/config/router", `"1"`, bad); code != 400 {
		t.Fatalf("invalid PUT: %d %s", code, body)
	}
	if code, _, body := request(t, "PUT", base+"/config/router", `"1"`, configDoc(b, a)); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	waitStatus(t, statuses, 2, true)
	m = metricstest.Scrape(t, addrs.Metrics)
	if got := m[`semrouter_config_hub_config_revision`]; got != 2 {
		t.Errorf("revision gauge after the PUT = %v, want 2", got)
	}
	if code, _, body := request(t, "POST", base+"/config/router/rollback", "", `{"revision": 1}`); code != 200 {
		t.Fatalf("rollback: %d %s", code, body)
	}
	waitStatus(t, statuses, 3, true)
	if code, _, _ := requestAs(t, "wrong-token", "GET", base+"/config/hash", "", ""); code != 401 {
		t.Fatalf("GET with a wrong token: %d", code)
	}
	if code, _, _ := request(t, "GET", base+"/no/such/route", "", ""); code != 404 {
		t.Fatalf("unknown route: %d", code)
	}

	m = metricstest.Scrape(t, addrs.Metrics)
	for _, tc := range []struct {
		name, series string
		want         float64
	}{
		{"API write published", `semrouter_config_hub_revisions_published_total{source="api"}`, 1},
		{"rollback published", `semrouter_config_hub_revisions_published_total{source="rollback"}`, 1},
		{"file not republished", `semrouter_config_hub_revisions_published_total{source="file"}`, 1},
		{"invalid PUT rejected", `semrouter_config_hub_revisions_rejected_total{source="api"}`, 1},
		{"revision served", `semrouter_config_hub_config_revision`, 3},
		{"revisions accepted", `semrouter_config_hub_config_revisions_total{outcome="accepted"}`, 3},
		{"PUT 400", `semrouter_config_hub_api_requests_total{code="400",route="PUT /config/router"}`, 1},
		{"PUT 200", `semrouter_config_hub_api_requests_total{code="200",route="PUT /config/router"}`, 1},
		{"rollback 200", `semrouter_config_hub_api_requests_total{code="200",route="POST /config/router/rollback"}`, 1},
		{"unauthorised", `semrouter_config_hub_api_requests_total{code="401",route="GET /config/hash"}`, 1},
		{"no route", `semrouter_config_hub_api_requests_total{code="404",route=""}`, 1},
	} {
		if got := m[tc.series]; got != tc.want {
			t.Errorf("%s: %s = %v, want %v", tc.name, tc.series, got, tc.want)
		}
	}
	if _, ok := m[`semrouter_config_hub_config_revisions_total{outcome="rejected"}`]; ok {
		t.Error("a revision was rejected by the hub's own compile")
	}

	cc.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("hub: %v", err)
	}
}

func isLinux() bool {
	_, err := os.Stat("/proc/self/stat")
	return err == nil
}

// TestRunRejectedRevisionMetrics: a revision the hub cannot compile (here:
// a document written straight into the KV key, bypassing the store's
// validation) is counted as rejected by the hub, in the registry it was
// given, and the revision gauge keeps naming the last good revision.
func TestRunRejectedRevisionMetrics(t *testing.T) {
	ns := natstest.RunServer(t)
	nc := natstest.Connect(t, ns)
	statuses, err := nc.SubscribeSync(subjects.ConfigStatusAll())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(noAuthDoc()), 0o600); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- hub.Run(ctx, hub.Options{ConfigPath: path, NATS: nc, ManagementAddr: "off", XDSAddr: "off", Instance: "r1",
			PollInterval: time.Hour, Registerer: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}()
	waitStatus(t, statuses, 1, true)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, subjects.ConfigBucket())
	if err != nil {
		t.Fatal(err)
	}
	rev, err := kv.Put(ctx, subjects.ConfigKey(), []byte("version: v0.3\nlisteners: nope\n"))
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, statuses, rev, false)
	srv := &http.Server{Handler: metrics.Handler(reg), ReadHeaderTimeout: time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	m := metricstest.Scrape(t, ln.Addr().String())
	if got := m[`semrouter_config_hub_config_revisions_total{outcome="rejected"}`]; got != 1 {
		t.Errorf("rejected revisions = %v, want 1", got)
	}
	if got := m[`semrouter_config_hub_config_revisions_total{outcome="accepted"}`]; got != 1 {
		t.Errorf("accepted revisions = %v, want 1 (the file's)", got)
	}
	if got := m[`semrouter_config_hub_config_revision`]; got != 1 {
		t.Errorf("revision gauge = %v, want 1 (the last good revision keeps serving)", got)
	}
	if got := m[`semrouter_config_hub_revisions_published_total{source="file"}`]; got != 1 {
		t.Errorf("file revisions published = %v, want 1", got)
	}
	if _, ok := m["go_goroutines"]; ok {
		t.Error("the hub added the Go collector to a registry it was given")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("hub: %v", err)
	}
}

func TestRunMetricsOptions(t *testing.T) {
	nc := natstest.Connect(t, natstest.RunServer(t))
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		name string
		opts hub.Options
		want string
	}{
		{"registerer and address", hub.Options{Registerer: prometheus.NewRegistry(), MetricsAddr: "127.0.0.1:0"}, "either Registerer or MetricsAddr"},
		{"busy metrics port", hub.Options{MetricsAddr: busy.Addr().String()}, "listen for metrics on " + busy.Addr().String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.NATS, o.ManagementAddr, o.XDSAddr = nc, "127.0.0.1:0", "127.0.0.1:0"
			o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			o.Started = func(hub.Addrs) { t.Error("hub started") }
			err := hub.Run(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
