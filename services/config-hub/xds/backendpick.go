package xds

import (
	"maps"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/semrouter/semrouter/pkg/config"
)

// Backend pinning. The gateway puts a backend's credentials (api_key,
// auth_header, extra_headers) on the request it hands back to Envoy. When
// every backend of a model has the same credentials Envoy's load balancer
// may pick any of them. When they differ the gateway draws the backend
// itself and names it in SelectedBackendHeader; the model's Envoy cluster
// then has one load-balancing subset per backend and a route per backend
// sends the request to that subset only, so one provider's key never
// reaches another. Requests without the header (the gateway is down, or
// it found the resolved credentials equal) take the model route and any
// endpoint.
const (
	// SelectedBackendHeader is the header the gateway sets to the backend
	// name it chose (extproc.HeaderSelectedBackend).
	SelectedBackendHeader = "x-selected-backend"
	// backendSubsetKey is the endpoint metadata key (under envoy.lb) the
	// subsets are built on.
	backendSubsetKey    = "backend"
	lbMetadataNamespace = "envoy.lb"
)

// pinsBackends reports whether m's backends differ in their credential
// settings or api_version (the gateway rewrites :path with the pinned
// backend's api-version), so that the gateway may pin a request to one of
// them. Equal settings resolve to equal credentials, so a model the
// gateway pins is always pinned here too.
func (m model) pinsBackends() bool {
	refs := m.cfg.BackendRefs
	for i := 1; i < len(refs); i++ {
		if !sameCredentials(&refs[0], &refs[i]) {
			return true
		}
	}
	return false
}

func sameCredentials(a, b *config.BackendRef) bool {
	return a.APIKey == b.APIKey && a.APIKeyEnv == b.APIKeyEnv && a.AuthHeader == b.AuthHeader &&
		a.AuthPrefix == b.AuthPrefix && maps.Equal(a.ExtraHeaders, b.ExtraHeaders) && a.APIVersion == b.APIVersion
}

// backendSubsets is the subset configuration of a pinning model's
// cluster: one subset per backend name, any endpoint without a pin.
func backendSubsets() *clusterv3.Cluster_LbSubsetConfig {
	return &clusterv3.Cluster_LbSubsetConfig{
		FallbackPolicy:  clusterv3.Cluster_LbSubsetConfig_ANY_ENDPOINT,
		SubsetSelectors: []*clusterv3.Cluster_LbSubsetConfig_LbSubsetSelector{{Keys: []string{backendSubsetKey}}},
	}
}

// backendMetadata is the metadata that puts an endpoint (or a route's
// request) in backend's subset.
func backendMetadata(backend string) *structpb.Struct {
	return &structpb.Struct{Fields: map[string]*structpb.Value{backendSubsetKey: structpb.NewStringValue(backend)}}
}

func exactHeader(name, value string) *routev3.HeaderMatcher {
	return &routev3.HeaderMatcher{
		Name: name,
		HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{StringMatch: &matcherv3.StringMatcher{
			MatchPattern: &matcherv3.StringMatcher_Exact{Exact: value},
		}},
	}
}

// pinnedRoutes are the per-backend routes of a pinning model, placed
// before its model route.
func pinnedRoutes(m model, timeout time.Duration) []*routev3.Route {
	out := make([]*routev3.Route, 0, len(m.backends))
	for _, b := range m.backends {
		a := routeAction(m, timeout, false)
		a.MetadataMatch = &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{lbMetadataNamespace: backendMetadata(b.name)}}
		out = append(out, &routev3.Route{
			Name: "model/" + m.cfg.Name + "/backend/" + b.name,
			Match: &routev3.RouteMatch{
				PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"},
				Headers:       []*routev3.HeaderMatcher{exactHeader(SelectedModelHeader, m.cfg.Name), exactHeader(SelectedBackendHeader, b.name)},
			},
			Action: &routev3.Route_Route{Route: a},
		})
	}
	return out
}
