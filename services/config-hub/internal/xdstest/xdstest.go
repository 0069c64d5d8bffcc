// Package xdstest holds test helpers for xDS: real gRPC backends (the
// standard health service) and real grpc-go xDS clients.
package xdstest

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	grpcxds "google.golang.org/grpc/xds"
)

// IdentityService is the health "service" whose status tells test backends
// apart: each backend reports the status it was started with.
const IdentityService = "semrouter.test.identity"

// StartBackend runs a real gRPC server (the standard health service) on a
// loopback port; it answers IdentityService with status. It returns the
// server's host:port.
func StartBackend(t testing.TB, status healthpb.HealthCheckResponse_ServingStatus) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	h := health.NewServer()
	h.SetServingStatus(IdentityService, status)
	healthpb.RegisterHealthServer(g, h)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	return lis.Addr().String()
}

// Client dials target ("xds:///name") through grpc-go's xDS resolver,
// bootstrapped to the xDS server at xdsAddr.
func Client(t testing.TB, xdsAddr, target string) *grpc.ClientConn {
	t.Helper()
	bootstrap := fmt.Sprintf(`{
  "xds_servers": [{"server_uri": %q, "channel_creds": [{"type": "insecure"}], "server_features": ["xds_v3"]}],
  "node": {"id": "grpc-test-client", "cluster": "test"}
}`, xdsAddr)
	resolver, err := grpcxds.NewXDSResolverWithConfigForTesting([]byte(bootstrap))
	if err != nil {
		t.Fatal(err)
	}
	cc, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithResolvers(resolver))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// Identity asks the backend the client reaches for its identity status;
// model, when set, is sent as the x-selected-model metadata.
func Identity(ctx context.Context, cc *grpc.ClientConn, model string) (healthpb.HealthCheckResponse_ServingStatus, error) {
	if model != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "x-selected-model", model)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: IdentityService}, grpc.WaitForReady(true))
	if err != nil {
		return 0, err
	}
	return resp.GetStatus(), nil
}

// WaitForIdentity calls until the answer is want (a config change reaches
// the client asynchronously) or 20 seconds pass.
func WaitForIdentity(t testing.TB, cc *grpc.ClientConn, model string, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var last healthpb.HealthCheckResponse_ServingStatus
	var lastErr error
	for ctx.Err() == nil {
		last, lastErr = Identity(ctx, cc, model)
		if lastErr == nil && last == want {
			return
		}
	}
	t.Fatalf("model %q: never reached the backend answering %v (last %v, %v)", model, want, last, lastErr)
}
