package serve_test

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/semrouter/semrouter/cmd/semrouter/internal/serve"
	"github.com/semrouter/semrouter/services/config-hub/xds"
)

// TestServeExtProcPortZero runs the whole process with the ext_proc
// address on port 0 in front of devllm (a development backend, NOT a
// language model). serve binds a free port before config-hub starts, so
// the hub applies the revision (none rejected, the revision gauge set on
// the shared /metrics) and the ext_proc cluster it serves over xDS names
// the bound port, on loopback for a wildcard host. A hand-written ADS
// client stands in for Envoy (which cannot run here) and then routes one
// chat request over ext_proc at the address the cluster names.
func TestServeExtProcPortZero(t *testing.T) {
	root := repoRoot(t)
	requireAssets(t, root)
	backend := httpBackend(t)
	for _, tc := range []struct {
		name     string
		addr     string
		wantHost string
	}{
		{name: "loopback host", addr: "127.0.0.1:0", wantHost: "127.0.0.1"},
		{name: "wildcard host: loopback for Envoy", addr: ":0", wantHost: "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfgPath := writeConfig(t, dir, freePort(t), backend)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			info, stop := startServe(ctx, t, serve.Options{
				ConfigPath: cfgPath, DataDir: filepath.Join(dir, "data"),
				NATSAddr: "127.0.0.1:0", ManagementAddr: "127.0.0.1:0", XDSAddr: "127.0.0.1:0",
				ExtProcAddr: tc.addr, MetricsAddr: "127.0.0.1:0",
				ModelsDir: filepath.Join(root, ".cache", "models"), GuardDir: filepath.Join(dir, "no-guard"),
				StageTimeout: 10 * time.Second, DrainTimeout: 5 * time.Second,
			})
			defer func() {
				if err := stop(); err != nil {
					t.Errorf("serve: %v", err)
				}
			}()
			_, port, err := net.SplitHostPort(info.ExtProcAddr)
			if err != nil || port == "0" || info.XDSAddr == "" || info.ManagementAddr == "" {
				t.Fatalf("info = %+v, want bound ext_proc, xDS and management addresses", info)
			}

			endpoint := extProcEndpoint(ctx, t, info.XDSAddr)
			if want := net.JoinHostPort(tc.wantHost, port); endpoint != want {
				t.Fatalf("xDS ext_proc endpoint %s, want %s (the bound %s)", endpoint, want, info.ExtProcAddr)
			}

			m := waitForSeries(t, info.MetricsAddr, "semrouter_config_hub_config_revisions_total{")
			if got := m[`semrouter_config_hub_config_revisions_total{outcome="rejected"}`]; got != 0 {
				t.Errorf("config-hub rejected %v revisions", got)
			}
			if m[`semrouter_config_hub_config_revisions_total{outcome="accepted"}`] < 1 || m["semrouter_config_hub_config_revision"] < 1 {
				t.Errorf("config-hub applied no revision: accepted %v, serving %v",
					m[`semrouter_config_hub_config_revisions_total{outcome="accepted"}`], m["semrouter_config_hub_config_revision"])
			}

			if !listenersStripIdentity(ctx, t, info.XDSAddr) {
				t.Error("serve's Envoy listeners keep client identity headers by default")
			}
			if got := routeOverExtProc(ctx, t, endpoint); got != "code-expert" {
				t.Errorf("x-selected-model over ext_proc = %q, want code-expert", got)
			}
		})
	}
}

