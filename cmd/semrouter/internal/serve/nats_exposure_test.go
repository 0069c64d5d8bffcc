package serve_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/semrouter/semrouter/cmd/semrouter/internal/assets"
	"github.com/semrouter/semrouter/cmd/semrouter/internal/serve"
)

// TestServeRefusesExposedNATS: the embedded NATS server has no
// authentication, so serve refuses a non-loopback --nats-addr before it
// starts anything, unless NATSInsecure accepts it. Run from a folder
// that is not a checkout: an accepted address then stops at the
// prerequisites, also before NATS.
func TestServeRefusesExposedNATS(t *testing.T) {
	cfgPath := filepath.Join(repoRoot(t), "deploy", "compose", "config.yaml")
	cases := []struct {
		name     string
		addr     string
		insecure bool
		want     error
	}{
		{name: "every interface", addr: "0.0.0.0:0", want: serve.ErrInsecureNATS},
		{name: "every IPv6 interface", addr: "[::]:0", want: serve.ErrInsecureNATS},
		{name: "every interface, accepted", addr: "0.0.0.0:0", insecure: true, want: assets.ErrPrerequisites},
		{name: "loopback", addr: "127.0.0.1:0", want: assets.ErrPrerequisites},
		{name: "empty host is loopback", addr: ":0", want: assets.ErrPrerequisites},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			dataDir := filepath.Join(dir, "data")
			err := serve.Run(context.Background(), serve.Options{
				ConfigPath: cfgPath, DataDir: dataDir, NATSAddr: c.addr, NATSInsecure: c.insecure,
				ManagementAddr: "off", XDSAddr: "off", ExtProcAddr: "off", MetricsAddr: "off",
				Getenv: func(string) string { return "" },
			})
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if _, statErr := os.Stat(filepath.Join(dataDir, "nats")); !errors.Is(statErr, os.ErrNotExist) {
				t.Errorf("NATS storage exists (%v): the embedded server was started", statErr)
			}
		})
	}
}
