package service

import (
	"net"
	"testing"
)

func TestOverrideFirstListenerBindsOnlyTheFirst(t *testing.T) {
	if overrideFirstListener("") != nil {
		t.Fatal("no override must keep the configured addresses")
	}
	// Reserve a free port for the override, then release it for the bind.
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	want := probe.Addr().String()
	probe.Close()
	listen := overrideFirstListener(want)
	first, err := listen("api", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if first.Addr().String() != want {
		t.Fatalf("first listener bound %s, want the override %s", first.Addr(), want)
	}
	second, err := listen("admin", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if second.Addr().String() == want {
		t.Fatal("the second listener must keep its configured address")
	}
}
