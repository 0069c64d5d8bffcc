package xds_test

import (
	"context"
	"slices"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	earlyhmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/http/early_header_mutation/header_mutation/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/config-hub/xds"
)

// strippedBy returns the headers an HTTP connection manager removes with
// the early header mutation (and fails on any other early extension).
func strippedBy(t *testing.T, mgr *hcmv3.HttpConnectionManager) []string {
	t.Helper()
	var out []string
	for _, ext := range mgr.GetEarlyHeaderMutationExtensions() {
		if ext.GetName() != xds.EarlyHeaderMutationName {
			t.Fatalf("unexpected early header mutation %q", ext.GetName())
		}
		hm := unpack(t, ext.GetTypedConfig(), &earlyhmv3.HeaderMutation{})
		for _, m := range hm.GetMutations() {
			if m.GetRemove() == "" {
				t.Fatalf("early mutation does more than remove: %v", m)
			}
			out = append(out, m.GetRemove())
		}
	}
	return out
}

func listenerManager(t *testing.T, lis *listenerv3.Listener) *hcmv3.HttpConnectionManager {
	t.Helper()
	return unpack(t, lis.GetFilterChains()[0].GetFilters()[0].GetTypedConfig(), &hcmv3.HttpConnectionManager{})
}

func withIdentity(t *testing.T, cfg *config.Config, userID, groups string) *config.Config {
	t.Helper()
	cfg.Global.Services.Authz = &config.Authz{Identity: &config.AuthzIdentity{UserIDHeader: userID, UserGroupsHeader: groups}}
	return cfg
}

// TestEnvoyListenersStripTrustedHeaders: every generated Envoy listener
// removes client copies of the identity headers and x-vsr-debug with an
// early header mutation (it runs before ext_proc), unless the operator
// says a proxy in front sets them.
func TestEnvoyListenersStripTrustedHeaders(t *testing.T) {
	cases := []struct {
		name string
		cfg  *config.Config
		opts xds.Options
		want []string
	}{
		{name: "default identity headers", cfg: loadConfig(t, "full.yaml"),
			want: []string{"x-authz-user-id", "x-authz-user-groups", "x-vsr-debug"}},
		{name: "configured identity headers", cfg: withIdentity(t, loadConfig(t, "full.yaml"), "X-Forwarded-User", "X-Forwarded-Groups"),
			want: []string{"x-forwarded-user", "x-forwarded-groups", "x-vsr-debug"}},
		{name: "trusted downstream proxy", cfg: loadConfig(t, "full.yaml"), opts: xds.Options{TrustDownstreamIdentity: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := xds.StrippedHeaders(tc.cfg, tc.opts); !slices.Equal(got, tc.want) {
				t.Fatalf("StrippedHeaders = %q, want %q", got, tc.want)
			}
			set, err := xds.EnvoyResources(tc.cfg, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			validateAll(t, set)
			listeners := set[resourcev3.ListenerType]
			if len(listeners) != 2 {
				t.Fatalf("%d listeners", len(listeners))
			}
			for _, r := range listeners {
				lis := r.(*listenerv3.Listener)
				if got := strippedBy(t, listenerManager(t, lis)); !slices.Equal(got, tc.want) {
					t.Errorf("listener %q strips %q, want %q", lis.GetName(), got, tc.want)
				}
			}
			// gRPC API listeners carry no client requests through ext_proc.
			grpcSet, err := xds.GRPCResources(tc.cfg, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range grpcSet[resourcev3.ListenerType] {
				m := unpack(t, r.(*listenerv3.Listener).GetApiListener().GetApiListener(), &hcmv3.HttpConnectionManager{})
				if len(m.GetEarlyHeaderMutationExtensions()) != 0 {
					t.Errorf("gRPC listener %q has early header mutations", r.(*listenerv3.Listener).GetName())
				}
			}
		})
	}
}

// TestADSListenerStripsTrustedHeaders fetches the listener over ADS from
// the real xDS server, as Envoy would (a hand-written ADS client stands in
// for Envoy, which cannot run here), and finds the early removal of the
// configured identity headers and x-vsr-debug before the ext_proc filter.
func TestADSListenerStripsTrustedHeaders(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := xds.NewServer(ctx, xds.Options{}, nil)
	cfg := withIdentity(t, routerConfig(t, "127.0.0.1:1", "127.0.0.1:2"), "x-sub", "")
	if err := srv.Update(ctx, cfg, 3); err != nil {
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
	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: resourcev3.ListenerType}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetResources()) != 1 {
		t.Fatalf("%d listeners", len(resp.GetResources()))
	}
	lis := unpack(t, resp.GetResources()[0], &listenerv3.Listener{})
	mgr := listenerManager(t, lis)
	want := []string{"x-sub", "x-authz-user-groups", "x-vsr-debug"}
	if got := strippedBy(t, mgr); !slices.Equal(got, want) {
		t.Fatalf("listener strips %q, want %q", got, want)
	}
	if f := mgr.GetHttpFilters(); len(f) == 0 || f[0].GetName() != xds.ExtProcFilterName {
		t.Fatalf("ext_proc is not the first HTTP filter: %v", f)
	}
}
