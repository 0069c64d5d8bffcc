package gateway

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
	"github.com/semrouter/semrouter/services/gateway-extproc/sticky"
	"github.com/semrouter/semrouter/services/gateway-extproc/toolselect"
)

// Degraded stage names used in x-vsr-degraded.
const (
	StageEmbedder   = "embedder"
	StageClassifier = "classifier"
	StageCache      = "cache"
	StageRewrite    = "rewrite"
)

// PathError is the response path (metrics, span) of a chat request
// refused before routing (an unknown model).
const PathError = "error"

// Target is one model the request may be sent to, with its reasoning mode.
type Target struct {
	Model     *routes.Model
	Reasoning bool
	Effort    string
}

// Forward is the plan for a request that goes upstream.
type Forward struct {
	// Body is the body for Targets[0]; BodyChanged says it differs from
	// what the client sent (content-length must then be recomputed).
	Body        []byte
	BodyChanged bool
	// SetHeaders / RemoveHeaders mutate the upstream request headers
	// (x-selected-model, header_mutation plugin).
	SetHeaders    []Header
	RemoveHeaders []string
	// ClearRouteCache asks Envoy to re-pick the route: it is set whenever
	// x-selected-model is set.
	ClearRouteCache bool
	// Targets is the failover order: the selection, the decision's other
	// modelRefs, then the default model.
	Targets []Target
}

// route is the routing outcome kept for rewrites and headers.
type route struct {
	decision    *Decision
	cfgDecision *routes.Decision
	target      Target
	targets     []Target
	degraded    []string
	path        string // x-vsr-response-path
	cacheHit    bool
	// cacheEntry and cacheExact describe the candidate served on a hit.
	cacheEntry string
	cacheExact bool
	similarity float32
	embedding  []float32
	plugins    chatreq.Rewrite  // plugin edits, without model/reasoning
	tools      *toolselect.Edit // tools plugins' edit (tools.go)
	rag        ragOutcome       // rag plugin's retrieval (rag.go)
	memory     memoryOutcome    // memory plugin's retrieval (memory.go)
	compressed string           // x-vsr-context-compressed value (compress.go)
	// looper and looperModels: the multi-call algorithm that answered and
	// the models it called (LooperRan); looperRouted is the model the
	// request was routed to before it ran (the cache partition's model).
	looper       string
	looperModels []string
	looperRouted string
	fastReply    bool
	injected     bool
	latency      time.Duration // time spent choosing the model
	cache        cacheKeys
	// upstreamFail is the llm_request_errors_total reason of a request
	// whose upstream attempts all failed (UpstreamFailed).
	upstreamFail string
	// clientGone: the client hung up before it got an answer (ClientGone).
	clientGone bool
	// sticky is what model switch protection did (0: it did not run;
	// sticky.go).
	sticky sticky.Outcome
	// imageGen and imageSize: what the image_gen plugin did
	// (x-vsr-image-gen) and the size it generated (imagegen.go).
	imageGen, imageSize string
}

// RequestBody processes the buffered chat-completions body. Exactly one of
// the results is non-nil.
func (x *Exchange) RequestBody(ctx context.Context, body []byte) (*Immediate, *Forward) {
	imm, fwd := x.requestBody(ctx, body)
	if fwd != nil {
		x.windowStart(fwd) // in flight until End (windows.go)
	}
	return imm, fwd
}

func (x *Exchange) requestBody(ctx context.Context, body []byte) (*Immediate, *Forward) {
	if int64(len(body)) > x.t.MaxBodyBytes {
		return x.Reject(chatreq.TooLarge(x.t.MaxBodyBytes)), nil
	}
	if x.endpoint != EndpointChat {
		return x.endpointBody(ctx, body) // endpoints.go
	}
	req, err := chatreq.Parse(body)
	if err != nil {
		x.parseErr = true
		var ae *chatreq.APIError
		if errors.As(err, &ae) {
			return errorResponse(ae), nil
		}
		return errorResponse(chatreq.BadRequest("", "invalid_request", err.Error())), nil
	}
	x.req = req
	x.resp.streaming = req.Stream
	recipe, auto := x.t.IsAuto(req.Model)
	if !auto {
		m, ok := x.t.Model(req.Model)
		if !ok {
			// Counted under path "error": the request never got a route.
			x.routed.path = PathError
			return errorResponse(chatreq.ModelNotAvailable(req.Model)), nil
		}
		return x.rateLimit(ctx, nil, x.passthrough(m))
	}
	x.auto, x.recipe = true, recipe
	imm, fwd := x.route(ctx)
	imm, fwd = x.rateLimit(ctx, imm, fwd)
	x.commitPin(ctx, fwd != nil) // sticky.go: after the rate limits
	return imm, fwd
}

