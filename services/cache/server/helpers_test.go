package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	cachev1 "github.com/semrouter/semrouter/gen/semrouter/cache/v1"
	"github.com/semrouter/semrouter/gen/semrouter/cache/v1/cachev1connect"
	commonv1 "github.com/semrouter/semrouter/gen/semrouter/common/v1"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/pkg/subjects"
	"github.com/semrouter/semrouter/services/cache/cachetest"
	"github.com/semrouter/semrouter/services/cache/jetstream"
)

const testDim = 32

// replica is one cache replica served on NATS (queue group) and on its own
// HTTP server, so a test can talk to one replica directly.
type replica struct {
	name     string
	svc      *Service
	rpc      *natsrpc.Server
	nc       *nats.Conn
	http     cachev1connect.CacheServiceClient
	controls chan string // kinds of control messages applied from others
	closed   bool
}

type replicaOpt func(*ServiceOptions)

func withSettings(s Settings) replicaOpt { return func(o *ServiceOptions) { o.Settings = &s } }

func testSettings() Settings {
	s := DefaultSettings()
	s.Options.Dim = testDim
	s.Options.MaxEntries = 10000
	return s
}

func startReplica(t testing.TB, ns *server.Server, name string, opts ...replicaOpt) *replica {
	t.Helper()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{name: name, nc: nc, controls: make(chan string, 64)}
	settings := testSettings()
	o := ServiceOptions{NATS: nc, Instance: name, Settings: &settings,
		OnControl: func(kind string) { r.controls <- kind }}
	for _, f := range opts {
		f(&o)
	}
	r.svc, err = NewService(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	path, h := cachev1connect.NewCacheServiceHandler(r.svc)
	if r.rpc, err = natsrpc.Serve(nc, path, h); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(path, h)
	hs := httptest.NewServer(mux)
	r.http = cachev1connect.NewCacheServiceClient(hs.Client(), hs.URL)
	t.Cleanup(func() {
		hs.Close()
		r.kill()
	})
	return r
}

// kill stops the replica abruptly: no drain, backend gone. The flush
// makes sure the server has dropped its subscriptions before the test
// goes on (a request routed to a replica in the instant it dies is lost,
// and the caller sees a timeout).
func (r *replica) kill() {
	if r.closed {
		return
	}
	r.closed = true
	r.rpc.Close()
	_ = r.nc.Flush()
	r.svc.Close()
	r.nc.Close()
}

// natsClient is a CacheService client over NATS (lookups are balanced over
// the replicas of the queue group).
func natsClient(t testing.TB, ns *server.Server) cachev1connect.CacheServiceClient {
	return cachev1connect.NewCacheServiceClient(natsrpc.NewClient(natstest.Connect(t, ns)), natsrpc.BaseURL)
}

func lastSeq(t testing.TB, ns *server.Server) uint64 {
	t.Helper()
	nc := natstest.Connect(t, ns)
	j, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := jetstream.LastSequence(t.Context(), j)
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// waitAll waits until every replica applied the stream up to its end.
func waitAll(t testing.TB, ns *server.Server, rs ...*replica) {
	t.Helper()
	seq := lastSeq(t, ns)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for _, r := range rs {
		if err := r.svc.WaitApplied(ctx, seq); err != nil {
			t.Fatalf("replica %s: %v", r.name, err)
		}
	}
}

func waitControl(t testing.TB, r *replica, kind string) {
	t.Helper()
	select {
	case got := <-r.controls:
		if got != kind {
			t.Fatalf("replica %s applied %s, want %s", r.name, got, kind)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("replica %s did not apply the %s broadcast", r.name, kind)
	}
}

func fp(s string) string { return cachetest.FP(s).String() }

var basePartition = &cachev1.Partition{Recipe: "", Decision: "math", Model: "m-small",
	Scope: cachev1.CacheScope_CACHE_SCOPE_GLOBAL, Revision: "r1"}

func partition(decision string) *cachev1.Partition {
	p := proto.CloneOf(basePartition)
	p.Decision = decision
	return p
}

func storeReq(p *cachev1.Partition, exact, ctxFP string, emb []float32, body string) *cachev1.StoreRequest {
	r := &cachev1.StoreRequest{
		ExactFingerprint: fp(exact), ContextFingerprint: fp(ctxFP), Partition: p, QueryText: exact,
		Response: &cachev1.CachedResponse{Body: []byte(body), ContentType: "application/json", StatusCode: 200,
			Model: "m-small", Usage: &commonv1.Usage{PromptTokens: 3, CompletionTokens: 4, TotalTokens: 7}},
		Ttl: durationpb.New(time.Hour),
	}
	if emb != nil {
		r.QueryEmbedding = &commonv1.Vector{Values: emb}
	}
	return r
}

func exactLookup(p *cachev1.Partition, exact string) *cachev1.LookupRequest {
	return &cachev1.LookupRequest{ExactFingerprint: fp(exact), Partition: p, Mode: cachev1.LookupMode_LOOKUP_MODE_EXACT}
}

func semLookup(p *cachev1.Partition, ctxFP string, emb []float32, threshold float64) *cachev1.LookupRequest {
	return &cachev1.LookupRequest{ContextFingerprint: fp(ctxFP), Partition: p, Mode: cachev1.LookupMode_LOOKUP_MODE_SEMANTIC,
		QueryEmbedding: &commonv1.Vector{Values: emb}, SimilarityThreshold: threshold}
}

func store(t testing.TB, c cachev1connect.CacheServiceClient, req *cachev1.StoreRequest) *cachev1.StoreResponse {
	t.Helper()
	res, err := c.Store(t.Context(), connect.NewRequest(req))
	if err != nil {
		t.Fatalf("Store: %v", err)
	}
	if !res.Msg.GetStored() {
		t.Fatalf("Store dropped the write: %s", res.Msg.GetReason())
	}
	return res.Msg
}

func lookup(t testing.TB, c cachev1connect.CacheServiceClient, req *cachev1.LookupRequest) *cachev1.LookupResponse {
	t.Helper()
	res, err := c.Lookup(t.Context(), connect.NewRequest(req))
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	return res.Msg
}

func mustHit(t testing.TB, c cachev1connect.CacheServiceClient, req *cachev1.LookupRequest, body string) *cachev1.LookupResponse {
	t.Helper()
	res := lookup(t, c, req)
	if !res.GetHit() {
		t.Fatalf("miss, want a hit with body %q", body)
	}
	if got := string(res.GetResponse().GetBody()); got != body {
		t.Fatalf("hit body %q, want %q", got, body)
	}
	return res
}

func mustMiss(t testing.TB, c cachev1connect.CacheServiceClient, req *cachev1.LookupRequest) {
	t.Helper()
	if res := lookup(t, c, req); res.GetHit() {
		t.Fatalf("hit (body %q), want a miss", res.GetResponse().GetBody())
	}
}

func vec(seed uint64) []float32 {
	return cachetest.Unit(rand.New(rand.NewPCG(seed, 7)), testDim)
}

func near(seed uint64, base []float32, cos float64) []float32 {
	return cachetest.Near(rand.New(rand.NewPCG(seed, 11)), base, cos)
}

func stats(t testing.TB, c cachev1connect.CacheServiceClient) *cachev1.StatsResponse {
	t.Helper()
	res, err := c.Stats(t.Context(), connect.NewRequest(&cachev1.StatsRequest{}))
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return res.Msg
}

// publishWrite publishes a write the way the gateway does: straight onto
// the stream subject of its decision.
func publishWrite(t testing.TB, ns *server.Server, req *cachev1.StoreRequest) uint64 {
	t.Helper()
	nc := natstest.Connect(t, ns)
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	data, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := js.Publish(t.Context(), subjects.CacheWrite(req.GetPartition().GetDecision()), data)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	return ack.Sequence
}

func code(err error) connect.Code {
	return connect.CodeOf(err)
}

func name(i int) string { return fmt.Sprint("q", i) }
