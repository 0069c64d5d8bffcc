// Package xds turns a configuration revision into xDS resources: Envoy
// listeners (HTTP connection manager that first removes client copies of
// the trusted identity and debug headers, then runs ext_proc and the
// router), route configurations that match the x-selected-model header
// (and x-selected-backend for models whose backends carry different
// credentials), one cluster per model and its endpoints, plus API
// listeners so that gRPC clients using grpc-go's xDS resolver can follow
// the same routing.
package xds

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"github.com/envoyproxy/go-control-plane/pkg/wellknown"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/semrouter/semrouter/pkg/config"
)

// Header names and resource names shared with the gateway.
const (
	// SelectedModelHeader is the header the gateway sets to the chosen model;
	// routes match it to pick the model's cluster.
	SelectedModelHeader = "x-selected-model"
	// ExtProcClusterName is the cluster of the gateway-extproc service.
	ExtProcClusterName = "gateway-extproc"
	// ExtProcFilterName is the name of the ext_proc HTTP filter.
	ExtProcFilterName = "envoy.filters.http.ext_proc"
	// DefaultExtProcAddress is where gateway-extproc listens by default.
	DefaultExtProcAddress = "127.0.0.1:50051"

	transportSocketMatchKey = "envoy.transport_socket_match"
)

// Options tune what Build generates.
type Options struct {
	// ExtProcAddress is gateway-extproc's host:port as Envoy dials it
	// (DefaultExtProcAddress). Port 0 is refused; an empty or wildcard
	// host means Envoy's own host (see ExtProcEndpoint).
	ExtProcAddress string
	// ExtProcMessageTimeout bounds each ext_proc message (default 10s).
	ExtProcMessageTimeout time.Duration
	// ConnectTimeout is the upstream connect timeout (default 5s).
	ConnectTimeout time.Duration
	// TrustDownstreamIdentity keeps the identity headers
	// (global.services.authz.identity) and x-vsr-debug that reach Envoy's
	// listeners. Set it only when every client reaches Envoy through a
	// proxy that authenticates them, sets those headers and removes its
	// clients' copies. By default (false) the generated listeners remove
	// them before any HTTP filter runs (StrippedHeaders); an
	// authentication filter in Envoy's own chain runs after that removal
	// and may set them.
	TrustDownstreamIdentity bool
}