// passthrough forwards a concrete model name: only the model id changes,
// and only when the provider id differs from the requested name.
func (x *Exchange) passthrough(m *routes.Model) *Forward {
	x.routed.target = Target{Model: m}
	x.routed.targets = []Target{x.routed.target}
	x.routed.path = "upstream"
	f := &Forward{Body: x.req.Raw(), Targets: x.routed.targets, ClearRouteCache: true,
		SetHeaders: []Header{{"x-selected-model", m.Name}}}
	if id := m.UpstreamModelID(); id != x.req.Model {
		body, changed, err := x.req.Apply(&chatreq.Rewrite{Model: id})
		if err == nil {
			f.Body, f.BodyChanged = body, changed
		}
	}
	return f
}

// route runs the fan-out and applies the decision: embed, then classify
// and the speculative cache lookup in parallel (every partition the
// request may be routed to; the cache partition is keyed by the decision
// and the selected model), each under its own stage deadline; the
// selected decision's candidate is then used when the decision enables
// the cache (or looked up now when it was not anticipated).
func (x *Exchange) route(ctx context.Context) (*Immediate, *Forward) {
	r := &x.routed
	t := x.t
	rr := &RouteRequest{Model: x.req.Model, Recipe: x.recipe, Messages: x.req.Messages,
		LastUser: x.req.LastUser, HasTools: x.req.HasTools, Header: x.hdr, Identity: x.identity(), Request: x.req,
		ConfigRevision: t.RevisionNumber()}
	r.cache.id = rr.Identity
	// A last user turn without text (null content, only image parts) has
	// nothing to embed: embedding rules simply do not match, which is not
	// a degraded embedder.
	if t.NeedsEmbedding && x.req.LastUserText() != "" {
		r.embedding, rr.History = x.embed(ctx)
		rr.Embedding = r.embedding
		rr.EmbeddingDegraded = r.embedding == nil
	}
	spec := x.speculate(ctx)
	defer spec.finish(nil)
	dec := x.classify(ctx, rr)
	x.resolve(dec)
	if dec != nil && dec.Block != nil {
		spec.finish(nil)
		r.latency = x.g.now().Sub(x.start)
		return x.blocked(dec.Block), nil
	}
	if imm := x.planContext(ctx); imm != nil {
		spec.finish(nil)
		r.latency = x.g.now().Sub(x.start)
		return imm, nil
	}
	x.stick(ctx) // sticky.go: may put the conversation's model first
	hits := x.cacheLookup(ctx, spec)
	imm := x.cacheHit(hits)
	x.reportServed(ctx, spec)
	x.endCacheSpan(len(hits), x.cacheErr)
	if imm != nil {
		r.latency = x.g.now().Sub(x.start)
		return imm, nil
	}
	r.latency = x.g.now().Sub(x.start)
	if fr := x.fastResponsePlugin(); fr != nil {
		return x.fastResponse(fr.Message), nil
	}
	// The rate limits apply before the image backend, rag, memory and
	// the tools plan are asked (ratelimit.go): a refused request costs
	// none of them. requestBody's check is then a no-op.
	if imm, _ := x.rateLimit(ctx, nil, &Forward{}); imm != nil {
		return imm, nil
	}
	if imm := x.imageGen(ctx); imm != nil { // imagegen.go
		return imm, nil
	}
	waitRAG := x.startRAG(ctx) // runs while the tools plan is made
	waitMemory := x.startMemory(ctx)
	x.planTools(ctx)
	waitMemory()
	if imm := waitRAG(); imm != nil {
		return imm, nil
	}
	return nil, x.forward()
}

// identity reads the caller from the trusted identity headers.
func (x *Exchange) identity() Identity {
	id := Identity{User: strings.TrimSpace(x.hdr(x.t.Identity.UserIDHeader))}
	if g := x.hdr(x.t.Identity.UserGroupsHeader); g != "" {
		for _, p := range strings.Split(g, ",") {
			if p = strings.TrimSpace(p); p != "" {
				id.Groups = append(id.Groups, p)
			}
		}
	}
	return id
}

