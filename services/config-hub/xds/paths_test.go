package xds_test

import (
	"strings"
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/semrouter/semrouter/services/config-hub/xds"
)

// The gateway serves POST /v1/completions and /v1/embeddings next to
// chat: it sets x-selected-model (x-selected-backend when it pins) the
// same way, so the generated routes must send every inference path to
// the selected model's cluster, not only /v1/chat/completions.
func TestRoutesSendEveryInferencePathToTheSelectedModel(t *testing.T) {
	cfg := loadConfig(t, "full.yaml")
	set, err := xds.EnvoyResources(cfg, xds.Options{ExtProcAddress: "extproc.svc:50051"})
	if err != nil {
		t.Fatal(err)
	}
	rc := byName[*routev3.RouteConfiguration](t, set[resourcev3.RouteType], xds.RouteName("api"))
	routes := rc.GetVirtualHosts()[0].GetRoutes()
	for _, path := range []string{"/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/embeddings?api-version=2024-10-21"} {
		for model, cluster := range map[string]string{"big": "model/big", "mixed": "model/mixed", "": "model/small"} {
			t.Run(path+" "+model, func(t *testing.T) {
				hdr := map[string]string{}
				if model != "" {
					hdr[xds.SelectedModelHeader] = model
				}
				r := firstMatch(t, routes, path, hdr)
				if r == nil || r.GetRoute().GetCluster() != cluster {
					t.Fatalf("route %v, want cluster %s", r, cluster)
				}
			})
		}
	}
}

// firstMatch plays Envoy's route selection for the matchers config-hub
// generates (path prefix or exact path, exact header values): the first
// route that matches wins.
func firstMatch(t *testing.T, routes []*routev3.Route, path string, hdr map[string]string) *routev3.Route {
	t.Helper()
	p, _, _ := strings.Cut(path, "?")
	for _, r := range routes {
		m := r.GetMatch()
		ok := false
		switch ps := m.GetPathSpecifier().(type) {
		case *routev3.RouteMatch_Prefix:
			ok = strings.HasPrefix(p, ps.Prefix)
		case *routev3.RouteMatch_Path:
			ok = p == ps.Path
		default:
			t.Fatalf("route %q: path matcher %T unknown to this test", r.GetName(), ps)
		}
		for _, h := range m.GetHeaders() {
			exact, isExact := h.GetStringMatch().GetMatchPattern().(*matcherv3.StringMatcher_Exact)
			if !isExact || h.GetInvertMatch() {
				t.Fatalf("route %q: header matcher %v unknown to this test", r.GetName(), h)
			}
			ok = ok && hdr[h.GetName()] == exact.Exact
		}
		if ok {
			return r
		}
	}
	return nil
}
