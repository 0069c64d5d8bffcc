package xds_test

import (
	"context"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/config-hub/xds"
)

func extProcOf(t *testing.T, lis *listenerv3.Listener) *extprocv3.ExternalProcessor {
	t.Helper()
	f := listenerManager(t, lis).GetHttpFilters()
	if len(f) == 0 || f[0].GetName() != xds.ExtProcFilterName {
		t.Fatalf("ext_proc is not the first HTTP filter: %v", f)
	}
	return unpack(t, f[0].GetTypedConfig(), &extprocv3.ExternalProcessor{})
}

// TestExtProcBodyMode: global.router.streamed_body.enabled switches every
// Envoy listener's ext_proc filter from BUFFERED request bodies (fail
// open, per-message timeout) to FULL_DUPLEX_STREAMED (trailers sent, no
// fail open, as Envoy requires for that mode; the gRPC call outlives the
// body deadline); the response side stays BUFFERED with mode overrides.
func TestExtProcBodyMode(t *testing.T) {
	cases := []struct {
		name       string
		sb         *config.StreamedBody
		body       extprocv3.ProcessingMode_BodySendMode
		trailers   extprocv3.ProcessingMode_HeaderSendMode
		failOpen   bool
		grpcTimout time.Duration
	}{
		{"no block", nil, extprocv3.ProcessingMode_BUFFERED, extprocv3.ProcessingMode_DEFAULT, true, 10 * time.Second},
		{"disabled", &config.StreamedBody{MaxBytes: 1 << 20, TimeoutSec: 15}, extprocv3.ProcessingMode_BUFFERED, extprocv3.ProcessingMode_DEFAULT, true, 10 * time.Second},
		{"enabled", &config.StreamedBody{Enabled: true, MaxBytes: 1 << 20, TimeoutSec: 15}, extprocv3.ProcessingMode_FULL_DUPLEX_STREAMED, extprocv3.ProcessingMode_SEND, false, 25 * time.Second},
		{"enabled without a deadline", &config.StreamedBody{Enabled: true, MaxBytes: 1 << 20}, extprocv3.ProcessingMode_FULL_DUPLEX_STREAMED, extprocv3.ProcessingMode_SEND, false, 10 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loadConfig(t, "full.yaml")
			cfg.Global.Router.StreamedBody = tc.sb
			if got := xds.StreamsRequestBody(tc.sb); got != (tc.body == extprocv3.ProcessingMode_FULL_DUPLEX_STREAMED) {
				t.Fatalf("StreamsRequestBody = %v", got)
			}
			set, err := xds.EnvoyResources(cfg, xds.Options{})
			if err != nil {
				t.Fatal(err)
			}
			validateAll(t, set)
			if len(set[resourcev3.ListenerType]) == 0 {
				t.Fatal("no listeners")
			}
			for _, r := range set[resourcev3.ListenerType] {
				ep := extProcOf(t, r.(*listenerv3.Listener))
				if err := ep.ValidateAll(); err != nil {
					t.Errorf("ext_proc filter: %v", err)
				}
				pm := ep.GetProcessingMode()
				if pm.GetRequestBodyMode() != tc.body || pm.GetRequestTrailerMode() != tc.trailers || ep.GetFailureModeAllow() != tc.failOpen {
					t.Errorf("request side: body %v trailers %v fail open %v", pm.GetRequestBodyMode(), pm.GetRequestTrailerMode(), ep.GetFailureModeAllow())
				}
				if pm.GetRequestHeaderMode() != extprocv3.ProcessingMode_SEND || pm.GetResponseHeaderMode() != extprocv3.ProcessingMode_SEND ||
					pm.GetResponseBodyMode() != extprocv3.ProcessingMode_BUFFERED || !ep.GetAllowModeOverride() ||
					ep.GetRouteCacheAction() != extprocv3.ExternalProcessor_CLEAR {
					t.Errorf("shared settings changed: %v", ep)
				}
				if d := ep.GetMessageTimeout().AsDuration(); d != 10*time.Second {
					t.Errorf("message_timeout %v", d)
				}
				if d := ep.GetGrpcService().GetTimeout().AsDuration(); d != tc.grpcTimout {
					t.Errorf("grpc_service.timeout %v, want %v", d, tc.grpcTimout)
				}
			}
			// The gRPC clients' API listeners run no ext_proc at all.
			grpcSet, err := xds.GRPCResources(cfg, xds.Options{})
			if err != nil {
				t.Fatal(err)
			}
			validateAll(t, grpcSet)
		})
	}
}

// TestADSStreamedBodyListener fetches the listener over ADS from the real
// xDS server (a hand-written ADS client stands in for Envoy, which cannot
// run here) across two revisions: streaming on, then off again.
func TestADSStreamedBodyListener(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := xds.NewServer(ctx, xds.Options{}, nil)
	cfg := routerConfig(t, "127.0.0.1:1", "127.0.0.1:2")
	cfg.Global.Router.StreamedBody = &config.StreamedBody{Enabled: true, MaxBytes: 4 << 20, TimeoutSec: 30}
	if err := srv.Update(ctx, cfg, 4); err != nil {
		t.Fatal(err)
	}
	addr := StartXDS(t, ctx, srv)
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(cc).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	node := &corev3.Node{Id: "envoy-1", UserAgentName: "envoy"}
	fetch := func(req *discoveryv3.DiscoveryRequest) (*discoveryv3.DiscoveryResponse, *extprocv3.ExternalProcessor) {
		t.Helper()
		if err := stream.Send(req); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetResources()) != 1 {
			t.Fatalf("%d listeners", len(resp.GetResources()))
		}
		return resp, extProcOf(t, unpack(t, resp.GetResources()[0], &listenerv3.Listener{}))
	}
	resp, ep := fetch(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: resourcev3.ListenerType})
	if resp.GetVersionInfo() != "4" || ep.GetProcessingMode().GetRequestBodyMode() != extprocv3.ProcessingMode_FULL_DUPLEX_STREAMED ||
		ep.GetProcessingMode().GetRequestTrailerMode() != extprocv3.ProcessingMode_SEND || ep.GetFailureModeAllow() {
		t.Fatalf("revision %s ext_proc %v", resp.GetVersionInfo(), ep)
	}
	cfg.Global.Router.StreamedBody.Enabled = false
	if err := srv.Update(ctx, cfg, 5); err != nil {
		t.Fatal(err)
	}
	resp, ep = fetch(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: resourcev3.ListenerType,
		VersionInfo: resp.GetVersionInfo(), ResponseNonce: resp.GetNonce()})
	if resp.GetVersionInfo() != "5" || ep.GetProcessingMode().GetRequestBodyMode() != extprocv3.ProcessingMode_BUFFERED || !ep.GetFailureModeAllow() {
		t.Fatalf("revision %s ext_proc %v", resp.GetVersionInfo(), ep)
	}
}
