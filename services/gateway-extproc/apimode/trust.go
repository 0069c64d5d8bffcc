package apimode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// DefaultTrustedProxies is the default of --trusted-proxies: loopback
// only, so local tools (make run, semrouter chat) keep their identity and
// debug headers.
const DefaultTrustedProxies = "127.0.0.0/8,::1/128"

// HeaderDebug asks for the debug response headers (matched signal names,
// cache similarity); honoured from trusted peers only.
const HeaderDebug = "x-vsr-debug"

// Kinds of header removed from an untrusted peer's request (the label of
// HeaderObserver.UntrustedHeaderRemoved).
const (
	RemovedUserID     = "user_id"
	RemovedUserGroups = "user_groups"
	RemovedDebug      = "debug"
)

// HeaderObserver is told about each header removed from a request whose
// TCP peer is not a trusted proxy (kind is one of the Removed* values).
type HeaderObserver interface {
	UntrustedHeaderRemoved(kind string)
}

// TrustedProxies is the set of TCP peers whose identity headers
// (global.services.authz.identity) and x-vsr-debug the API honours. Only
// the connection's peer address counts: X-Forwarded-For and similar
// headers are never read, so a trusted proxy in front must set (and strip
// client copies of) the identity headers itself. The zero value and nil
// trust nobody. It implements flag.Value (comma-separated IP addresses
// and CIDR prefixes; the last use of the flag wins).
type TrustedProxies struct {
	prefixes []netip.Prefix
}

// LoopbackProxies trusts 127.0.0.0/8 and ::1 (DefaultTrustedProxies).
func LoopbackProxies() *TrustedProxies {
	return &TrustedProxies{prefixes: []netip.Prefix{
		netip.PrefixFrom(netip.AddrFrom4([4]byte{127, 0, 0, 0}), 8),
		netip.PrefixFrom(netip.IPv6Loopback(), 128),
	}}
}

// ParseTrustedProxies parses a comma-separated list of IP addresses and
// CIDR prefixes (an address is a single-host prefix; host bits of a
// prefix are cleared). An empty list trusts nobody; 0.0.0.0/0 trusts every
// IPv4 peer and ::/0 every IPv6 peer, which lets any client claim any
// identity. Every invalid entry is named in the error.
func ParseTrustedProxies(list string) (*TrustedProxies, error) {
	t := &TrustedProxies{}
	var errs []error
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, err := parsePrefix(item)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		t.prefixes = append(t.prefixes, p)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}

// parsePrefix reads "10.0.0.0/8", "10.0.0.5" or "fd00::/8"; IPv4-mapped
// IPv6 forms are stored as IPv4 (RemoteAddr shows IPv4 peers that way).
func parsePrefix(item string) (netip.Prefix, error) {
	if !strings.Contains(item, "/") {
		a, err := netip.ParseAddr(item)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("trusted proxy %q: not an IP address or CIDR prefix", item)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(item)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("trusted proxy %q: not an IP address or CIDR prefix", item)
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("trusted proxy %q: IPv4-mapped prefix shorter than /96", item)
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// Set replaces the set with the parsed list (flag.Value).
func (t *TrustedProxies) Set(list string) error {
	p, err := ParseTrustedProxies(list)
	if err != nil {
		return err
	}
	t.prefixes = p.prefixes
	return nil
}

// String lists the prefixes, comma-separated (flag.Value).
func (t *TrustedProxies) String() string {
	if t == nil {
		return ""
	}
	s := make([]string, len(t.prefixes))
	for i, p := range t.prefixes {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// TrustsEveryone reports whether a prefix covers a whole address family
// (0.0.0.0/0 or ::/0): every client of that family may then claim any
// identity.
func (t *TrustedProxies) TrustsEveryone() bool {
	if t == nil {
		return false
	}
	for _, p := range t.prefixes {
		if p.Bits() == 0 {
			return true
		}
	}
	return false
}

// Contains reports whether remoteAddr (an http.Request's RemoteAddr,
// "host:port") is a trusted peer. Anything unparsable is untrusted.
func (t *TrustedProxies) Contains(remoteAddr string) bool {
	if t == nil || len(t.prefixes) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	if a.Zone() != "" {
		a = a.WithZone("")
	}
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// stripUntrusted removes the identity headers of table and x-vsr-debug
// from r when its peer is not trusted, so neither routing, the cache key
// nor the upstream request sees them. Values are never logged.
func (s *Server) stripUntrusted(ctx context.Context, r *http.Request, table *routes.Table) {
	if s.trusted.Contains(r.RemoteAddr) {
		return
	}
	var removed [3]string
	n := 0
	for name := range r.Header {
		kind := ""
		switch {
		case strings.EqualFold(name, table.Identity.UserIDHeader):
			kind = RemovedUserID
		case strings.EqualFold(name, table.Identity.UserGroupsHeader):
			kind = RemovedUserGroups
		case strings.EqualFold(name, HeaderDebug):
			kind = RemovedDebug
		default:
			continue
		}
		delete(r.Header, name)
		if s.hdrObs != nil {
			s.hdrObs.UntrustedHeaderRemoved(kind)
		}
		if n < len(removed) {
			removed[n] = kind
			n++
		}
	}
	if n > 0 && s.log.Enabled(ctx, slog.LevelDebug) {
		s.log.DebugContext(ctx, "headers from an untrusted peer removed",
			slog.String("peer", r.RemoteAddr), slog.String("headers", strings.Join(removed[:n], ",")))
	}
}
