package xds

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// ExtProcEndpoint resolves addr, gateway-extproc's host:port as Envoy's
// ext_proc cluster dials it, into the cluster's endpoint.
//
// The port must be a real one (1-65535): port 0 only means "any free port"
// to the process that listens, and Envoy cannot dial it. A caller that
// binds port 0 itself (semrouter serve) passes the bound port instead.
//
// An empty or unspecified host (":50051", "0.0.0.0:50051",
// "[::]:50051"), the form of a listen address, means gateway-extproc on
// Envoy's own host: the endpoint is the loopback address of the same
// family (127.0.0.1, or ::1 for an IPv6 wildcard). When Envoy runs on
// another host, name gateway-extproc's reachable host instead.
func ExtProcEndpoint(addr string) (host string, port uint32, err error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("want host:port: %w", err)
	}
	n, err := strconv.ParseUint(p, 10, 16)
	switch {
	case err != nil:
		return "", 0, fmt.Errorf("port %q is not a number in 1-65535", p)
	case n == 0:
		return "", 0, ErrExtProcPortZero
	}
	return reachableHost(h), uint32(n), nil
}

// ErrExtProcPortZero is returned by ExtProcEndpoint for port 0.
var ErrExtProcPortZero = errors.New("port 0 is not a port Envoy can dial: give gateway-extproc's real port")

// reachableHost maps a wildcard (listen-all) host to the loopback address
// of its family and leaves any other host as it is.
func reachableHost(h string) string {
	if h == "" {
		return "127.0.0.1"
	}
	ip, err := netip.ParseAddr(h)
	if err != nil || !ip.IsUnspecified() {
		return h
	}
	if ip.Is4() {
		return "127.0.0.1"
	}
	return "::1"
}

// Validate reports whether Build can use o's addresses, so a process can
// refuse them at start instead of rejecting every revision later.
func (o Options) Validate() error {
	addr := o.withDefaults().ExtProcAddress
	if _, _, err := ExtProcEndpoint(addr); err != nil {
		return fmt.Errorf("ext_proc address %q: %w", addr, err)
	}
	return nil
}
