package server_test

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/semrouter/semrouter/pkg/configwatch"
	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/pkg/subjects"
	"github.com/semrouter/semrouter/services/classifier/classifier"
	"github.com/semrouter/semrouter/services/classifier/classifier/classifiertest"
	"github.com/semrouter/semrouter/services/classifier/engine/selection"
	"github.com/semrouter/semrouter/services/classifier/heuristic"
	"github.com/semrouter/semrouter/services/classifier/server"
)

const instance = "test-1"

// env is one running classifier service on a real in-process NATS server
// with JetStream and a real HTTP listener.
type env struct {
	nc       *nats.Conn
	kv       jetstream.KeyValue
	svc      *classifier.Service
	emb      *classifiertest.HashEmbedder
	httpURL  string
	statuses chan configwatch.Status
	latency  chan selection.Observation
	done     chan error
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func quickstart(t testing.TB) []byte {
	t.Helper()
	root, err := classifiertest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return readFile(t, filepath.Join(root, "config", "quickstart.yaml"))
}

// start runs server.Run against a fresh NATS server and publishes doc as
// the first config revision; it returns once that revision is served.
func start(t *testing.T, doc []byte, jb heuristic.JailbreakScorer, copts ...classifier.Option) *env {
	t.Helper()
	return startWith(t, doc, &classifiertest.HashEmbedder{}, jb, copts...)
}

// startWith is start with another embedder (e.emb is set only when it is
// a HashEmbedder).
func startWith(t *testing.T, doc []byte, emb classifier.Embedder, jb heuristic.JailbreakScorer, copts ...classifier.Option) *env {
	t.Helper()
	ns := natstest.RunServer(t)
	nc := natstest.Connect(t, ns)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: subjects.ConfigBucket(), History: 8})
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := emb.(*classifiertest.HashEmbedder)
	e := &env{nc: nc, kv: kv, svc: classifier.NewService(), emb: hash,
		statuses: make(chan configwatch.Status, 16), latency: make(chan selection.Observation, 16), done: make(chan error, 1)}
	sub, err := nc.Subscribe(subjects.ConfigStatus(server.ServiceName, instance), func(m *nats.Msg) {
		var st configwatch.Status
		if json.Unmarshal(m.Data, &st) == nil {
			e.statuses <- st
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.httpURL = "http://" + ln.Addr().String()
	svcConn := natstest.Connect(t, ns)
	go func() {
		e.done <- server.Run(ctx, server.Options{
			NATS: svcConn, HTTPListener: ln, Embedder: emb, Jailbreak: jb, Service: e.svc,
			Instance: instance, CompileOptions: copts,
			OnLatency: func(o selection.Observation) { e.latency <- o },
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-e.done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	rev := e.publish(t, doc)
	if st := e.waitStatus(t, rev); !st.Accepted {
		t.Fatalf("first revision rejected: %s", st.Error)
	}
	return e
}

func (e *env) publish(t testing.TB, doc []byte) uint64 {
	t.Helper()
	rev, err := e.kv.Put(context.Background(), subjects.ConfigKey(), doc)
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// waitStatus waits for the service's report on revision rev.
func (e *env) waitStatus(t testing.TB, rev uint64) configwatch.Status {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case st := <-e.statuses:
			if st.Revision == rev {
				return st
			}
		case err := <-e.done:
			t.Fatalf("service stopped: %v", err)
		case <-timeout:
			t.Fatalf("no status for revision %d within 30s", rev)
		}
	}
}