func (o Options) withDefaults() Options {
	if o.ExtProcAddress == "" {
		o.ExtProcAddress = DefaultExtProcAddress
	}
	if o.ExtProcMessageTimeout <= 0 {
		o.ExtProcMessageTimeout = 10 * time.Second
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	return o
}

// ClusterName is the cluster (and endpoint resource) of a model.
func ClusterName(model string) string { return "model/" + model }

// RouteName is the route configuration of a listener.
func RouteName(listener string) string { return "route/" + listener }

// GRPCModelListenerName is the API listener a gRPC client dials (as
// "xds:///model/<name>") to reach one model directly.
func GRPCModelListenerName(model string) string { return "model/" + model }

// backend is one resolved backend_ref.
type backend struct {
	name   string
	host   string
	port   uint32
	tls    bool
	weight uint32
	ip     bool
}

func parseBackend(b config.BackendRef) (backend, error) {
	out := backend{name: b.Name, weight: uint32(max(b.Weight, 1))}
	switch {
	case b.Endpoint != "":
		host, port, err := net.SplitHostPort(b.Endpoint)
		if err != nil {
			return out, fmt.Errorf("backend %q: endpoint %q: %w", b.Name, b.Endpoint, err)
		}
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil || p == 0 {
			return out, fmt.Errorf("backend %q: endpoint %q: invalid port", b.Name, b.Endpoint)
		}
		out.host, out.port, out.tls = host, uint32(p), b.Protocol == "https"
	case b.BaseURL != "":
		u, err := url.Parse(b.BaseURL)
		if err != nil || u.Hostname() == "" {
			return out, fmt.Errorf("backend %q: base_url %q is not an absolute URL", b.Name, b.BaseURL)
		}
		out.host, out.tls = u.Hostname(), u.Scheme == "https"
		out.port = 80
		if out.tls {
			out.port = 443
		}
		if ps := u.Port(); ps != "" {
			p, err := strconv.ParseUint(ps, 10, 16)
			if err != nil || p == 0 {
				return out, fmt.Errorf("backend %q: base_url %q: invalid port", b.Name, b.BaseURL)
			}
			out.port = uint32(p)
		}
	default:
		return out, fmt.Errorf("backend %q: no endpoint or base_url", b.Name)
	}
	_, err := netip.ParseAddr(out.host)
	out.ip = err == nil
	return out, nil
}

// model is a provider model with its resolved backends.
type model struct {
	cfg      *config.Model
	backends []backend
}

func (m model) allIP() bool {
	for _, b := range m.backends {
		if !b.ip {
			return false
		}
	}
	return true
}

func (m model) anyTLS() bool {
	for _, b := range m.backends {
		if b.tls {
			return true
		}
	}
	return false
}

// tlsHosts returns the distinct SNI names of the TLS backends, sorted.
func (m model) tlsHosts() []string {
	seen := map[string]bool{}
	var out []string
	for _, b := range m.backends {
		if b.tls && !seen[b.host] {
			seen[b.host] = true
			out = append(out, b.host)
		}
	}
	sort.Strings(out)
	return out
}

// uniformTLS reports whether every backend is TLS with one SNI name.
func (m model) uniformTLS() (string, bool) {
	hosts := m.tlsHosts()
	if len(hosts) != 1 {
		return "", false
	}
	for _, b := range m.backends {
		if !b.tls {
			return "", false
		}
	}
	return hosts[0], true
}

func resolveModels(cfg *config.Config) ([]model, error) {
	var errs []error
	out := make([]model, 0, len(cfg.Providers.Models))
	for i := range cfg.Providers.Models {
		m := &cfg.Providers.Models[i]
		mm := model{cfg: m}
		for _, ref := range m.BackendRefs {
			b, err := parseBackend(ref)
			if err != nil {
				errs = append(errs, fmt.Errorf("model %q: %w", m.Name, err))
				continue
			}
			mm.backends = append(mm.backends, b)
		}
		if len(mm.backends) == 0 {
			errs = append(errs, fmt.Errorf("model %q: no usable backend_refs", m.Name))
			continue
		}
		out = append(out, mm)
	}
	return out, errors.Join(errs...)
}

func mustAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		// Only reachable with an unregistered message type, a programming error.
		panic(fmt.Sprintf("xds: marshal %T: %v", m, err))
	}
	return a
}

func adsConfigSource() *corev3.ConfigSource {
	return &corev3.ConfigSource{
		ResourceApiVersion:    corev3.ApiVersion_V3,
		ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
	}
}

func socketAddress(host string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Protocol:      corev3.SocketAddress_TCP,
		Address:       host,
		PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
	}}}
}

func upstreamTLS(sni string) *corev3.TransportSocket {
	return &corev3.TransportSocket{
		Name:       wellknown.TransportSocketTLS,
		ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: mustAny(&tlsv3.UpstreamTlsContext{Sni: sni})},
	}
}

func lbPolicy(name string, forGRPC bool) clusterv3.Cluster_LbPolicy {
	switch name {
	case "least_request":
		return clusterv3.Cluster_LEAST_REQUEST
	case "ring_hash":
		return clusterv3.Cluster_RING_HASH
	case "random":
		if !forGRPC {
			return clusterv3.Cluster_RANDOM
		}
	case "maglev":
		if !forGRPC {
			return clusterv3.Cluster_MAGLEV
		}
	}
	return clusterv3.Cluster_ROUND_ROBIN
}

// lbEndpoints lists m's backends; pin labels each with its backend
// subset (pinsBackends).
func lbEndpoints(m model, pin bool) []*endpointv3.LbEndpoint {
	out := make([]*endpointv3.LbEndpoint, 0, len(m.backends))
	_, uniform := m.uniformTLS()
	for _, b := range m.backends {
		ep := &endpointv3.LbEndpoint{
			HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
				Address:  socketAddress(b.host, b.port),
				Hostname: b.host,
			}},
			LoadBalancingWeight: wrapperspb.UInt32(b.weight),
		}
		if b.tls && !uniform {
			ep.Metadata = &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{
				transportSocketMatchKey: {Fields: map[string]*structpb.Value{"sni": structpb.NewStringValue(b.host)}},
			}}
		}
		if pin {
			if ep.Metadata == nil {
				ep.Metadata = &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{}}
			}
			ep.Metadata.FilterMetadata[lbMetadataNamespace] = backendMetadata(b.name)
		}
		out = append(out, ep)
	}
	return out
}

