package xds_test

import (
	"slices"
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/semrouter/semrouter/services/config-hub/xds"
)

// TestAPIVersionPinsBackends: backends that differ only in api_version
// are pinned (the gateway's :path carries the pinned backend's
// api-version); equal versions are not.
func TestAPIVersionPinsBackends(t *testing.T) {
	set, err := xds.EnvoyResources(loadConfig(t, "apiversion.yaml"), xds.Options{})
	if err != nil {
		t.Fatal(err)
	}
	validateAll(t, set)
	rc := byName[*routev3.RouteConfiguration](t, set[resourcev3.RouteType], xds.RouteName("api"))
	var names []string
	for _, r := range rc.GetVirtualHosts()[0].GetRoutes() {
		names = append(names, r.GetName())
	}
	want := []string{"model/same", "model/split/backend/old", "model/split/backend/new", "model/split", "default"}
	if !slices.Equal(names, want) {
		t.Fatalf("routes %v, want %v", names, want)
	}
}
