package gateway

import "github.com/semrouter/semrouter/services/gateway-extproc/routes"

// RoutedDecision is the configured decision an auto-routed request was
// routed by (nil for a named model or when no decision matched). API mode
// reads its algorithm to run the multi-call ones (package looper).
func (x *Exchange) RoutedDecision() *routes.Decision {
	if !x.auto {
		return nil
	}
	return x.routed.cfgDecision
}

// Targets is the failover order of the routed request (the selection, the
// decision's other modelRefs, then the default model).
func (x *Exchange) Targets() []Target { return x.routed.targets }

// StreamRequested reports whether the client asked for a stream.
func (x *Exchange) StreamRequested() bool { return x.req != nil && x.req.Stream }
