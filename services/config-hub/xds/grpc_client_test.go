package xds_test

import (
	"context"
	"fmt"
	"net"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/config-hub/internal/xdstest"
	"github.com/semrouter/semrouter/services/config-hub/xds"
)

// StartXDS serves srv on a loopback port and returns its address.
func StartXDS(t *testing.T, ctx context.Context, srv *xds.Server) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	t.Cleanup(func() { <-done })
	return lis.Addr().String()
}

func routerConfig(t *testing.T, small, big string) *config.Config {
	t.Helper()
	doc := fmt.Sprintf(`version: v0.3
listeners:
  - name: api
    address: 127.0.0.1
    port: 8801
providers:
  defaults:
    default_model: small
  models:
    - name: small
      backend_refs:
        - name: s
          endpoint: %s
    - name: big
      backend_refs:
        - name: b
          endpoint: %s
routing:
  modelCards:
    - name: small
    - name: big
`, small, big)
	cfg, _, err := config.Parse([]byte(doc), "test")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestGRPCXDSClientFollowsRevisions(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := xdstest.StartBackend(t, healthpb.HealthCheckResponse_SERVING)
	b := xdstest.StartBackend(t, healthpb.HealthCheckResponse_NOT_SERVING)

	srv := xds.NewServer(ctx, xds.Options{}, nil)
	if err := srv.Update(ctx, routerConfig(t, a, b), 1); err != nil {
		t.Fatal(err)
	}
	addr := StartXDS(t, ctx, srv)

	viaListener := xdstest.Client(t, addr, "xds:///api")
	viaModel := xdstest.Client(t, addr, "xds:///model/big")

	// Revision 1: default route → small → a; header → big → b.
	got, err := xdstest.Identity(ctx, viaListener, "")
	if err != nil || got != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("default route: %v %v, want backend a", got, err)
	}
	if got, err := xdstest.Identity(ctx, viaListener, "big"); err != nil || got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("x-selected-model big: %v %v, want backend b", got, err)
	}
	if got, err := xdstest.Identity(ctx, viaModel, ""); err != nil || got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("model listener: %v %v, want backend b", got, err)
	}

	// Revision 2 swaps the backends; the same clients move without restart.
	if err := srv.Update(ctx, routerConfig(t, b, a), 2); err != nil {
		t.Fatal(err)
	}
	xdstest.WaitForIdentity(t, viaListener, "", healthpb.HealthCheckResponse_NOT_SERVING)
	xdstest.WaitForIdentity(t, viaListener, "big", healthpb.HealthCheckResponse_SERVING)
	xdstest.WaitForIdentity(t, viaModel, "", healthpb.HealthCheckResponse_SERVING)
	if srv.Version() != 2 {
		t.Fatalf("server version %d", srv.Version())
	}
}
