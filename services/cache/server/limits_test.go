package server

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/semrouter/semrouter/gen/semrouter/cache/v1/cachev1connect"
	"github.com/semrouter/semrouter/pkg/natstest"
)

// TestHTTPRequestSizeLimit: the Connect HTTP port (no authentication, on
// every interface by default) refuses a request above MaxRequestBytes
// instead of buffering it whole.
func TestHTTPRequestSizeLimit(t *testing.T) {
	ns := natstest.RunServer(t)
	nc := natstest.Connect(t, ns) // closed after Run returns (cleanups run last-in first-out)
	hl, ml := listen(t), listen(t)
	ready := make(chan *Service, 1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{NATS: nc, HTTPListener: hl, MetricsListener: ml,
			Instance: "limits", OnReady: func(s *Service) { ready <- s }})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	cli := cachev1connect.NewCacheServiceClient(&http.Client{Transport: tr}, "http://"+hl.Addr().String())
	cases := []struct {
		name string
		size int
		want connect.Code
	}{
		{name: "within the limit", size: 64 << 10, want: 0},
		{name: "above the limit", size: MaxRequestBytes + 1<<20, want: connect.CodeResourceExhausted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := storeReq(basePartition, "big-"+c.name, "ctx", nil, strings.Repeat("x", c.size))
			_, err := cli.Store(t.Context(), connect.NewRequest(req))
			if got := connect.CodeOf(err); (err == nil && c.want != 0) || (err != nil && got != c.want) {
				t.Fatalf("Store of %d bytes: %v, want code %v", c.size, err, c.want)
			}
		})
	}
}
