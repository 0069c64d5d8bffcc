package xds_test

import (
	"context"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/semrouter/semrouter/services/config-hub/xds"
)

// events is an xds.Observer that sends what it is told on a channel.
type events chan string

var _ xds.Observer = events(nil)

func (e events) StreamOpened()          { e <- "open" }
func (e events) StreamClosed()          { e <- "closed" }
func (e events) XDSResponse(typ string) { e <- "response " + typ }
func (e events) XDSRejected(typ string) { e <- "rejected " + typ }

func (e events) next(t *testing.T) string {
	t.Helper()
	select {
	case ev := <-e:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no observer event in 10s")
		return ""
	}
}

// TestObserverSeesStreamsResponsesAndNACKs drives the real xDS server with
// a hand-written ADS client (standing in for Envoy, which cannot run
// here): the observer sees the stream open, the listener response, the
// client's NACK of it, and the stream close, in that order.
func TestObserverSeesStreamsResponsesAndNACKs(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ev := make(events, 16)
	srv := xds.NewServer(ctx, xds.Options{}, nil, xds.WithObserver(ev))
	if err := srv.Update(ctx, routerConfig(t, "127.0.0.1:1", "127.0.0.1:2"), 7); err != nil {
		t.Fatal(err)
	}
	addr := StartXDS(t, ctx, srv)
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(cc).StreamAggregatedResources(sctx)
	if err != nil {
		t.Fatal(err)
	}
	node := &corev3.Node{Id: "envoy-1", UserAgentName: "envoy"}
	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: resourcev3.ListenerType}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetVersionInfo() != "7" {
		t.Fatalf("response version %q, want 7", resp.GetVersionInfo())
	}
	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: resourcev3.ListenerType,
		VersionInfo: "", ResponseNonce: resp.GetNonce(), ErrorDetail: &status.Status{Code: 3, Message: "refused by the test"}}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"open", "response listener", "rejected listener"} {
		if got := ev.next(t); got != want {
			t.Fatalf("event %d = %q, want %q", i, got, want)
		}
	}
	// The NACK named no accepted version, so the server may answer it with
	// the same snapshot again before the stream closes.
	stop()
	for {
		switch got := ev.next(t); got {
		case "closed":
			return
		case "response listener":
		default:
			t.Fatalf("event %q before the stream closed", got)
		}
	}
}

func TestShortType(t *testing.T) {
	for _, tc := range []struct{ name, url, want string }{
		{"listener", resourcev3.ListenerType, "listener"},
		{"route", resourcev3.RouteType, "route"},
		{"cluster", resourcev3.ClusterType, "cluster"},
		{"endpoint", resourcev3.EndpointType, "endpoint"},
		{"secret", resourcev3.SecretType, "other"},
		{"empty", "", "other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := xds.ShortType(tc.url); got != tc.want {
				t.Errorf("ShortType(%q) = %q, want %q", tc.url, got, tc.want)
			}
		})
	}
}