// embed embeds the last user turn and, in the same batch, up to
// HistoryTurns earlier user turns (newest first).
func (x *Exchange) embed(ctx context.Context) ([]float32, [][]float32) {
	e := x.g.stages.Embedder
	if e == nil {
		x.degrade(StageEmbedder, nil)
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, x.t.StageTimeout)
	defer cancel()
	texts := make([]string, 1, 1+x.t.HistoryTurns)
	texts[0] = x.req.LastUserText()
	for i := x.req.LastUser - 1; i >= 0 && len(texts) <= x.t.HistoryTurns; i-- {
		if m := x.req.Messages[i]; m.Role == "user" {
			texts = append(texts, m.Text)
		}
	}
	vecs, err := e.Embed(ctx, texts)
	if err == nil && (len(vecs) != len(texts) || len(vecs[0]) == 0) {
		err = errors.New("embedder returned no vector")
	}
	if err != nil {
		if clientGone(ctx) {
			return nil, nil
		}
		x.degrade(StageEmbedder, err)
		return nil, nil
	}
	return vecs[0], vecs[1:]
}

func (x *Exchange) classify(ctx context.Context, rr *RouteRequest) *Decision {
	c := x.g.stages.Classifier
	if c == nil {
		x.degrade(StageClassifier, nil)
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, x.t.StageTimeout)
	defer cancel()
	dec, err := c.Classify(ctx, rr)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err() // answered, but after the deadline
	}
	if err != nil {
		if clientGone(ctx) {
			return nil
		}
		x.degrade(StageClassifier, err)
		return nil
	}
	return dec
}

// clientGone reports whether a stage's ctx ended because the request's
// did (the client hung up), not by the stage deadline: the stage is then
// not degraded (no metric, no warning a client could trigger at will).
func clientGone(stageCtx context.Context) bool {
	return errors.Is(stageCtx.Err(), context.Canceled)
}

func (x *Exchange) degrade(stage string, err error) {
	x.routed.degraded = append(x.routed.degraded, stage)
	x.g.metrics.StageDegraded(stage)
	if err != nil {
		x.g.log.Warn("router stage degraded", "stage", stage, "error", err)
	}
}

// resolve turns the decision into targets and plugin edits.
func (x *Exchange) resolve(dec *Decision) {
	r := &x.routed
	t := x.t
	r.decision = dec
	r.path = "upstream"
	var refs []routes.ModelRef
	if dec != nil && dec.Name != "" {
		if d, ok := t.RecipeDecision(x.recipe, dec.Name); ok {
			r.cfgDecision = d
			refs = d.ModelRefs
		}
	}
	seen := make(map[string]bool, len(refs)+2)
	add := func(name string, reasoning bool, effort string) {
		m, ok := t.Model(name)
		if !ok || seen[m.Name] {
			return
		}
		seen[m.Name] = true
		if effort == "" {
			effort = t.DefaultReasoningEffort
		}
		r.targets = append(r.targets, Target{Model: m, Reasoning: reasoning, Effort: effort})
	}
	if dec != nil && dec.Model != "" {
		reasoning, effort := false, dec.ReasoningEffort
		for _, ref := range refs {
			if ref.Model == dec.Model {
				reasoning = ref.UseReasoning
				if effort == "" {
					effort = ref.ReasoningEffort
				}
			}
		}
		if dec.UseReasoning != nil {
			reasoning = *dec.UseReasoning
		}
		add(dec.Model, reasoning, effort)
	}
	for i, ref := range refs {
		reasoning, effort := ref.UseReasoning, ref.ReasoningEffort
		if i == 0 && len(r.targets) == 0 && dec.UseReasoning != nil {
			reasoning = *dec.UseReasoning
		}
		if i == 0 && len(r.targets) == 0 && dec.ReasoningEffort != "" {
			effort = dec.ReasoningEffort
		}
		add(ref.Model, reasoning, effort)
	}
	add(t.DefaultModel, false, "")
	if len(r.targets) == 0 && len(t.Models) > 0 {
		add(t.Models[0].Name, false, "")
	}
	if len(r.targets) > 0 {
		r.target = r.targets[0]
	}
	if d := r.cfgDecision; d != nil {
		p := d.Plugins
		if sp := p.SystemPrompt; sp != nil && sp.Enabled && sp.SystemPrompt != "" {
			r.plugins.SystemPrompt = &chatreq.SystemPrompt{Mode: sp.Mode, Text: sp.SystemPrompt}
			r.injected = true
		}
		if rp := p.RequestParams; rp != nil {
			r.plugins.Params = &chatreq.Params{Blocked: rp.BlockedParams, MaxTokensLimit: rp.MaxTokensLimit, MaxN: rp.MaxN}
		}
	}
	r.plugins.IncludeUsage = true
}

