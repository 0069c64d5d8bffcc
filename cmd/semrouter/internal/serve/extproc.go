package serve

import (
	"fmt"
	"net"
	"strconv"
)

// listenExtProc binds the gateway's ext_proc listener at addr before any
// service starts, so config-hub can give Envoy the port actually bound:
// with port 0 the kernel picks it, and the literal address would name a
// port nobody can dial. It returns the listener and the address for
// Envoy's ext_proc cluster: addr's host (an empty or wildcard host is
// turned into loopback by config-hub, Envoy being expected beside this
// process; name a reachable host when it is not) with the bound port.
func listenExtProc(addr string) (net.Listener, string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, "", fmt.Errorf("--extproc-addr %q: want host:port: %w", addr, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("listen for ext_proc on %s: %w", addr, err)
	}
	tcp, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		_ = ln.Close()
		return nil, "", fmt.Errorf("listen for ext_proc on %s: bound %s, not a TCP address", addr, ln.Addr())
	}
	return ln, net.JoinHostPort(host, strconv.Itoa(tcp.Port)), nil
}