func loadAssignment(name string, m model, pin bool) *endpointv3.ClusterLoadAssignment {
	return &endpointv3.ClusterLoadAssignment{
		ClusterName: name,
		Endpoints: []*endpointv3.LocalityLbEndpoints{{
			Locality: &corev3.Locality{},
			// gRPC ignores localities without a weight.
			LoadBalancingWeight: wrapperspb.UInt32(1),
			LbEndpoints:         lbEndpoints(m, pin),
		}},
	}
}

// modelCluster builds the cluster of a model. EDS clusters (IP backends)
// return their ClusterLoadAssignment too; DNS clusters carry it inline.
func modelCluster(m model, opts Options, forGRPC bool) (*clusterv3.Cluster, *endpointv3.ClusterLoadAssignment) {
	name := ClusterName(m.cfg.Name)
	rel := m.cfg.Reliability
	if rel == nil {
		rel = &config.Reliability{}
	}
	c := &clusterv3.Cluster{
		Name:           name,
		ConnectTimeout: durationpb.New(opts.ConnectTimeout),
		LbPolicy:       lbPolicy(rel.LBPolicy, forGRPC),
	}
	// gRPC clients send no credentials: only Envoy pins backends.
	pin := !forGRPC && m.pinsBackends()
	if pin {
		c.LbSubsetConfig = backendSubsets()
	}
	var cla *endpointv3.ClusterLoadAssignment
	if m.allIP() {
		c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS}
		c.EdsClusterConfig = &clusterv3.Cluster_EdsClusterConfig{EdsConfig: adsConfigSource(), ServiceName: name}
		cla = loadAssignment(name, m, pin)
	} else {
		c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STRICT_DNS}
		c.DnsLookupFamily = clusterv3.Cluster_V4_PREFERRED
		c.LoadAssignment = loadAssignment(name, m, pin)
	}
	if sni, ok := m.uniformTLS(); ok {
		c.TransportSocket = upstreamTLS(sni)
	} else if m.anyTLS() {
		for _, host := range m.tlsHosts() {
			c.TransportSocketMatches = append(c.TransportSocketMatches, &clusterv3.Cluster_TransportSocketMatch{
				Name:            "tls/" + host,
				Match:           &structpb.Struct{Fields: map[string]*structpb.Value{"sni": structpb.NewStringValue(host)}},
				TransportSocket: upstreamTLS(host),
			})
		}
	}
	if rel.Consecutive5xx > 0 || rel.BaseEjectionTime.IsSet() || rel.MaxEjectionPercent > 0 {
		od := &clusterv3.OutlierDetection{}
		if rel.Consecutive5xx > 0 {
			od.Consecutive_5Xx = wrapperspb.UInt32(uint32(rel.Consecutive5xx))
		}
		if rel.BaseEjectionTime.IsSet() {
			od.BaseEjectionTime = durationpb.New(rel.BaseEjectionTime.Std())
		}
		if rel.MaxEjectionPercent > 0 {
			od.MaxEjectionPercent = wrapperspb.UInt32(uint32(rel.MaxEjectionPercent))
		}
		c.OutlierDetection = od
	}
	if rel.HealthCheckPath != "" && !forGRPC {
		c.HealthChecks = []*corev3.HealthCheck{{
			Timeout:            durationpb.New(durationOr(rel.HealthCheckTimeout, 5*time.Second)),
			Interval:           durationpb.New(durationOr(rel.HealthCheckInterval, 10*time.Second)),
			UnhealthyThreshold: wrapperspb.UInt32(3),
			HealthyThreshold:   wrapperspb.UInt32(2),
			HealthChecker: &corev3.HealthCheck_HttpHealthCheck_{HttpHealthCheck: &corev3.HealthCheck_HttpHealthCheck{
				Path: rel.HealthCheckPath,
			}},
		}}
	}
	return c, cla
}