func (x *Exchange) fastResponsePlugin() *routes.FastResponsePlugin {
	if d := x.routed.cfgDecision; d != nil {
		return d.Plugins.FastResponse
	}
	return nil
}

func (x *Exchange) responseCachePlugin() *routes.ResponseCachePlugin {
	if d := x.routed.cfgDecision; d != nil {
		if rc := d.Plugins.ResponseCache; rc != nil && rc.Enabled {
			return rc
		}
	}
	return nil
}

// forward renders the upstream request for the first target.
func (x *Exchange) forward() *Forward {
	r := &x.routed
	f := &Forward{Body: x.req.Raw(), Targets: r.targets}
	if r.target.Model == nil {
		// No model configured at all: let the request through unchanged.
		return f
	}
	body, changed, err := x.BodyFor(r.target)
	if err != nil {
		x.degrade(StageRewrite, err)
		body, changed = x.req.Raw(), false
	}
	f.Body, f.BodyChanged = body, changed
	f.SetHeaders = append(f.SetHeaders, Header{"x-selected-model", r.target.Model.Name})
	// The route depends on x-selected-model, which did not exist when Envoy
	// first picked it.
	f.ClearRouteCache = true
	if d := r.cfgDecision; d != nil && d.Plugins.HeaderMutation != nil {
		hm := d.Plugins.HeaderMutation
		for _, h := range hm.Add {
			f.SetHeaders = append(f.SetHeaders, Header{strings.ToLower(h.Name), h.Value})
		}
		for _, h := range hm.Update {
			f.SetHeaders = append(f.SetHeaders, Header{strings.ToLower(h.Name), h.Value})
		}
		for _, n := range hm.Delete {
			f.RemoveHeaders = append(f.RemoveHeaders, strings.ToLower(n))
		}
	}
	return f
}

// BodyFor renders the request body for target t: model id, the family's
// reasoning fields, and the decision's plugin edits.
func (x *Exchange) BodyFor(t Target) ([]byte, bool, error) {
	if x.endpoint != EndpointChat {
		// completions and embeddings: only the model id changes.
		return x.req.Apply(&chatreq.Rewrite{Model: t.Model.UpstreamModelID()})
	}
	w := x.routed.plugins
	if !x.auto {
		w = chatreq.Rewrite{}
	}
	w.Model = t.Model.UpstreamModelID()
	if x.auto {
		if fam, ok := x.t.Family(t.Model); ok {
			w.Reasoning = &chatreq.Reasoning{Type: fam.Type, Parameter: fam.Parameter, On: t.Reasoning, Effort: t.Effort}
		}
	}
	return x.applyMemory(x.applyRAG(x.applyTools(x.req.Apply(&w))))
}

// UseTarget records that t (a failover target) is now serving the request.
func (x *Exchange) UseTarget(t Target) {
	x.routed.target = t
	x.windowRetarget(t)
}

// UpstreamFailed records that no backend answered the request: t is the
// target tried last and reason the llm_request_errors_total reason of its
// failure (pkg/metrics Reason*), used when the client gets a 5xx.
func (x *Exchange) UpstreamFailed(t Target, reason string) {
	x.routed.target, x.routed.upstreamFail = t, reason
}

// ClientGone records that the client hung up before it was answered: the
// request counts as a cancellation, not as a timeout or an upstream
// failure.
func (x *Exchange) ClientGone() { x.routed.clientGone = true }

// blocked answers a guardrail block.
func (x *Exchange) blocked(b *Block) *Immediate {
	x.routed.path = "blocked"
	status := b.Status
	if status == 0 {
		status = http.StatusForbidden
	}
	msg := b.Message
	if msg == "" {
		msg = "request blocked by router policy"
	}
	e := &chatreq.APIError{Status: status, Message: msg, Type: chatreq.TypeInvalidRequest, Code: "content_policy_violation"}
	imm := errorResponse(e)
	imm.Headers = x.appendRouteHeaders(imm.Headers)
	return imm
}
