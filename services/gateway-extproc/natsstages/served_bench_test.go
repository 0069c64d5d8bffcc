package natsstages_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"

	"github.com/semrouter/semrouter/gen/semrouter/cache/v1/cachev1connect"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/pkg/natstest"
	cacheserver "github.com/semrouter/semrouter/services/cache/server"
	"github.com/semrouter/semrouter/services/gateway-extproc/cachekey"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/natsstages"
)

// BenchmarkReportServed measures one served report (CacheService/Served)
// from the gateway's cache stage to the REAL cache service (memory
// backend) over an in-process NATS server: a hit, which records the use
// of its entry, and a miss. The gateway sends it in the background, off
// the request path.
func BenchmarkReportServed(b *testing.B) {
	nc := natstest.Connect(b, natstest.RunServer(b))
	settings := cacheserver.DefaultSettings()
	svc, err := cacheserver.NewService(context.Background(), cacheserver.ServiceOptions{NATS: nc, Settings: &settings, NoStream: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(svc.Close)
	path, h := cachev1connect.NewCacheServiceHandler(svc)
	srv, err := natsrpc.Serve(nc, path, h)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Close)
	c, err := natsstages.NewCache(nc, nil)
	if err != nil {
		b.Fatal(err)
	}
	keys, err := cachekey.Compute([]byte(specBody))
	if err != nil {
		b.Fatal(err)
	}
	part := gateway.CachePartition{Decision: "business", Model: "m-large", Scope: "decision", Revision: "e1"}
	res, err := svc.Store(context.Background(), connect.NewRequest(c.StoreRequest(&gateway.CacheEntry{
		Decision: part.Decision, Model: part.Model, Partition: part, Keys: keys, Body: []byte(cachedCompletion)})))
	if err != nil || !res.Msg.GetStored() {
		b.Fatalf("store: %v %v", res, err)
	}
	for _, bc := range []struct {
		name string
		r    *gateway.ServedReport
	}{
		{"hit", &gateway.ServedReport{Partition: part, Hit: true, EntryID: res.Msg.GetEntryId(), Exact: true}},
		{"miss", &gateway.ServedReport{Partition: part}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			before, _, _ := svc.BackendStats(ctx)
			b.ReportAllocs()
			n := int64(0)
			for b.Loop() {
				if err := c.ReportServed(ctx, bc.r); err != nil {
					b.Fatal(err)
				}
				n++
			}
			after, _, _ := svc.BackendStats(ctx)
			if got := after.Hits - before.Hits + after.Misses - before.Misses; got != n {
				b.Fatalf("the cache counted %d lookups for %d reports", got, n)
			}
		})
	}
}
