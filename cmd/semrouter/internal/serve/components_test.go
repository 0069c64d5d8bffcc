package serve

import (
	"net"
	"testing"
)

// TestAPIListeningAnnouncesOnce: a later revision that binds a listener
// again (a moved address) or adds one must not announce readiness twice
// (closing apiReady again would panic and stop the whole process).
func TestAPIListeningAnnouncesOnce(t *testing.T) {
	e := &environment{listeners: 2, apiBound: map[string]string{}, apiReady: make(chan struct{})}
	a := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8801}
	e.apiListening("api", a)
	select {
	case <-e.apiReady:
		t.Fatal("ready after one of two listeners")
	default:
	}
	e.apiListening("admin", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8802})
	select {
	case <-e.apiReady:
	default:
		t.Fatal("not ready after both listeners bound")
	}
	moved := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9901}
	e.apiListening("api", moved)   // a revision moved it
	e.apiListening("extra", moved) // a revision added one
	if got := e.apiAddrs()["api"]; got != moved.String() {
		t.Fatalf("api bound at %q, want the moved address %s", got, moved)
	}
}
