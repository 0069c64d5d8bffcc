package xds

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"gopkg.in/yaml.v3"

	"github.com/semrouter/semrouter/pkg/config"
)

// XDSClusterName is the static cluster of the bootstrap pointing at config-hub.
const XDSClusterName = "xds_cluster"

// BootstrapOptions describe the Envoy that the bootstrap is for.
type BootstrapOptions struct {
	// XDSAddress is config-hub's xDS host:port (default 127.0.0.1:18000).
	XDSAddress string
	// NodeID and NodeCluster identify the Envoy (defaults "envoy-0",
	// "semrouter").
	NodeID      string
	NodeCluster string
	// AdminAddress is Envoy's admin host:port (default 127.0.0.1:9901).
	AdminAddress string
	// Format is "yaml" (default) or "json".
	Format string
}

// DefaultXDSAddress is where config-hub serves xDS by default.
const DefaultXDSAddress = "127.0.0.1:18000"

// Bootstrap writes an Envoy bootstrap that takes listeners and clusters
// from config-hub over ADS. cfg may be nil; it is only used to check that
// the configuration can be turned into xDS resources.
func Bootstrap(cfg *config.Config, opts BootstrapOptions) ([]byte, error) {
	if opts.XDSAddress == "" {
		opts.XDSAddress = DefaultXDSAddress
	}
	if opts.NodeID == "" {
		opts.NodeID = "envoy-0"
	}
	if opts.NodeCluster == "" {
		opts.NodeCluster = "semrouter"
	}
	if opts.AdminAddress == "" {
		opts.AdminAddress = "127.0.0.1:9901"
	}
	if cfg != nil {
		if _, err := EnvoyResources(cfg, Options{}); err != nil {
			return nil, err
		}
	}
	b, err := BootstrapProto(opts)
	if err != nil {
		return nil, err
	}
	data, err := protojson.MarshalOptions{Multiline: true, Indent: "  ", UseProtoNames: true}.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode bootstrap: %w", err)
	}
	switch opts.Format {
	case "", "yaml":
		return jsonToYAML(data)
	case "json":
		return append(data, '\n'), nil
	default:
		return nil, fmt.Errorf("bootstrap format %q: want yaml or json", opts.Format)
	}
}

// BootstrapProto builds the bootstrap message (see Bootstrap).
func BootstrapProto(opts BootstrapOptions) (*bootstrapv3.Bootstrap, error) {
	xdsHost, xdsPort, err := splitHostPort(opts.XDSAddress)
	if err != nil {
		return nil, fmt.Errorf("xds address: %w", err)
	}
	adminHost, adminPort, err := splitHostPort(opts.AdminAddress)
	if err != nil {
		return nil, fmt.Errorf("admin address: %w", err)
	}
	typ := clusterv3.Cluster_STATIC
	if _, err := netip.ParseAddr(xdsHost); err != nil {
		typ = clusterv3.Cluster_STRICT_DNS
	}
	xdsCluster := &clusterv3.Cluster{
		Name:                 XDSClusterName,
		ConnectTimeout:       durationpb.New(5e9),
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: typ},
		LoadAssignment: loadAssignment(XDSClusterName, model{backends: []backend{{
			name: XDSClusterName, host: xdsHost, port: xdsPort, weight: 1,
		}}}, false),
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
	}
	b := &bootstrapv3.Bootstrap{
		Node: &corev3.Node{Id: opts.NodeID, Cluster: opts.NodeCluster},
		Admin: &bootstrapv3.Admin{
			Address: socketAddress(adminHost, adminPort),
		},
		DynamicResources: &bootstrapv3.Bootstrap_DynamicResources{
			AdsConfig: &corev3.ApiConfigSource{
				ApiType:             corev3.ApiConfigSource_GRPC,
				TransportApiVersion: corev3.ApiVersion_V3,
				GrpcServices: []*corev3.GrpcService{{
					TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: XDSClusterName}},
				}},
			},
			LdsConfig: adsConfigSource(),
			CdsConfig: adsConfigSource(),
		},
		StaticResources: &bootstrapv3.Bootstrap_StaticResources{
			Clusters: []*clusterv3.Cluster{xdsCluster},
		},
	}
	return b, nil
}

func splitHostPort(addr string) (string, uint32, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return "", 0, fmt.Errorf("%q: invalid port", addr)
	}
	return host, uint32(p), nil
}

// jsonToYAML re-encodes JSON as block-style YAML, keeping key order.
func jsonToYAML(data []byte) ([]byte, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return nil, fmt.Errorf("convert to yaml: %w", err)
	}
	blockStyle(&n)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, fmt.Errorf("convert to yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("convert to yaml: %w", err)
	}
	return buf.Bytes(), nil
}

func blockStyle(n *yaml.Node) {
	n.Style &^= yaml.FlowStyle
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		// Keep strings plain where YAML allows it.
		n.Style &^= yaml.DoubleQuotedStyle
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// Resources returns the Envoy xDS resources of cfg as protojson documents,
// keyed by short type name ("listeners", "routes", "clusters", "endpoints"),
// each list sorted by resource name. It is what `semrouter config xds`
// prints.
func Resources(cfg *config.Config, opts Options) (map[string][]json.RawMessage, error) {
	set, err := EnvoyResources(cfg, opts)
	if err != nil {
		return nil, err
	}
	short := map[string]string{
		resourcev3.ListenerType: "listeners",
		resourcev3.RouteType:    "routes",
		resourcev3.ClusterType:  "clusters",
		resourcev3.EndpointType: "endpoints",
	}
	out := map[string][]json.RawMessage{}
	for typ, rs := range set {
		sorted := append(rs[:0:0], rs...)
		sort.Slice(sorted, func(i, j int) bool { return resourceName(sorted[i]) < resourceName(sorted[j]) })
		for _, r := range sorted {
			data, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(r)
			if err != nil {
				return nil, fmt.Errorf("encode %s %q: %w", typ, resourceName(r), err)
			}
			// Re-indent for stable, readable output.
			var buf bytes.Buffer
			if err := json.Indent(&buf, data, "", "  "); err != nil {
				return nil, fmt.Errorf("encode %s: %w", typ, err)
			}
			out[short[typ]] = append(out[short[typ]], json.RawMessage(buf.Bytes()))
		}
	}
	return out, nil
}
