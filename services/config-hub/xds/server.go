package xds

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	clusterservice "github.com/envoyproxy/go-control-plane/envoy/service/cluster/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	endpointservice "github.com/envoyproxy/go-control-plane/envoy/service/endpoint/v3"
	listenerservice "github.com/envoyproxy/go-control-plane/envoy/service/listener/v3"
	routeservice "github.com/envoyproxy/go-control-plane/envoy/service/route/v3"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/log"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"

	"github.com/semrouter/semrouter/pkg/config"
)

// Node groups: every Envoy shares one snapshot, every gRPC client another.
const (
	GroupEnvoy = "envoy"
	GroupGRPC  = "grpc"
	// ClientKindMetadataKey in a node's metadata ("envoy" or "grpc")
	// overrides the detection by user agent.
	ClientKindMetadataKey = "semrouter.client"
)

// NodeGroup maps a node to GroupEnvoy or GroupGRPC: gRPC libraries name
// themselves "gRPC ..." in user_agent_name; everything else gets the Envoy
// resources.
type NodeGroup struct{}

var _ cachev3.NodeHash = NodeGroup{}

// ID returns the node's group.
func (NodeGroup) ID(node *corev3.Node) string {
	if node == nil {
		return GroupEnvoy
	}
	if v, ok := node.GetMetadata().GetFields()[ClientKindMetadataKey]; ok {
		if v.GetStringValue() == GroupGRPC {
			return GroupGRPC
		}
		return GroupEnvoy
	}
	if strings.HasPrefix(strings.ToLower(node.GetUserAgentName()), "grpc") {
		return GroupGRPC
	}
	return GroupEnvoy
}

// Observer learns about xDS streams and the responses sent on them
// (metrics). Types are short names: listener, route, cluster, endpoint,
// other.
type Observer interface {
	StreamOpened()
	StreamClosed()
	XDSResponse(typ string)
	XDSRejected(typ string)
}

// ServerOption tunes NewServer.
type ServerOption func(*serverOptions)

type serverOptions struct {
	observer Observer
}

// WithObserver tells o about every stream and response.
func WithObserver(o Observer) ServerOption { return func(so *serverOptions) { so.observer = o } }

// Server serves xDS (ADS and the per-type services) from the snapshots of
// the latest revision it was given.
type Server struct {
	cache   cachev3.SnapshotCache
	opts    Options
	logger  *slog.Logger
	version atomic.Uint64
	xds     serverv3.Server
}

// NewServer returns a server with no snapshot yet; call Update for each
// revision. ctx bounds the xDS streams' lifetime.
func NewServer(ctx context.Context, opts Options, logger *slog.Logger, sopts ...ServerOption) *Server {
	if logger == nil {
		logger = slog.Default()
	}
	var so serverOptions
	for _, o := range sopts {
		o(&so)
	}
	s := &Server{opts: opts, logger: logger}
	s.cache = cachev3.NewSnapshotCache(false, NodeGroup{}, slogAdapter{logger})
	s.xds = serverv3.NewServer(ctx, s.cache, callbacks(logger, so.observer))
	return s
}

// callbacks logs the revisions clients refuse and reports streams and
// responses to obs (when set).
func callbacks(logger *slog.Logger, obs Observer) serverv3.CallbackFuncs {
	nack := func(node *corev3.Node, typeURL, version string, d interface{ GetMessage() string }) {
		logger.Warn("xds client rejected a revision",
			slog.String("node", node.GetId()),
			slog.String("type", typeURL),
			slog.String("version", version),
			slog.String("error", d.GetMessage()))
		if obs != nil {
			obs.XDSRejected(ShortType(typeURL))
		}
	}
	cb := serverv3.CallbackFuncs{
		StreamRequestFunc: func(_ int64, req *discoveryv3.DiscoveryRequest) error {
			if d := req.GetErrorDetail(); d != nil {
				nack(req.GetNode(), req.GetTypeUrl(), req.GetVersionInfo(), d)
			}
			return nil
		},
		StreamDeltaRequestFunc: func(_ int64, req *discoveryv3.DeltaDiscoveryRequest) error {
			if d := req.GetErrorDetail(); d != nil {
				nack(req.GetNode(), req.GetTypeUrl(), "", d) // delta requests carry no version
			}
			return nil
		},
	}
	if obs == nil {
		return cb
	}
	open := func(context.Context, int64, string) error {
		obs.StreamOpened()
		return nil
	}
	closed := func(int64, *corev3.Node) { obs.StreamClosed() }
	cb.StreamOpenFunc, cb.DeltaStreamOpenFunc = open, open
	cb.StreamClosedFunc, cb.DeltaStreamClosedFunc = closed, closed
	cb.StreamResponseFunc = func(_ context.Context, _ int64, _ *discoveryv3.DiscoveryRequest, resp *discoveryv3.DiscoveryResponse) {
		obs.XDSResponse(ShortType(resp.GetTypeUrl()))
	}
	cb.StreamDeltaResponseFunc = func(_ int64, _ *discoveryv3.DeltaDiscoveryRequest, resp *discoveryv3.DeltaDiscoveryResponse) {
		obs.XDSResponse(ShortType(resp.GetTypeUrl()))
	}
	return cb
}