// fetchXDS asks the xDS server at addr for the resources of typeURL, as
// Envoy would over ADS. The server answers once it has a snapshot.
func fetchXDS(ctx context.Context, t *testing.T, addr, typeURL string) *discoveryv3.DiscoveryResponse {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	sctx, stop := context.WithTimeout(ctx, 30*time.Second)
	defer stop()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(cc).StreamAggregatedResources(sctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&discoveryv3.DiscoveryRequest{
		Node:    &corev3.Node{Id: "serve-test", Cluster: "test", UserAgentName: "envoy"},
		TypeUrl: typeURL,
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("xDS %s: %v", typeURL, err)
	}
	if v, err := strconv.ParseUint(resp.GetVersionInfo(), 10, 64); err != nil || v < 1 {
		t.Errorf("xDS version %q, want a config revision", resp.GetVersionInfo())
	}
	return resp
}

// extProcEndpoint returns the host:port of the ext_proc cluster's endpoint
// that the xDS server at addr serves.
func extProcEndpoint(ctx context.Context, t *testing.T, addr string) string {
	t.Helper()
	resp := fetchXDS(ctx, t, addr, resourcev3.ClusterType)
	for _, a := range resp.GetResources() {
		var c clusterv3.Cluster
		if err := a.UnmarshalTo(&c); err != nil {
			t.Fatal(err)
		}
		if c.GetName() != xds.ExtProcClusterName {
			continue
		}
		sa := c.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
		return net.JoinHostPort(sa.GetAddress(), strconv.FormatUint(uint64(sa.GetPortValue()), 10))
	}
	t.Fatalf("no %s cluster in the xDS response (%d clusters)", xds.ExtProcClusterName, len(resp.GetResources()))
	return ""
}

// listenersStripIdentity reports whether every Envoy listener served at
// addr removes client identity headers early (serve's default: no
// --trust-downstream-identity).
func listenersStripIdentity(ctx context.Context, t *testing.T, addr string) bool {
	t.Helper()
	resp := fetchXDS(ctx, t, addr, resourcev3.ListenerType)
	if len(resp.GetResources()) == 0 {
		t.Fatal("no listeners over xDS")
	}
	for _, a := range resp.GetResources() {
		var lis listenerv3.Listener
		if err := a.UnmarshalTo(&lis); err != nil {
			t.Fatal(err)
		}
		var mgr hcmv3.HttpConnectionManager
		if err := lis.GetFilterChains()[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(&mgr); err != nil {
			t.Fatalf("listener %s: %v", lis.GetName(), err)
		}
		if len(mgr.GetEarlyHeaderMutationExtensions()) == 0 {
			return false
		}
	}
	return true
}

// routeOverExtProc sends one chat request's headers and body to the
// ext_proc server at addr, as Envoy would, and returns the model the
// gateway selected.
func routeOverExtProc(ctx context.Context, t *testing.T, addr string) string {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	sctx, stop := context.WithTimeout(ctx, 30*time.Second)
	defer stop()
	stream, err := extprocv3.NewExternalProcessorClient(cc).Process(sctx)
	if err != nil {
		t.Fatal(err)
	}
	headers := &corev3.HeaderMap{}
	for _, kv := range [][2]string{{":method", "POST"}, {":path", "/v1/chat/completions"}, {"content-type", "application/json"}} {
		headers.Headers = append(headers.Headers, &corev3.HeaderValue{Key: kv[0], RawValue: []byte(kv[1])})
	}
	if err := stream.Send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{
		RequestHeaders: &extprocv3.HttpHeaders{Headers: headers}}}); err != nil {
		t.Fatal(err)
	}
	if resp, err := stream.Recv(); err != nil || resp.GetRequestHeaders() == nil {
		t.Fatalf("ext_proc headers response %v, %v", resp, err)
	}
	body := `{"model":"auto","messages":[{"role":"user","content":"please debug this function for me"}]}`
	if err := stream.Send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{
		RequestBody: &extprocv3.HttpBody{Body: []byte(body), EndOfStream: true}}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil || resp.GetRequestBody() == nil {
		t.Fatalf("ext_proc body response %v, %v", resp, err)
	}
	for _, h := range resp.GetRequestBody().GetResponse().GetHeaderMutation().GetSetHeaders() {
		if h.GetHeader().GetKey() == xds.SelectedModelHeader {
			return string(h.GetHeader().GetRawValue())
		}
	}
	return ""
}
