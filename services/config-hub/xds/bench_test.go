package xds_test

import (
	"os"
	"path/filepath"
	"testing"

	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/config-hub/xds"
)

// repoRoot walks up to the directory holding go.work.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.work not found above the working directory")
		}
		dir = parent
	}
}

// TestQuickstartConfigBuilds turns the repository's quickstart config into
// snapshots and validates every resource.
func TestQuickstartConfigBuilds(t *testing.T) {
	cfg, _, err := config.Load(filepath.Join(repoRoot(t), "config", "quickstart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	envoy, err := xds.EnvoyResources(cfg, xds.Options{})
	if err != nil {
		t.Fatal(err)
	}
	validateAll(t, envoy)
	grpc, err := xds.GRPCResources(cfg, xds.Options{})
	if err != nil {
		t.Fatal(err)
	}
	validateAll(t, grpc)
	snaps, err := xds.Build(cfg, "1", xds.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*cachev3.Snapshot{snaps.Envoy, snaps.GRPC} {
		if err := s.Consistent(); err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkBuild(b *testing.B) {
	cfg, _, err := config.Load(filepath.Join("testdata", "full.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := xds.Build(cfg, "1", xds.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