// ShortType names an xDS resource type URL for metrics: listener, route,
// cluster, endpoint, or other.
func ShortType(typeURL string) string {
	switch typeURL {
	case resourcev3.ListenerType:
		return "listener"
	case resourcev3.RouteType:
		return "route"
	case resourcev3.ClusterType:
		return "cluster"
	case resourcev3.EndpointType:
		return "endpoint"
	}
	return "other"
}

// Update builds the snapshots of revision rev and hands them to every
// connected client. An error leaves the previous snapshots in place.
func (s *Server) Update(ctx context.Context, cfg *config.Config, rev uint64) error {
	snaps, err := Build(cfg, strconv.FormatUint(rev, 10), s.opts)
	if err != nil {
		return fmt.Errorf("build xds snapshot for revision %d: %w", rev, err)
	}
	return s.Set(ctx, snaps, rev)
}

// Options returns the options snapshots are built with.
func (s *Server) Options() Options { return s.opts }

// Set serves snapshots already built (with Build) for revision rev.
func (s *Server) Set(ctx context.Context, snaps Snapshots, rev uint64) error {
	if err := s.cache.SetSnapshot(ctx, GroupEnvoy, snaps.Envoy); err != nil {
		return fmt.Errorf("set envoy snapshot: %w", err)
	}
	if err := s.cache.SetSnapshot(ctx, GroupGRPC, snaps.GRPC); err != nil {
		return fmt.Errorf("set grpc snapshot: %w", err)
	}
	s.version.Store(rev)
	s.logger.Info("xds snapshot updated", slog.Uint64("revision", rev))
	return nil
}

// Version returns the revision being served (0 before the first Update).
func (s *Server) Version() uint64 { return s.version.Load() }

// Register adds ADS, LDS, RDS, CDS and EDS to g.
func (s *Server) Register(g *grpc.Server) {
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(g, s.xds)
	listenerservice.RegisterListenerDiscoveryServiceServer(g, s.xds)
	routeservice.RegisterRouteDiscoveryServiceServer(g, s.xds)
	clusterservice.RegisterClusterDiscoveryServiceServer(g, s.xds)
	endpointservice.RegisterEndpointDiscoveryServiceServer(g, s.xds)
}

// Serve serves xDS on lis until ctx ends.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	g := grpc.NewServer()
	s.Register(g)
	errc := make(chan error, 1)
	go func() { errc <- g.Serve(lis) }()
	select {
	case <-ctx.Done():
		g.Stop()
		<-errc
		return nil
	case err := <-errc:
		if errors.Is(err, grpc.ErrServerStopped) {
			return nil
		}
		return fmt.Errorf("serve xds: %w", err)
	}
}

// slogAdapter writes go-control-plane's logs to slog.
type slogAdapter struct{ l *slog.Logger }

var _ log.Logger = slogAdapter{}

func (a slogAdapter) Debugf(format string, args ...any) {
	a.l.Debug(fmt.Sprintf(format, args...), slog.String("component", "xds"))
}
func (a slogAdapter) Infof(format string, args ...any) {
	a.l.Debug(fmt.Sprintf(format, args...), slog.String("component", "xds"))
}
func (a slogAdapter) Warnf(format string, args ...any) {
	a.l.Warn(fmt.Sprintf(format, args...), slog.String("component", "xds"))
}
func (a slogAdapter) Errorf(format string, args ...any) {
	a.l.Error(fmt.Sprintf(format, args...), slog.String("component", "xds"))
}
