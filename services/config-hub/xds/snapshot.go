package xds

import (
	"errors"
	"fmt"
	"time"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/envoyproxy/go-control-plane/pkg/wellknown"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/semrouter/semrouter/pkg/config"
)

// ResourceSet holds resources by type URL (resourcev3.ListenerType, ...).
type ResourceSet map[resourcev3.Type][]types.Resource

// Snapshots are the two views of one revision: what Envoy receives and
// what gRPC xDS clients receive.
type Snapshots struct {
	Envoy *cachev3.Snapshot
	GRPC  *cachev3.Snapshot
}

// Build makes the Envoy and gRPC snapshots of cfg, both versioned version
// (the KV revision). Both pass Consistent().
func Build(cfg *config.Config, version string, opts Options) (Snapshots, error) {
	envoy, err := EnvoyResources(cfg, opts)
	if err != nil {
		return Snapshots{}, err
	}
	grpc, err := GRPCResources(cfg, opts)
	if err != nil {
		return Snapshots{}, err
	}
	es, err := cachev3.NewSnapshot(version, envoy)
	if err != nil {
		return Snapshots{}, fmt.Errorf("envoy snapshot: %w", err)
	}
	if err := es.Consistent(); err != nil {
		return Snapshots{}, fmt.Errorf("envoy snapshot: %w", err)
	}
	gs, err := cachev3.NewSnapshot(version, grpc)
	if err != nil {
		return Snapshots{}, fmt.Errorf("grpc snapshot: %w", err)
	}
	if err := gs.Consistent(); err != nil {
		return Snapshots{}, fmt.Errorf("grpc snapshot: %w", err)
	}
	return Snapshots{Envoy: es, GRPC: gs}, nil
}

// EnvoyResources builds the resources Envoy receives: a listener and a
// route configuration per listeners[] entry, a cluster per model (EDS with
// a ClusterLoadAssignment for IP backends, STRICT_DNS otherwise) and the
// ext_proc cluster.
func EnvoyResources(cfg *config.Config, opts Options) (ResourceSet, error) {
	opts = opts.withDefaults()
	models, err := resolveModels(cfg)
	if err != nil {
		return nil, err
	}
	set := ResourceSet{}
	seen := map[string]bool{}
	var errs []error
	for _, l := range cfg.Listeners {
		if seen[l.Name] {
			errs = append(errs, fmt.Errorf("listener %q: duplicate name", l.Name))
			continue
		}
		seen[l.Name] = true
		if l.Port <= 0 || l.Port > 65535 {
			errs = append(errs, fmt.Errorf("listener %q: invalid port %d", l.Name, l.Port))
			continue
		}
		rc := routeConfig(RouteName(l.Name), cfg, models, listenerTimeout(l), false)
		set[resourcev3.RouteType] = append(set[resourcev3.RouteType], rc)
		lis, err := envoyListener(l, opts, StrippedHeaders(cfg, opts), cfg.Global.Router.StreamedBody)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		set[resourcev3.ListenerType] = append(set[resourcev3.ListenerType], lis)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, m := range models {
		c, cla := modelCluster(m, opts, false)
		set[resourcev3.ClusterType] = append(set[resourcev3.ClusterType], c)
		if cla != nil {
			set[resourcev3.EndpointType] = append(set[resourcev3.EndpointType], cla)
		}
	}
	ep, err := extProcCluster(opts)
	if err != nil {
		return nil, err
	}
	set[resourcev3.ClusterType] = append(set[resourcev3.ClusterType], ep)
	return set, nil
}

// DefaultListenerTimeout bounds a request when its listener sets no
// timeout (Envoy's own default of 15s is too short for LLM responses).
const DefaultListenerTimeout = 300 * time.Second

func listenerTimeout(l config.Listener) time.Duration {
	if t := l.Timeout.Std(); t > 0 {
		return t
	}
	return DefaultListenerTimeout
}

// envoyListener is the listener of l; strip are the request headers its
// connection manager removes before any HTTP filter runs; sb is
// global.router.streamed_body (extProcFilter).
func envoyListener(l config.Listener, opts Options, strip []string, sb *config.StreamedBody) (*listenerv3.Listener, error) {
	addr := l.Address
	if addr == "" {
		addr = "0.0.0.0"
	}
	extProc := extProcFilter(opts, sb)
	mgr := &hcmv3.HttpConnectionManager{
		StatPrefix: "semrouter_" + l.Name,
		CodecType:  hcmv3.HttpConnectionManager_AUTO,
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{
			ConfigSource:    adsConfigSource(),
			RouteConfigName: RouteName(l.Name),
		}},
		// Client copies of the headers only a trusted hop may set go
		// before ext_proc (or any other filter) reads the request.
		EarlyHeaderMutationExtensions: earlyRemoval(strip),
		HttpFilters: []*hcmv3.HttpFilter{
			{Name: ExtProcFilterName, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(extProc)}},
			{Name: wellknown.Router, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(&routerv3.Router{})}},
		},
	}
	// A stream may be idle for as long as a request may take (a model
	// thinking before its first token).
	mgr.StreamIdleTimeout = durationpb.New(listenerTimeout(l))
	return &listenerv3.Listener{
		Name:    l.Name,
		Address: socketAddress(addr, uint32(l.Port)),
		FilterChains: []*listenerv3.FilterChain{{
			Filters: []*listenerv3.Filter{{
				Name:       wellknown.HTTPConnectionManager,
				ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(mgr)},
			}},
		}},
	}, nil
}

