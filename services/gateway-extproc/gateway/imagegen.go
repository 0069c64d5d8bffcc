package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/imagegen"
)

// Image generation (the image_gen decision plugin, package imagegen).
const (
	// HeaderImageGen says what the image_gen plugin did: "generated", or
	// "skipped:<reason>" when the request went to the chat model
	// (imagegen.Reason*), or "failed:<outcome>".
	HeaderImageGen = "x-vsr-image-gen"
	// HeaderImageSize is the size of the generated image (WxH).
	HeaderImageSize = "x-vsr-image-size"
	// StageImageGen is the x-vsr-degraded stage of a failed generation.
	StageImageGen = "image_gen"
	// PathImageGen is the response path of an answer from the image
	// backend.
	PathImageGen = "image_gen"
)

// imageGenPlugin is the routed decision's image_gen plugin (nil: none).
func (x *Exchange) imageGenPlugin() *imagegen.Plugin {
	if d := x.routed.cfgDecision; d != nil {
		return d.Plugins.ImageGen
	}
	return nil
}

// imageGen answers an image request of a decision with an image_gen
// plugin from the image backend (nil: the request is not one, and goes
// to the decision's chat model as usual). The rate limits were checked
// before (route): a generation spends a request like a model call.
// A failed generation is an OpenAI error (imagegen.Plugin.Failure) with
// x-vsr-degraded: image_gen; the request is not sent to the chat model,
// which cannot draw.
func (x *Exchange) imageGen(ctx context.Context) *Immediate {
	p := x.imageGenPlugin()
	if p == nil {
		return nil
	}
	r := &x.routed
	decision := ""
	var modality []string
	if r.decision != nil {
		decision, modality = r.decision.Name, r.decision.Matched["modality"]
	}
	text := x.req.LastUserText()
	image, reason := p.Decide(text, modality)
	if !image {
		r.imageGen = "skipped:" + reason
		x.g.metrics.ImageGeneration(decision, p.Backend(), metrics.ImageGenNotImage)
		return nil
	}
	req := p.Prepare(text)
	im, err := p.Generate(ctx, req)
	r.path = PathImageGen
	if err != nil {
		apiErr, outcome := p.Failure(err)
		if clientGone(ctx) {
			// The client hung up: nobody reads the answer, and it is
			// neither a backend failure nor a degraded stage.
			r.clientGone = true
			return errorResponse(apiErr)
		}
		x.g.metrics.ImageGeneration(decision, p.Backend(), outcome)
		r.imageGen = "failed:" + outcome
		x.degrade(StageImageGen, err)
		imm := errorResponse(apiErr)
		imm.Headers = x.appendRateLimitHeaders(x.appendRouteHeaders(imm.Headers))
		return imm
	}
	x.g.metrics.ImageGeneration(decision, p.Backend(), metrics.ImageGenSuccess)
	x.g.log.Debug("image generated", slog.String("decision", decision), slog.String("backend", p.Backend()),
		slog.String("size", req.Size()), slog.String("reason", reason))
	r.imageGen = "generated"
	r.imageSize = req.Size()
	c := imagegen.Completion{Created: x.start.Unix(), Prompt: req.Prompt, Model: p.Model()}
	if r.target.Model != nil {
		c.Model = r.target.Model.Name
	}
	if c.Model == "" {
		c.Model = x.req.Model
	}
	c.ID = "chatcmpl-img-" + strconv.FormatInt(x.start.UnixNano(), 36)
	size := len(im.B64) + len(im.URL)
	var body []byte
	ctype := "application/json"
	if x.req.Stream {
		body = imagegen.AppendStream(make([]byte, 0, 2*size+1024), c, im, x.req.IncludeUsage)
		ctype = "text/event-stream"
	} else {
		body = imagegen.AppendCompletion(make([]byte, 0, 2*size+512), c, im)
	}
	return &Immediate{Status: http.StatusOK, Body: body,
		Headers: x.appendRateLimitHeaders(x.appendRouteHeaders([]Header{{"content-type", ctype}}))}
}

// appendImageGenHeader adds x-vsr-image-gen (and x-vsr-image-size) when
// the image_gen plugin ran.
func (x *Exchange) appendImageGenHeader(h []Header) []Header {
	r := &x.routed
	if r.imageGen == "" {
		return h
	}
	h = append(h, Header{HeaderImageGen, r.imageGen})
	if r.imageSize != "" {
		h = append(h, Header{HeaderImageSize, r.imageSize})
	}
	return h
}