func durationOr(d config.Duration, def time.Duration) time.Duration {
	if d.IsSet() && d.Std() > 0 {
		return d.Std()
	}
	return def
}

// extProcCluster is the HTTP/2 cluster of gateway-extproc.
func extProcCluster(opts Options) (*clusterv3.Cluster, error) {
	host, port, err := ExtProcEndpoint(opts.ExtProcAddress)
	if err != nil {
		return nil, fmt.Errorf("ext_proc address %q: %w", opts.ExtProcAddress, err)
	}
	b := backend{name: ExtProcClusterName, host: host, port: port, weight: 1}
	_, ipErr := netip.ParseAddr(host)
	b.ip = ipErr == nil
	typ := clusterv3.Cluster_STATIC
	if !b.ip {
		typ = clusterv3.Cluster_STRICT_DNS
	}
	return &clusterv3.Cluster{
		Name:                 ExtProcClusterName,
		ConnectTimeout:       durationpb.New(opts.ConnectTimeout),
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: typ},
		LbPolicy:             clusterv3.Cluster_ROUND_ROBIN,
		LoadAssignment:       loadAssignment(ExtProcClusterName, model{backends: []backend{b}}, false),
		TypedExtensionProtocolOptions: map[string]*anypb.Any{
			"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": mustAny(&upstreamhttpv3.HttpProtocolOptions{
				UpstreamProtocolOptions: &upstreamhttpv3.HttpProtocolOptions_ExplicitHttpConfig_{
					ExplicitHttpConfig: &upstreamhttpv3.HttpProtocolOptions_ExplicitHttpConfig{
						ProtocolConfig: &upstreamhttpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{
							Http2ProtocolOptions: &corev3.Http2ProtocolOptions{},
						},
					},
				},
			}),
		},
	}, nil
}

// routeConfig routes by the selected-model header, defaulting to the
// default model. forGRPC leaves out what gRPC clients do not use (HTTP
// retry conditions, host rewriting, timeouts).
func routeConfig(name string, cfg *config.Config, models []model, timeout time.Duration, forGRPC bool) *routev3.RouteConfiguration {
	vh := &routev3.VirtualHost{Name: "semrouter", Domains: []string{"*"}}
	byName := map[string]model{}
	for _, m := range models {
		byName[m.cfg.Name] = m
		if !forGRPC && m.pinsBackends() {
			vh.Routes = append(vh.Routes, pinnedRoutes(m, timeout)...)
		}
		vh.Routes = append(vh.Routes, &routev3.Route{
			Name: "model/" + m.cfg.Name,
			Match: &routev3.RouteMatch{
				PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"},
				Headers:       []*routev3.HeaderMatcher{exactHeader(SelectedModelHeader, m.cfg.Name)},
			},
			Action: &routev3.Route_Route{Route: routeAction(m, timeout, forGRPC)},
		})
	}
	def, ok := byName[defaultModel(cfg)]
	if !ok && len(models) > 0 {
		def, ok = models[0], true
	}
	if ok {
		vh.Routes = append(vh.Routes, &routev3.Route{
			Name:   "default",
			Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
			Action: &routev3.Route_Route{Route: routeAction(def, timeout, forGRPC)},
		})
	}
	return &routev3.RouteConfiguration{Name: name, VirtualHosts: []*routev3.VirtualHost{vh}}
}

func defaultModel(cfg *config.Config) string { return cfg.Providers.Defaults.DefaultModel }

func routeAction(m model, timeout time.Duration, forGRPC bool) *routev3.RouteAction {
	a := &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: ClusterName(m.cfg.Name)}}
	if forGRPC {
		return a
	}
	if timeout > 0 {
		a.Timeout = durationpb.New(timeout)
	}
	if !m.allIP() {
		a.HostRewriteSpecifier = &routev3.RouteAction_AutoHostRewrite{AutoHostRewrite: wrapperspb.Bool(true)}
	}
	if rel := m.cfg.Reliability; rel != nil && rel.RetryCount > 0 {
		on := rel.RetryOn
		if on == "" {
			on = "5xx,reset,connect-failure"
		}
		a.RetryPolicy = &routev3.RetryPolicy{RetryOn: on, NumRetries: wrapperspb.UInt32(uint32(rel.RetryCount))}
	}
	return a
}