// GRPCResources builds what gRPC xDS clients receive: an API listener per
// listeners[] name (routing on the x-selected-model metadata like Envoy,
// defaulting to the default model) and one per model
// (GRPCModelListenerName), each with its route configuration inline, plus
// the clusters of models whose backends gRPC can reach (plaintext IP
// endpoints, served over EDS). Models with DNS or TLS backends are left out:
// grpc-go needs certificate providers for TLS clusters.
func GRPCResources(cfg *config.Config, opts Options) (ResourceSet, error) {
	opts = opts.withDefaults()
	all, err := resolveModels(cfg)
	if err != nil {
		return nil, err
	}
	var models []model
	for _, m := range all {
		if m.allIP() && !m.anyTLS() {
			models = append(models, m)
		}
	}
	set := ResourceSet{}
	names := map[string]bool{}
	add := func(name string, rc func() []model) {
		if names[name] {
			return
		}
		names[name] = true
		set[resourcev3.ListenerType] = append(set[resourcev3.ListenerType], apiListener(name, routeConfig(RouteName(name), cfg, rc(), 0, true)))
	}
	for _, l := range cfg.Listeners {
		add(l.Name, func() []model { return models })
	}
	for _, m := range models {
		add(GRPCModelListenerName(m.cfg.Name), func() []model { return []model{m} })
	}
	for _, m := range models {
		c, cla := modelCluster(m, opts, true)
		set[resourcev3.ClusterType] = append(set[resourcev3.ClusterType], c)
		set[resourcev3.EndpointType] = append(set[resourcev3.EndpointType], cla)
	}
	return set, nil
}

func apiListener(name string, rc *routev3.RouteConfiguration) *listenerv3.Listener {
	mgr := &hcmv3.HttpConnectionManager{
		StatPrefix:     "semrouter_grpc",
		RouteSpecifier: &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: rc},
		HttpFilters: []*hcmv3.HttpFilter{
			{Name: wellknown.Router, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(&routerv3.Router{})}},
		},
	}
	return &listenerv3.Listener{
		Name:        name,
		ApiListener: &listenerv3.ApiListener{ApiListener: mustAny(mgr)},
	}
}

func resourceName(r types.Resource) string { return cachev3.GetResourceName(r) }
