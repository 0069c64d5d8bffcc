package service

import "testing"

func TestOverrideFirstListenerMapsOnlyTheFirst(t *testing.T) {
	if overrideFirstListener("") != nil {
		t.Fatal("no override must keep the configured addresses")
	}
	const override = "0.0.0.0:9000"
	mapAddr := overrideFirstListener(override)
	tests := []struct {
		name, listener, configured, want string
	}{
		{"first listener takes the override", "api", "127.0.0.1:8801", override},
		{"another listener keeps its address", "admin", "127.0.0.1:8802", "127.0.0.1:8802"},
		{"the first listener keeps the override when its address changes", "api", "127.0.0.1:8899", override},
	}
	for _, tc := range tests { // in order: the first call decides
		if got := mapAddr(tc.listener, tc.configured); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}
