package xds_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/semrouter/semrouter/services/config-hub/xds"
)

// TestPinnedBackends: a model whose backends carry different credentials
// gets one load-balancing subset per backend and a route per backend on
// x-selected-backend (the gateway names the backend whose key it set), so
// Envoy never sends one provider's key to another. Models whose backends
// share their credentials are balanced as before.
func TestPinnedBackends(t *testing.T) {
	cfg := loadConfig(t, "pinned.yaml")
	set, err := xds.EnvoyResources(cfg, xds.Options{})
	if err != nil {
		t.Fatal(err)
	}
	validateAll(t, set)
	rc := byName[*routev3.RouteConfiguration](t, set[resourcev3.RouteType], xds.RouteName("api"))
	type match struct{ name, model, backend, cluster, subset string }
	var got []match
	for _, r := range rc.GetVirtualHosts()[0].GetRoutes() {
		m := match{name: r.GetName(), cluster: r.GetRoute().GetCluster()}
		for _, h := range r.GetMatch().GetHeaders() {
			switch h.GetName() {
			case xds.SelectedModelHeader:
				m.model = h.GetStringMatch().GetExact()
			case xds.SelectedBackendHeader:
				m.backend = h.GetStringMatch().GetExact()
			default:
				t.Fatalf("route %q matches %q", r.GetName(), h.GetName())
			}
		}
		m.subset = r.GetRoute().GetMetadataMatch().GetFilterMetadata()["envoy.lb"].GetFields()["backend"].GetStringValue()
		got = append(got, m)
	}
	want := []match{
		{"model/shared", "shared", "", "model/shared", ""},
		{"model/dual/backend/local", "dual", "local", "model/dual", "local"},
		{"model/dual/backend/cloud", "dual", "cloud", "model/dual", "cloud"},
		{"model/dual", "dual", "", "model/dual", ""},
		{"model/hosted/backend/openai", "hosted", "openai", "model/hosted", "openai"},
		{"model/hosted/backend/azure", "hosted", "azure", "model/hosted", "azure"},
		{"model/hosted", "hosted", "", "model/hosted", ""},
		{"default", "", "", "model/shared", ""},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("routes\n got %+v\nwant %+v", got, want)
	}
	// Pinned routes keep the model's retry policy and host rewriting.
	routes := rc.GetVirtualHosts()[0].GetRoutes()
	if routes[1].GetRoute().GetRetryPolicy().GetNumRetries().GetValue() != 1 || !routes[4].GetRoute().GetAutoHostRewrite().GetValue() {
		t.Fatalf("pinned route actions: %v / %v", routes[1].GetRoute(), routes[4].GetRoute())
	}

	clusters := set[resourcev3.ClusterType]
	if c := byName[*clusterv3.Cluster](t, clusters, "model/shared"); c.GetLbSubsetConfig() != nil {
		t.Fatalf("shared-credential model has subsets: %v", c.GetLbSubsetConfig())
	}
	for _, name := range []string{"model/dual", "model/hosted"} {
		sc := byName[*clusterv3.Cluster](t, clusters, name).GetLbSubsetConfig()
		if sc.GetFallbackPolicy() != clusterv3.Cluster_LbSubsetConfig_ANY_ENDPOINT || len(sc.GetSubsetSelectors()) != 1 ||
			!slices.Equal(sc.GetSubsetSelectors()[0].GetKeys(), []string{"backend"}) {
			t.Fatalf("%s subsets: %v", name, sc)
		}
	}
	// Endpoint labels: EDS (dual) and inline DNS (hosted); the TLS
	// transport socket match label stays beside the subset label.
	subsetOf := func(ep *endpointv3.LbEndpoint) string {
		return ep.GetMetadata().GetFilterMetadata()["envoy.lb"].GetFields()["backend"].GetStringValue()
	}
	dual := byName[*endpointv3.ClusterLoadAssignment](t, set[resourcev3.EndpointType], "model/dual").GetEndpoints()[0].GetLbEndpoints()
	if len(dual) != 2 || subsetOf(dual[0]) != "local" || subsetOf(dual[1]) != "cloud" ||
		dual[1].GetMetadata().GetFilterMetadata()["envoy.transport_socket_match"].GetFields()["sni"].GetStringValue() != "10.0.1.2" {
		t.Fatalf("dual endpoints: %v", dual)
	}
	hosted := byName[*clusterv3.Cluster](t, clusters, "model/hosted").GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()
	if len(hosted) != 2 || subsetOf(hosted[0]) != "openai" || subsetOf(hosted[1]) != "azure" {
		t.Fatalf("hosted endpoints: %v", hosted)
	}
	shared := byName[*endpointv3.ClusterLoadAssignment](t, set[resourcev3.EndpointType], "model/shared").GetEndpoints()[0].GetLbEndpoints()
	for _, ep := range shared {
		if ep.GetMetadata() != nil {
			t.Fatalf("shared endpoint labelled: %v", ep)
		}
	}

	// gRPC clients carry no credentials: no pins in their view.
	grpcSet, err := xds.GRPCResources(cfg, xds.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range grpcSet[resourcev3.ClusterType] {
		if r.(*clusterv3.Cluster).GetLbSubsetConfig() != nil {
			t.Fatalf("gRPC cluster %q has subsets", r.(*clusterv3.Cluster).GetName())
		}
	}
	for _, r := range grpcSet[resourcev3.EndpointType] {
		for _, ep := range r.(*endpointv3.ClusterLoadAssignment).GetEndpoints()[0].GetLbEndpoints() {
			if subsetOf(ep) != "" {
				t.Fatalf("gRPC endpoint labelled: %v", ep)
			}
		}
	}
}

// TestPinnedResourcesGolden pins the whole Envoy view of pinned.yaml
// (listener with the early removal of the configured identity headers,
// pinned routes, subset clusters) to a golden file, and checks no key
// reached it.
func TestPinnedResourcesGolden(t *testing.T) {
	out, err := xds.Resources(loadConfig(t, "pinned.yaml"), xds.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	for _, secret := range []string{"sk-shared-secret", "sk-cloud-secret", "sk-openai-secret", "x-tenant"} {
		if bytes.Contains(got, []byte(secret)) {
			t.Fatalf("%q reached the xDS resources", secret)
		}
	}
	golden := filepath.Join("testdata", "pinned.resources.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("resources differ from %s (run with -update):\n%s", golden, got)
	}
}
