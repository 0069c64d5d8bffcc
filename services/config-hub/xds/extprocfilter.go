package xds

import (
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/semrouter/semrouter/pkg/config"
)

// StreamsRequestBody reports whether global.router.streamed_body asks
// Envoy to stream request bodies to the gateway (FULL_DUPLEX_STREAMED)
// instead of buffering them (BUFFERED).
func StreamsRequestBody(sb *config.StreamedBody) bool { return sb != nil && sb.Enabled }

// extProcFilter is the ext_proc filter of every Envoy listener.
//
// Buffered (the default): Envoy holds the whole request body within its
// buffer limit and sends it in one message; each message is bounded by
// message_timeout, and the filter fails open (a request is never lost
// because the router is down: it goes to the default model).
//
// Streamed (global.router.streamed_body.enabled): request_body_mode
// FULL_DUPLEX_STREAMED. Envoy passes each body chunk to the gateway as it
// arrives and keeps none of it; the gateway holds the chunks (up to
// max_bytes), answers the request headers only once the whole body is
// there (so that x-selected-model and the credentials it sets still pick
// the route: header mutations of a STREAMED body response are ignored,
// and STREAMED headers go upstream before the body), then sends the
// (rewritten) body back as streamed body responses. Envoy requires
// request_trailer_mode SEND and failure_mode_allow false for this mode,
// and runs no per-message timer on the request side: the gateway bounds
// the body's arrival itself (timeout_sec, 408). The response side is
// unchanged (BUFFERED, switched to STREAMED per response for SSE through
// mode_override), so message_timeout still bounds each response message.
func extProcFilter(opts Options, sb *config.StreamedBody) *extprocv3.ExternalProcessor {
	f := &extprocv3.ExternalProcessor{
		GrpcService: &corev3.GrpcService{
			TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: ExtProcClusterName}},
			Timeout:         durationpb.New(opts.ExtProcMessageTimeout),
		},
		ProcessingMode: &extprocv3.ProcessingMode{
			RequestHeaderMode:  extprocv3.ProcessingMode_SEND,
			RequestBodyMode:    extprocv3.ProcessingMode_BUFFERED,
			ResponseHeaderMode: extprocv3.ProcessingMode_SEND,
			ResponseBodyMode:   extprocv3.ProcessingMode_BUFFERED,
		},
		AllowModeOverride: true,
		MessageTimeout:    durationpb.New(opts.ExtProcMessageTimeout),
		// A request is never lost because the router is down: without
		// ext_proc it goes to the default model (the default route).
		FailureModeAllow: true,
		// The gateway sets x-selected-model; routes must be chosen again.
		RouteCacheAction: extprocv3.ExternalProcessor_CLEAR,
	}
	if !StreamsRequestBody(sb) {
		return f
	}
	f.ProcessingMode.RequestBodyMode = extprocv3.ProcessingMode_FULL_DUPLEX_STREAMED
	f.ProcessingMode.RequestTrailerMode = extprocv3.ProcessingMode_SEND
	f.FailureModeAllow = false
	// The gRPC call must outlive the slowest body the gateway accepts (its
	// own deadline answers 408 first), plus one message for the answer.
	if body := time.Duration(sb.TimeoutSec) * time.Second; body > 0 {
		f.GrpcService.Timeout = durationpb.New(body + opts.ExtProcMessageTimeout)
	}
	return f
}
