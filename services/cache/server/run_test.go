package server

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/semrouter/semrouter/gen/semrouter/cache/v1/cachev1connect"
	"github.com/semrouter/semrouter/pkg/configwatch"
	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/pkg/subjects"
)

func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestRunFollowsConfig runs a replica with Run: it serves before any
// config revision, rebuilds its backend when the store settings change
// (refilled from the stream), rejects a bad revision, and exposes metrics.
func TestRunFollowsConfig(t *testing.T) {
	ns := natstest.RunServer(t)
	nc := natstest.Connect(t, ns)
	statuses := make(chan configwatch.Status, 8)
	sub, err := nc.Subscribe(subjects.ConfigStatus(ServiceName, "r1"), func(m *nats.Msg) {
		var st configwatch.Status
		if json.Unmarshal(m.Data, &st) == nil {
			statuses <- st
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	hl, ml := listen(t), listen(t)
	ready := make(chan *Service, 1)
	swapped := make(chan uint64, 8)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{NATS: natstest.Connect(t, ns), HTTPListener: hl, MetricsListener: ml,
			Instance: "r1", OnReady: func(s *Service) { ready <- s }, OnSwap: func(rev uint64) { swapped <- rev }})
	}()
	var svc *Service
	select {
	case svc = <-ready:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	cli := cachev1connect.NewCacheServiceClient(http.DefaultClient, "http://"+hl.Addr().String())

	// Before any revision: the defaults serve.
	store(t, cli, storeReq(basePartition, "q", "ctx", nil, "b"))
	mustHit(t, cli, exactLookup(basePartition, "q"), "b")

	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(t.Context(), subjects.ConfigBucket())
	if err != nil {
		t.Fatal(err)
	}
	waitStatus := func(rev uint64) configwatch.Status {
		t.Helper()
		for {
			select {
			case st := <-statuses:
				if st.Revision == rev {
					return st
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("no status for revision %d", rev)
			}
		}
	}
	rev, err := kv.Put(t.Context(), subjects.ConfigKey(), []byte(baseDoc+`
global:
  stores:
    response_cache:
      enabled: true
      backend_type: memory
      max_entries: 3
      ttl_seconds: 600
      eviction_policy: lru
`))
	if err != nil {
		t.Fatal(err)
	}
	if st := waitStatus(rev); !st.Accepted {
		t.Fatalf("revision rejected: %s", st.Error)
	}
	// OnSwap (serve's readiness) reports the applied revision; it runs
	// before the status report goes out.
	if got := <-swapped; got != rev {
		t.Fatalf("OnSwap revision %d, want %d", got, rev)
	}
	if s := svc.Settings(); s.Options.MaxEntries != 3 || s.Options.DefaultTTL != 10*time.Minute {
		t.Fatalf("settings after the revision: %+v", s.Options)
	}
	// The rebuilt backend is refilled from the stream.
	waitAll(t, ns, &replica{name: "r1", svc: svc})
	mustHit(t, cli, exactLookup(basePartition, "q"), "b")

	bad, err := kv.Put(t.Context(), subjects.ConfigKey(), []byte(baseDoc+`
global:
  stores:
    response_cache:
      enabled: true
      backend_type: redis
      redis:
        connection: {port: 6379}
`))
	if err != nil {
		t.Fatal(err)
	}
	st := waitStatus(bad)
	if st.Accepted || !strings.Contains(st.Error, "global.stores.response_cache.redis") || st.Serving != rev {
		t.Fatalf("bad revision: %+v", st)
	}
	if svc.Settings().Backend != BackendMemory {
		t.Fatal("a rejected revision changed the backend")
	}

	res, err := http.Get("http://" + ml.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`llm_cache_plugin_hits_total{decision_name="math",plugin_type="response_cache"} 2`,
		`llm_cache_entries_total{backend="jetstream"} 1`,
		`semrouter_cache_config_revision ` + itoa(rev),
		`llm_cache_operations_total{backend="jetstream",operation="lookup",status="success"}`,
		`semrouter_cache_writes_total{outcome="applied"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v after cancel", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func itoa(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
