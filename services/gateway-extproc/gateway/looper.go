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

// Fits reports whether m can take the routed request by the filters that
// shaped Targets: a text-only model card rules out a request with image
// content, and a context window smaller than the estimated request (after
// context_compression) rules it out too. A looper algorithm asks it for
// every model it would call, modelRefs or models it names itself.
func (x *Exchange) Fits(m *routes.Model) bool {
	if m == nil || x.req == nil {
		return false
	}
	if m.TextOnly && x.hasImages() {
		return false
	}
	return m.ContextWindow <= 0 || x.contextNeed().total() <= m.ContextWindow
}

// LooperRan records that the multi-call algorithm answered the request
// (or tried to) by calling models, in call order: the replay record names
// the algorithm and the models, as the x-vsr-looper-* headers do. Call it
// before UseTarget names the model that served: the answer is cached in
// the partition of the model the request was routed to, the one the next
// identical request is looked up in, whichever model of the algorithm
// answered.
func (x *Exchange) LooperRan(algorithm string, models []string) {
	r := &x.routed
	x.windowLooper() // windows.go: the sub-calls count, each on its model
	r.looper, r.looperModels = algorithm, models
	if r.looperRouted == "" && r.target.Model != nil {
		r.looperRouted = r.target.Model.Name
	}
}
