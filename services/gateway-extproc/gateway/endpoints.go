package gateway

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
)

// Endpoint is the OpenAI inference endpoint a KindChat request is for.
type Endpoint int

// Inference endpoints.
const (
	// EndpointChat is POST /v1/chat/completions (and the Responses API,
	// translated to it).
	EndpointChat Endpoint = iota
	// EndpointCompletions is POST /v1/completions (legacy text
	// completions): a concrete model is forwarded as is; an auto name is
	// routed on the prompt, with no cache and no chat plugins.
	EndpointCompletions
	// EndpointEmbeddings is POST /v1/embeddings: forwarded to the
	// configured model it names; never routed, never cached.
	EndpointEmbeddings
)

// Path is the endpoint's request path (also the path appended to a
// backend's OpenAI base).
func (e Endpoint) Path() string {
	switch e {
	case EndpointCompletions:
		return chatreq.PathCompletions
	case EndpointEmbeddings:
		return chatreq.PathEmbeddings
	}
	return chatreq.PathChat
}

// Endpoint is the inference endpoint of this exchange (EndpointChat until
// RequestHeaders saw another inference path).
func (x *Exchange) Endpoint() Endpoint { return x.endpoint }

// inferenceEndpoint maps a path to a non-chat inference endpoint.
func inferenceEndpoint(path string) (Endpoint, bool) {
	switch path {
	case chatreq.PathCompletions:
		return EndpointCompletions, true
	case chatreq.PathEmbeddings:
		return EndpointEmbeddings, true
	}
	return EndpointChat, false
}

// endpointBody processes a completions or embeddings body. A configured
// model is forwarded with only its model id rewritten (as a chat
// passthrough: the same backends, credentials, failover). An auto name
// routes a completions prompt (routePrompt) and is refused for
// embeddings, which have no content to route on and must name the
// embedding model.
func (x *Exchange) endpointBody(ctx context.Context, body []byte) (*Immediate, *Forward) {
	parse := chatreq.ParseEmbeddings
	if x.endpoint == EndpointCompletions {
		parse = chatreq.ParseCompletions
	}
	req, err := parse(body)
	if err != nil {
		x.parseErr = true
		var ae *chatreq.APIError
		if !errors.As(err, &ae) {
			ae = chatreq.BadRequest("", "invalid_request", err.Error())
		}
		return errorResponse(ae), nil
	}
	x.req = req
	x.resp.streaming = req.Stream
	recipe, auto := x.t.IsAuto(req.Model)
	if auto && x.endpoint == EndpointEmbeddings {
		x.routed.path = PathRejected
		return errorResponse(chatreq.BadRequest("model", "model_not_supported",
			"model "+strconv.Quote(req.Model)+" is the router's automatic choice, which routes chat and completions requests; "+
				"POST /v1/embeddings needs a concrete embedding model (see GET /v1/models)")), nil
	}
	if !auto {
		m, ok := x.t.Model(req.Model)
		if !ok {
			x.routed.path = PathError
			return errorResponse(chatreq.ModelNotAvailable(req.Model)), nil
		}
		if m.Anthropic() {
			x.routed.path = PathRejected
			return errorResponse(chatreq.BadRequest("model", "model_not_supported",
				"model "+strconv.Quote(req.Model)+" speaks the Anthropic Messages API, which has no "+x.endpoint.Path()+" endpoint")), nil
		}
		return x.rateLimit(ctx, nil, x.passthrough(m))
	}
	x.auto, x.recipe = true, recipe
	imm, fwd := x.routePrompt(ctx)
	return x.rateLimit(ctx, imm, fwd)
}

// routePrompt routes a completions request on its prompt as if it were
// the one user message of a chat: embed (when the config needs it),
// classify, apply the decision's model choice and its blocking, and
// rewrite model. The decision's header_mutation applies; the plugins
// that edit or answer a chat (system_prompt, request_params, reasoning
// fields, response cache, fast_response, rag, memory, tools,
// context_compression, the response-side screens, looper algorithms,
// router_replay) do not. Models speaking the Anthropic Messages API are
// left out of the failover targets.
func (x *Exchange) routePrompt(ctx context.Context) (*Immediate, *Forward) {
	r := &x.routed
	t := x.t
	// Request stays nil: the classifier's facts are then built from
	// Messages (the prompt as the user turn), not from the raw body, which
	// has no messages.
	rr := &RouteRequest{Model: x.req.Model, Recipe: x.recipe, Messages: x.req.Messages,
		LastUser: x.req.LastUser, Header: x.hdr, Identity: x.identity(), ConfigRevision: t.RevisionNumber()}
	if t.NeedsEmbedding && x.req.LastUserText() != "" {
		r.embedding, _ = x.embed(ctx)
		rr.Embedding = r.embedding
		rr.EmbeddingDegraded = r.embedding == nil
	}
	dec := x.classify(ctx, rr)
	x.resolve(dec)
	r.plugins, r.injected = chatreq.Rewrite{}, false
	r.targets = slices.DeleteFunc(r.targets, func(tg Target) bool { return tg.Model.Anthropic() })
	for i := range r.targets {
		// The body gets no reasoning fields, so none is selected.
		r.targets[i].Reasoning, r.targets[i].Effort = false, ""
	}
	r.target = Target{}
	if len(r.targets) > 0 {
		r.target = r.targets[0]
	}
	r.latency = x.g.now().Sub(x.start)
	if dec != nil && dec.Block != nil {
		return x.blocked(dec.Block), nil
	}
	if r.target.Model == nil {
		r.path = PathRejected
		return errorResponse(&chatreq.APIError{Status: http.StatusBadRequest, Type: chatreq.TypeInvalidRequest,
			Param: "model", Code: "model_not_supported",
			Message: "no configured model serves " + x.endpoint.Path() + " for this request"}), nil
	}
	f := x.forward()
	// Nothing past the request applies to a completion: the chat plugins
	// read the decision's config from here on.
	r.cfgDecision = nil
	return nil, f
}
