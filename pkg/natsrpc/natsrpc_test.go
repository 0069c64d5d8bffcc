package natsrpc_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	configv1 "github.com/semrouter/semrouter/gen/semrouter/config/v1"
	"github.com/semrouter/semrouter/gen/semrouter/config/v1/configv1connect"
	embeddingv1 "github.com/semrouter/semrouter/gen/semrouter/embedding/v1"
	"github.com/semrouter/semrouter/gen/semrouter/embedding/v1/embeddingv1connect"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/pkg/subjects"
)

func serveConfig(t *testing.T, nc *nats.Conn, svc *configService, opts ...natsrpc.ServerOption) *natsrpc.Server {
	t.Helper()
	path, h := configv1connect.NewConfigServiceHandler(svc)
	srv, err := natsrpc.Serve(nc, path, h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func serveEmbedding(t *testing.T, nc *nats.Conn, svc *embeddingService, opts ...natsrpc.ServerOption) *natsrpc.Server {
	t.Helper()
	path, h := embeddingv1connect.NewEmbeddingServiceHandler(svc)
	srv, err := natsrpc.Serve(nc, path, h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func TestServeSubscribesEveryProcedure(t *testing.T) {
	nc := natstest.Connect(t, natstest.RunServer(t))
	srv := serveConfig(t, nc, newConfigService())
	want := map[string]bool{}
	for _, p := range []string{
		configv1connect.ConfigServiceGetConfigProcedure, configv1connect.ConfigServicePutConfigProcedure,
		configv1connect.ConfigServiceValidateConfigProcedure, configv1connect.ConfigServiceListVersionsProcedure,
		configv1connect.ConfigServiceRollbackProcedure,
	} {
		want[subjects.RPC(p)] = true
	}
	got := srv.Subjects()
	if len(got) != len(want) {
		t.Fatalf("subjects = %v, want %d", got, len(want))
	}
	for _, s := range got {
		if !want[s] {
			t.Errorf("unexpected subject %q", s)
		}
	}
	if srv.QueueGroup() != subjects.QueueGroup(configv1connect.ConfigServiceName) {
		t.Errorf("queue group = %q", srv.QueueGroup())
	}
}

func TestServeRejectsBadSetup(t *testing.T) {
	nc := natstest.Connect(t, natstest.RunServer(t))
	_, h := configv1connect.NewConfigServiceHandler(newConfigService())
	tests := []struct {
		name string
		path string
		opts []natsrpc.ServerOption
		want string
	}{
		{"unknown service", "/no.such.v1.Service/", nil, `find service "no.such.v1.Service"`},
		{"message not service", "/semrouter.config.v1.ConfigStatus/", nil, "not a service"},
		{"bad concurrency", configv1connect.ConfigServiceName, []natsrpc.ServerOption{natsrpc.WithMaxConcurrency(0)}, "max concurrency 0"},
		{"suffix for unknown procedure", configv1connect.ConfigServiceName, []natsrpc.ServerOption{natsrpc.WithProcedureSuffixes("/x.Y/Z", "a")}, `suffixes for "/x.Y/Z"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := natsrpc.Serve(nc, tc.path, h, tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestUnaryRoundTrip(t *testing.T) {
	nc := natstest.Connect(t, natstest.RunServer(t))
	serveConfig(t, nc, newConfigService())
	tests := []struct {
		name string
		opts []connect.ClientOption
	}{
		{"connect proto", nil},
		{"connect json", []connect.ClientOption{connect.WithProtoJSON()}},
		{"connect get", []connect.ClientOption{connect.WithHTTPGet()}},
		{"grpc", []connect.ClientOption{connect.WithGRPC()}},
		{"grpc-web", []connect.ClientOption{connect.WithGRPCWeb()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cli := configv1connect.NewConfigServiceClient(natsrpc.NewClient(nc), natsrpc.BaseURL, tc.opts...)
			req := connect.NewRequest(&configv1.GetConfigRequest{})
			req.Header().Set("X-Tenant", "acme")
			res, err := cli.GetConfig(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Msg.GetRevision() != 7 || string(res.Msg.GetDocument()) != "version: v0.3\n" {
				t.Errorf("response = %v", res.Msg)
			}
			if got := res.Header().Get("X-Echo-Tenant"); got != "acme" {
				t.Errorf("echoed header = %q, want acme", got)
			}
			if got := res.Trailer().Get("X-Served-Revision"); got != "7" {
				t.Errorf("trailer = %q, want 7", got)
			}
		})
	}
}

func TestErrorCodesPropagate(t *testing.T) {
	nc := natstest.Connect(t, natstest.RunServer(t))
	serveConfig(t, nc, newConfigService())
	cli := configv1connect.NewConfigServiceClient(natsrpc.NewClient(nc), natsrpc.BaseURL)
	ctx := context.Background()

	_, err := cli.PutConfig(ctx, connect.NewRequest(&configv1.PutConfigRequest{Document: []byte("a: 1"), ExpectedRevision: 3}))
	var cerr *connect.Error
	if !errors.As(err, &cerr) || cerr.Code() != connect.CodeAborted {
		t.Fatalf("err = %v, want aborted", err)
	}
	if got := cerr.Meta().Get("X-Active-Revision"); got != "7" {
		t.Errorf("error metadata X-Active-Revision = %q, want 7", got)
	}
	var conflict *configv1.RevisionConflict
	for _, d := range cerr.Details() {
		if v, err := d.Value(); err == nil {
			if c, ok := v.(*configv1.RevisionConflict); ok {
				conflict = c
			}
		}
	}
	if conflict.GetCurrentRevision() != 7 || conflict.GetExpectedRevision() != 3 {
		t.Errorf("conflict detail = %v", conflict)
	}

	tests := []struct {
		name string
		call func() error
		code connect.Code
	}{
		{"not found", func() error {
			_, err := cli.GetConfig(ctx, connect.NewRequest(&configv1.GetConfigRequest{Revision: 99}))
			return err
		}, connect.CodeNotFound},
		{"invalid argument", func() error {
			_, err := cli.PutConfig(ctx, connect.NewRequest(&configv1.PutConfigRequest{}))
			return err
		}, connect.CodeInvalidArgument},
		{"panic is internal", func() error {
			_, err := cli.Rollback(ctx, connect.NewRequest(&configv1.RollbackRequest{Revision: 1}))
			return err
		}, connect.CodeInternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := connect.CodeOf(tc.call()); got != tc.code {
				t.Fatalf("code = %v, want %v", got, tc.code)
			}
		})
	}

	// The server keeps serving after a handler panic and accepts a good put.
	res, err := cli.PutConfig(ctx, connect.NewRequest(&configv1.PutConfigRequest{Document: []byte("a: 1"), ExpectedRevision: 7}))
	if err != nil || res.Msg.GetRevision() != 8 {
		t.Fatalf("put after panic = %v, %v", res, err)
	}
}

func TestDeadlineExceeded(t *testing.T) {
	nc := natstest.Connect(t, natstest.RunServer(t))
	svc := newConfigService()
	serveConfig(t, nc, svc)

	tests := []struct {
		name   string
		client *natsrpc.Client
		ctx    func() (context.Context, context.CancelFunc)
	}{
		{"context deadline", natsrpc.NewClient(nc), func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 200*time.Millisecond)
		}},
		{"default timeout", natsrpc.NewClient(nc, natsrpc.WithDefaultTimeout(200*time.Millisecond)), func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cli := configv1connect.NewConfigServiceClient(tc.client, natsrpc.BaseURL)
			ctx, cancel := tc.ctx()
			defer cancel()
			_, err := cli.ValidateConfig(ctx, connect.NewRequest(&configv1.ValidateConfigRequest{Document: []byte("x")}))
			if got := connect.CodeOf(err); got != connect.CodeDeadlineExceeded {
				t.Fatalf("code = %v (%v), want deadline_exceeded", got, err)
			}
			if !<-svc.sawDeadline {
				t.Error("handler context had no deadline")
			}
		})
	}
}

func TestNoResponders(t *testing.T) {
	nc := natstest.Connect(t, natstest.RunServer(t))
	cli := configv1connect.NewConfigServiceClient(natsrpc.NewClient(nc), natsrpc.BaseURL)
	_, err := cli.GetConfig(context.Background(), connect.NewRequest(&configv1.GetConfigRequest{}))
	if got := connect.CodeOf(err); got != connect.CodeUnavailable {
		t.Fatalf("code = %v (%v), want unavailable", got, err)
	}
	if !strings.Contains(err.Error(), "no responders") {
		t.Errorf("error %q does not say there are no responders", err)
	}
}

func TestQueueGroupLoadBalancing(t *testing.T) {
	s := natstest.RunServer(t)
	a, b := &embeddingService{id: "a"}, &embeddingService{id: "b"}
	serveEmbedding(t, natstest.Connect(t, s), a)
	serveEmbedding(t, natstest.Connect(t, s), b)
	cli := embeddingv1connect.NewEmbeddingServiceClient(natsrpc.NewClient(natstest.Connect(t, s)), natsrpc.BaseURL)
	const n = 100
	for i := range n {
		res, err := cli.Embed(context.Background(), connect.NewRequest(&embeddingv1.EmbedRequest{Texts: []string{"hello"}}))
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if m := res.Msg.GetModel(); m != "a/" && m != "b/" {
			t.Fatalf("model = %q", m)
		}
	}
	// Each request went to exactly one replica, and both took a share.
	if a.calls.Load()+b.calls.Load() != n || a.calls.Load() == 0 || b.calls.Load() == 0 {
		t.Fatalf("calls a=%d b=%d, want both > 0 summing to %d", a.calls.Load(), b.calls.Load(), n)
	}
}

func TestSubjectSuffixRoutesToPool(t *testing.T) {
	s := natstest.RunServer(t)
	gpu, cpu := &embeddingService{id: "gpu"}, &embeddingService{id: "cpu"}
	embed := embeddingv1connect.EmbeddingServiceEmbedProcedure
	serveEmbedding(t, natstest.Connect(t, s), gpu, natsrpc.WithProcedureSuffixes(embed, "qwen3-embedding-0.6b"))
	serveEmbedding(t, natstest.Connect(t, s), cpu, natsrpc.WithProcedureSuffixes(embed, "", "BAAI/bge-small-en-v1.5"))
	cli := embeddingv1connect.NewEmbeddingServiceClient(natsrpc.NewClient(natstest.Connect(t, s)), natsrpc.BaseURL)

	tests := []struct {
		name, model, wantReplica string
		wantCode                 connect.Code
	}{
		{"gpu model", "qwen3-embedding-0.6b", "gpu", 0},
		{"cpu model", "BAAI/bge-small-en-v1.5", "cpu", 0},
		{"default model", "", "cpu", 0},
		{"unknown model", "nope", "", connect.CodeUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := natsrpc.ContextWithSubjectSuffix(context.Background(), tc.model)
			for range 10 {
				res, err := cli.Embed(ctx, connect.NewRequest(&embeddingv1.EmbedRequest{Texts: []string{"x"}, Model: tc.model}))
				if tc.wantCode != 0 {
					if connect.CodeOf(err) != tc.wantCode {
						t.Fatalf("err = %v, want %v", err, tc.wantCode)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := res.Msg.GetModel(); got != tc.wantReplica+"/"+tc.model {
					t.Fatalf("answered by %q, want replica %q", got, tc.wantReplica)
				}
			}
		})
	}
	// ListModels has no suffixes: both pools answer it as one queue group.
	if _, err := cli.ListModels(context.Background(), connect.NewRequest(&embeddingv1.ListModelsRequest{})); err != nil {
		t.Fatal(err)
	}
}

// TestHTTPAndNATSIdentical calls one handler over HTTP and over NATS and
// compares responses and errors.
func TestHTTPAndNATSIdentical(t *testing.T) {
	nc := natstest.Connect(t, natstest.RunServer(t))
	path, h := configv1connect.NewConfigServiceHandler(newConfigService())
	srv, err := natsrpc.Serve(nc, path, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	mux := http.NewServeMux()
	mux.Handle(path, h)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)

	clients := map[string]configv1connect.ConfigServiceClient{
		"http": configv1connect.NewConfigServiceClient(hs.Client(), hs.URL),
		"nats": configv1connect.NewConfigServiceClient(natsrpc.NewClient(nc), natsrpc.BaseURL),
	}
	type outcome struct {
		msg     proto.Message
		code    connect.Code
		message string
		details int
	}
	calls := []struct {
		name string
		call func(configv1connect.ConfigServiceClient) (proto.Message, error)
	}{
		{"get", func(c configv1connect.ConfigServiceClient) (proto.Message, error) {
			r, err := c.GetConfig(context.Background(), connect.NewRequest(&configv1.GetConfigRequest{Revision: 7}))
			if err != nil {
				return nil, err
			}
			return r.Msg, nil
		}},
		{"list", func(c configv1connect.ConfigServiceClient) (proto.Message, error) {
			r, err := c.ListVersions(context.Background(), connect.NewRequest(&configv1.ListVersionsRequest{PageSize: 3}))
			if err != nil {
				return nil, err
			}
			return r.Msg, nil
		}},
		{"invalid put", func(c configv1connect.ConfigServiceClient) (proto.Message, error) {
			_, err := c.PutConfig(context.Background(), connect.NewRequest(&configv1.PutConfigRequest{}))
			return nil, err
		}},
		{"conflict", func(c configv1connect.ConfigServiceClient) (proto.Message, error) {
			_, err := c.PutConfig(context.Background(), connect.NewRequest(&configv1.PutConfigRequest{Document: []byte("x"), ExpectedRevision: 1}))
			return nil, err
		}},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]outcome{}
			for name, c := range clients {
				msg, err := tc.call(c)
				o := outcome{msg: msg, code: connect.CodeOf(err)}
				var cerr *connect.Error
				if errors.As(err, &cerr) {
					o.message, o.details = cerr.Message(), len(cerr.Details())
				}
				got[name] = o
			}
			h, n := got["http"], got["nats"]
			if h.code != n.code || h.message != n.message || h.details != n.details || !proto.Equal(h.msg, n.msg) {
				t.Fatalf("http = %+v\nnats = %+v", h, n)
			}
		})
	}
}

func TestMessageSizeLimits(t *testing.T) {
	s := natstest.RunServer(t, natstest.WithMaxPayload(64<<10))
	nc := natstest.Connect(t, s)
	serveConfig(t, nc, newConfigService())
	cli := configv1connect.NewConfigServiceClient(natsrpc.NewClient(nc), natsrpc.BaseURL)

	_, err := cli.PutConfig(context.Background(), connect.NewRequest(&configv1.PutConfigRequest{Document: make([]byte, 100<<10)}))
	if connect.CodeOf(err) != connect.CodeResourceExhausted || !strings.Contains(err.Error(), "max payload of 65536 bytes") {
		t.Errorf("large request: err = %v, want resource_exhausted naming the limit", err)
	}
	_, err = cli.ListVersions(context.Background(), connect.NewRequest(&configv1.ListVersionsRequest{PageSize: 200}))
	if connect.CodeOf(err) != connect.CodeResourceExhausted || !strings.Contains(err.Error(), "response of /semrouter.config.v1.ConfigService/ListVersions") {
		t.Errorf("large response: err = %v, want resource_exhausted naming the response", err)
	}
	// A response under the limit still works on the same server.
	if _, err := cli.ListVersions(context.Background(), connect.NewRequest(&configv1.ListVersionsRequest{PageSize: 10})); err != nil {
		t.Errorf("small response: %v", err)
	}

	// 200 KiB of compressible comments: over the limit uncompressed (the
	// default), under it with response compression.
	compressible := &configv1.ListVersionsRequest{PageSize: 200, BeforeRevision: -1}
	if _, err := cli.ListVersions(context.Background(), connect.NewRequest(compressible)); connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Errorf("compressible response without compression: err = %v, want resource_exhausted", err)
	}
	gz := configv1connect.NewConfigServiceClient(natsrpc.NewClient(nc, natsrpc.WithResponseCompression()), natsrpc.BaseURL)
	res, err := gz.ListVersions(context.Background(), connect.NewRequest(compressible))
	if err != nil || len(res.Msg.GetVersions()) != 200 {
		t.Errorf("compressible response with compression: %d versions, err %v", len(res.Msg.GetVersions()), err)
	}
}

func TestMalformedPeers(t *testing.T) {
	s := natstest.RunServer(t)
	nc := natstest.Connect(t, s)

	t.Run("reply from a non-natsrpc responder", func(t *testing.T) {
		sub, err := nc.Subscribe(subjects.RPC(configv1connect.ConfigServiceGetConfigProcedure), func(m *nats.Msg) {
			_ = m.Respond([]byte("plain"))
		})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = sub.Unsubscribe() }()
		cli := configv1connect.NewConfigServiceClient(natsrpc.NewClient(nc), natsrpc.BaseURL)
		_, err = cli.GetConfig(context.Background(), connect.NewRequest(&configv1.GetConfigRequest{}))
		if connect.CodeOf(err) != connect.CodeInternal || !strings.Contains(err.Error(), "not a natsrpc server") {
			t.Fatalf("err = %v, want internal naming the bad peer", err)
		}
	})

	t.Run("path that does not match the subject", func(t *testing.T) {
		serveConfig(t, nc, newConfigService())
		msg := nats.NewMsg(subjects.RPC(configv1connect.ConfigServiceListVersionsProcedure))
		msg.Header.Set("Natsrpc-Path", configv1connect.ConfigServiceRollbackProcedure)
		msg.Header.Set("Content-Type", "application/proto")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		reply, err := nc.RequestMsgWithContext(ctx, msg)
		if err != nil {
			t.Fatal(err)
		}
		if got := reply.Header.Get("Natsrpc-Status"); got != "400" {
			t.Fatalf("status = %q, want 400 (invalid_argument); body %s", got, reply.Data)
		}
	})
}
