package xds_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/config-hub/xds"
)

var update = flag.Bool("update", false, "rewrite golden files")

func loadConfig(t *testing.T, name string) *config.Config {
	t.Helper()
	cfg, _, err := config.Load(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

type validator interface{ Validate() error }

func validateAll(t *testing.T, set xds.ResourceSet) {
	t.Helper()
	for typ, rs := range set {
		for _, r := range rs {
			v, ok := r.(validator)
			if !ok {
				t.Fatalf("%s %T has no Validate", typ, r)
			}
			if err := v.Validate(); err != nil {
				t.Errorf("%s %q: %v", typ, cachev3.GetResourceName(r), err)
			}
		}
	}
}

func byName[T types.Resource](t *testing.T, rs []types.Resource, name string) T {
	t.Helper()
	for _, r := range rs {
		if cachev3.GetResourceName(r) == name {
			return r.(T)
		}
	}
	t.Fatalf("no resource %q", name)
	var zero T
	return zero
}

func unpack[T proto.Message](t *testing.T, a interface{ UnmarshalTo(proto.Message) error }, m T) T {
	t.Helper()
	if err := a.UnmarshalTo(m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEnvoyResources(t *testing.T) {
	cfg := loadConfig(t, "full.yaml")
	set, err := xds.EnvoyResources(cfg, xds.Options{ExtProcAddress: "extproc.svc:50051"})
	if err != nil {
		t.Fatal(err)
	}
	validateAll(t, set)
	snaps, err := xds.Build(cfg, "7", xds.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*cachev3.Snapshot{"envoy": snaps.Envoy, "grpc": snaps.GRPC} {
		if err := s.Consistent(); err != nil {
			t.Fatalf("%s snapshot: %v", name, err)
		}
		if v := s.GetVersion(resourcev3.ListenerType); v != "7" {
			t.Fatalf("%s snapshot version %q, want the revision", name, v)
		}
	}

	// Listener: address, port, HCM with ext_proc then router, RDS by name.
	lis := byName[*listenerv3.Listener](t, set[resourcev3.ListenerType], "api")
	if sa := lis.GetAddress().GetSocketAddress(); sa.GetAddress() != "0.0.0.0" || sa.GetPortValue() != 8801 {
		t.Fatalf("listener address %v", sa)
	}
	mgr := unpack(t, lis.GetFilterChains()[0].GetFilters()[0].GetTypedConfig(), &hcmv3.HttpConnectionManager{})
	if mgr.GetRds().GetRouteConfigName() != xds.RouteName("api") || mgr.GetStreamIdleTimeout().AsDuration().Seconds() != 300 {
		t.Fatalf("hcm: %v", mgr)
	}
	filters := mgr.GetHttpFilters()
	if len(filters) != 2 || filters[0].GetName() != xds.ExtProcFilterName || filters[1].GetName() != "envoy.filters.http.router" {
		t.Fatalf("http filters: %v", filters)
	}
	ep := unpack(t, filters[0].GetTypedConfig(), &extprocv3.ExternalProcessor{})
	pm := ep.GetProcessingMode()
	if ep.GetGrpcService().GetEnvoyGrpc().GetClusterName() != xds.ExtProcClusterName || !ep.GetAllowModeOverride() ||
		pm.GetRequestHeaderMode() != extprocv3.ProcessingMode_SEND || pm.GetRequestBodyMode() != extprocv3.ProcessingMode_BUFFERED ||
		pm.GetResponseHeaderMode() != extprocv3.ProcessingMode_SEND || pm.GetResponseBodyMode() != extprocv3.ProcessingMode_BUFFERED ||
		ep.GetMessageTimeout().AsDuration() <= 0 || !ep.GetFailureModeAllow() ||
		ep.GetRouteCacheAction() != extprocv3.ExternalProcessor_CLEAR {
		t.Fatalf("ext_proc: %v", ep)
	}

	// Routes: one per model on x-selected-model, then the default model.
	rc := byName[*routev3.RouteConfiguration](t, set[resourcev3.RouteType], xds.RouteName("api"))
	routes := rc.GetVirtualHosts()[0].GetRoutes()
	if len(routes) != 4 {
		t.Fatalf("want 3 model routes and a default, got %d", len(routes))
	}
	wantCluster := []string{"model/small", "model/big", "model/mixed", "model/small"}
	for i, r := range routes {
		if got := r.GetRoute().GetCluster(); got != wantCluster[i] {
			t.Fatalf("route %d goes to %q, want %q", i, got, wantCluster[i])
		}
	}
	if h := routes[1].GetMatch().GetHeaders()[0]; h.GetName() != xds.SelectedModelHeader || h.GetStringMatch().GetExact() != "big" {
		t.Fatalf("big route match: %v", h)
	}
	if rp := routes[1].GetRoute().GetRetryPolicy(); rp.GetRetryOn() != "5xx,reset" || rp.GetNumRetries().GetValue() != 2 {
		t.Fatalf("retry policy: %v", rp)
	}
	if routes[0].GetRoute().GetRetryPolicy() != nil || routes[0].GetRoute().GetTimeout().AsDuration().Seconds() != 300 {
		t.Fatalf("small route: %v", routes[0].GetRoute())
	}
	internal := byName[*routev3.RouteConfiguration](t, set[resourcev3.RouteType], xds.RouteName("internal"))
	if got := internal.GetVirtualHosts()[0].GetRoutes()[0].GetRoute().GetTimeout().AsDuration(); got != xds.DefaultListenerTimeout {
		t.Fatalf("listener without timeout: route timeout %v", got)
	}
	if len(routes[3].GetMatch().GetHeaders()) != 0 {
		t.Fatal("default route must match every request")
	}

	clusters := set[resourcev3.ClusterType]
	// small: EDS with weighted endpoints.
	small := byName[*clusterv3.Cluster](t, clusters, "model/small")
	if small.GetType() != clusterv3.Cluster_EDS || small.GetEdsClusterConfig().GetServiceName() != "model/small" {
		t.Fatalf("small cluster: %v", small)
	}
	cla := byName[*endpointv3.ClusterLoadAssignment](t, set[resourcev3.EndpointType], "model/small")
	lbs := cla.GetEndpoints()[0].GetLbEndpoints()
	if len(lbs) != 2 || lbs[0].GetLoadBalancingWeight().GetValue() != 80 || lbs[1].GetLoadBalancingWeight().GetValue() != 20 ||
		lbs[1].GetEndpoint().GetAddress().GetSocketAddress().GetAddress() != "10.0.0.2" {
		t.Fatalf("small endpoints: %v", lbs)
	}
	// big: hosted over TLS with SNI, outlier detection, health check.
	big := byName[*clusterv3.Cluster](t, clusters, "model/big")
	tctx := unpack(t, big.GetTransportSocket().GetTypedConfig(), &tlsv3.UpstreamTlsContext{})
	sa := big.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
	od := big.GetOutlierDetection()
	switch {
	case big.GetType() != clusterv3.Cluster_STRICT_DNS || big.GetLbPolicy() != clusterv3.Cluster_LEAST_REQUEST:
		t.Fatalf("big cluster type/lb: %v", big)
	case tctx.GetSni() != "api.example.com" || sa.GetAddress() != "api.example.com" || sa.GetPortValue() != 443:
		t.Fatalf("big tls %v at %v", tctx, sa)
	case od.GetConsecutive_5Xx().GetValue() != 3 || od.GetBaseEjectionTime().AsDuration().Seconds() != 30 || od.GetMaxEjectionPercent().GetValue() != 50:
		t.Fatalf("outlier detection: %v", od)
	case len(big.GetHealthChecks()) != 1 || big.GetHealthChecks()[0].GetHttpHealthCheck().GetPath() != "/health" ||
		big.GetHealthChecks()[0].GetInterval().AsDuration().Seconds() != 15:
		t.Fatalf("health checks: %v", big.GetHealthChecks())
	case !routes[1].GetRoute().GetAutoHostRewrite().GetValue():
		t.Fatal("hosted model route must rewrite the host")
	}
	// mixed: TLS only for the https endpoint, through a transport socket match.
	mixed := byName[*clusterv3.Cluster](t, clusters, "model/mixed")
	if mixed.GetTransportSocket() != nil || len(mixed.GetTransportSocketMatches()) != 1 ||
		mixed.GetTransportSocketMatches()[0].GetMatch().GetFields()["sni"].GetStringValue() != "llm.example.net" {
		t.Fatalf("mixed cluster tls: %v", mixed)
	}
	// ext_proc: HTTP/2.
	epc := byName[*clusterv3.Cluster](t, clusters, xds.ExtProcClusterName)
	if _, ok := epc.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]; !ok ||
		epc.GetType() != clusterv3.Cluster_STRICT_DNS {
		t.Fatalf("ext_proc cluster: %v", epc)
	}

	// gRPC view: API listeners for each listener and each IP-backed model.
	grpcSet, err := xds.GRPCResources(cfg, xds.Options{})
	if err != nil {
		t.Fatal(err)
	}
	validateAll(t, grpcSet)
	for _, name := range []string{"api", "internal", "model/small"} {
		l := byName[*listenerv3.Listener](t, grpcSet[resourcev3.ListenerType], name)
		m := unpack(t, l.GetApiListener().GetApiListener(), &hcmv3.HttpConnectionManager{})
		if m.GetRouteConfig() == nil {
			t.Fatalf("api listener %q has no inline routes", name)
		}
	}
	if n := len(grpcSet[resourcev3.ClusterType]); n != 1 {
		t.Fatalf("grpc clusters: %d, want only the plaintext IP model", n)
	}
}

func TestBuildRejectsUnusableConfig(t *testing.T) {
	cfg := loadConfig(t, "full.yaml")
	if _, err := xds.Build(cfg, "1", xds.Options{ExtProcAddress: "no-port"}); err == nil {
		t.Fatal("an ext_proc address without a port must be rejected")
	}
}

func TestBootstrapGolden(t *testing.T) {
	cfg := loadConfig(t, "full.yaml")
	opts := xds.BootstrapOptions{XDSAddress: "config-hub:18000", NodeID: "envoy-1", NodeCluster: "edge"}
	yml, err := xds.Bootstrap(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "bootstrap.golden.yaml")
	if *update {
		if err := os.WriteFile(golden, yml, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(yml, want) {
		t.Fatalf("bootstrap differs from %s (run with -update):\n%s", golden, yml)
	}
	opts.Format = "json"
	js, err := xds.Bootstrap(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	var b bootstrapv3.Bootstrap
	if err := protojson.Unmarshal(js, &b); err != nil {
		t.Fatal(err)
	}
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	// The YAML form holds the same document.
	var fromYAML, fromJSON any
	if err := yaml.Unmarshal(yml, &fromYAML); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &fromJSON); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(fromYAML)
	c, _ := json.Marshal(fromJSON)
	if !bytes.Equal(a, c) {
		t.Fatalf("yaml and json bootstraps differ:\n%s\n%s", a, c)
	}
	if b.GetNode().GetId() != "envoy-1" || b.GetDynamicResources().GetAdsConfig().GetGrpcServices()[0].GetEnvoyGrpc().GetClusterName() != xds.XDSClusterName {
		t.Fatalf("bootstrap: %v", &b)
	}
	// Listeners come only over ADS, so a bootstrapped Envoy gets the
	// generated listeners with their early removal of the trusted headers
	// (TestADSListenerStripsTrustedHeaders); a static listener would
	// bypass it.
	if len(b.GetStaticResources().GetListeners()) != 0 || b.GetDynamicResources().GetLdsConfig().GetAds() == nil {
		t.Fatalf("bootstrap listeners do not all come over ADS: %v", &b)
	}
	if _, err := xds.Bootstrap(cfg, xds.BootstrapOptions{Format: "toml"}); err == nil {
		t.Fatal("unknown format accepted")
	}
}

func TestResourcesJSON(t *testing.T) {
	cfg := loadConfig(t, "full.yaml")
	out, err := xds.Resources(cfg, xds.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"listeners": 2, "routes": 2, "clusters": 4, "endpoints": 1}
	for k, n := range want {
		if len(out[k]) != n {
			t.Fatalf("%s: %d resources, want %d", k, len(out[k]), n)
		}
	}
	for _, rs := range out {
		for _, r := range rs {
			if bytes.Contains(r, []byte("sk-test-secret")) {
				t.Fatal("a backend api_key reached the xDS resources")
			}
		}
	}
	var c clusterv3.Cluster
	if err := protojson.Unmarshal(out["clusters"][0], &c); err != nil {
		t.Fatal(err)
	}
	if c.GetName() != xds.ExtProcClusterName { // sorted by name
		t.Fatalf("first cluster %q", c.GetName())
	}
}
