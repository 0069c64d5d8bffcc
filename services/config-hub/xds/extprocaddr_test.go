package xds_test

import (
	"errors"
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/semrouter/semrouter/services/config-hub/xds"
)

func TestExtProcEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name     string
		addr     string
		wantHost string
		wantPort uint32
		wantErr  string
	}{
		{name: "ip and port", addr: "10.0.0.7:50051", wantHost: "10.0.0.7", wantPort: 50051},
		{name: "host name", addr: "gateway-extproc:50051", wantHost: "gateway-extproc", wantPort: 50051},
		{name: "ipv6", addr: "[fd00::7]:50051", wantHost: "fd00::7", wantPort: 50051},
		{name: "empty host: Envoy's own host", addr: ":50051", wantHost: "127.0.0.1", wantPort: 50051},
		{name: "ipv4 wildcard: loopback", addr: "0.0.0.0:50051", wantHost: "127.0.0.1", wantPort: 50051},
		{name: "ipv6 wildcard: ipv6 loopback", addr: "[::]:50051", wantHost: "::1", wantPort: 50051},
		{name: "port 0", addr: "127.0.0.1:0", wantErr: "port 0 is not a port Envoy can dial"},
		{name: "wildcard and port 0", addr: ":0", wantErr: "port 0 is not a port Envoy can dial"},
		{name: "no port", addr: "gateway-extproc", wantErr: "want host:port"},
		{name: "named port", addr: "gateway-extproc:grpc", wantErr: `port "grpc" is not a number in 1-65535`},
		{name: "port out of range", addr: "127.0.0.1:65536", wantErr: `port "65536" is not a number in 1-65535`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host, port, err := xds.ExtProcEndpoint(tc.addr)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ExtProcEndpoint(%q) = %q, %d, %v; want an error containing %q", tc.addr, host, port, err, tc.wantErr)
				}
				return
			}
			if err != nil || host != tc.wantHost || port != tc.wantPort {
				t.Fatalf("ExtProcEndpoint(%q) = %q, %d, %v; want %q, %d", tc.addr, host, port, err, tc.wantHost, tc.wantPort)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := (xds.Options{}).Validate(); err != nil {
		t.Fatalf("default options: %v", err)
	}
	err := xds.Options{ExtProcAddress: "127.0.0.1:0"}.Validate()
	if !errors.Is(err, xds.ErrExtProcPortZero) || !strings.Contains(err.Error(), `"127.0.0.1:0"`) {
		t.Fatalf("port 0: %v, want ErrExtProcPortZero naming the address", err)
	}
}

// TestBuildExtProcClusterEndpoint: the ext_proc cluster dials the resolved
// endpoint (a wildcard host becomes loopback, a static cluster), and a
// port 0 address rejects the build.
func TestBuildExtProcClusterEndpoint(t *testing.T) {
	cfg := loadConfig(t, "full.yaml")
	for _, tc := range []struct {
		addr     string
		wantHost string
		wantPort uint32
	}{
		{"0.0.0.0:41234", "127.0.0.1", 41234},
		{"127.0.0.1:50051", "127.0.0.1", 50051},
		{"[::]:41234", "::1", 41234},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			set, err := xds.EnvoyResources(cfg, xds.Options{ExtProcAddress: tc.addr})
			if err != nil {
				t.Fatal(err)
			}
			c := byName[*clusterv3.Cluster](t, set[resourcev3.ClusterType], xds.ExtProcClusterName)
			sa := c.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
			if sa.GetAddress() != tc.wantHost || sa.GetPortValue() != tc.wantPort || c.GetType() != clusterv3.Cluster_STATIC {
				t.Fatalf("ext_proc endpoint %s:%d (%v), want %s:%d (STATIC)", sa.GetAddress(), sa.GetPortValue(), c.GetType(), tc.wantHost, tc.wantPort)
			}
		})
	}
	if _, err := xds.Build(cfg, "1", xds.Options{ExtProcAddress: "127.0.0.1:0"}); !errors.Is(err, xds.ErrExtProcPortZero) {
		t.Fatalf("Build with port 0: %v, want ErrExtProcPortZero", err)
	}
}
