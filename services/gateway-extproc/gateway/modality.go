package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
)

// CodeImageInputUnsupported is the OpenAI error code of a request with
// image content that no candidate model can take.
const CodeImageInputUnsupported = "image_input_unsupported"

// planContext fits the routed targets to the request before it is
// forwarded: models that cannot take its images are skipped
// (fitModality), then the context_compression plugin runs
// (compressContext), and last the context-window filter (fitContext).
func (x *Exchange) planContext(ctx context.Context) *Immediate {
	if imm := x.fitModality(); imm != nil {
		return imm
	}
	if imm := x.compressContext(ctx); imm != nil {
		return imm
	}
	return x.fitContext()
}

// hasImages reports whether a message carries an image content part
// (type image_url, or input_image / image as some clients send).
func (x *Exchange) hasImages() bool {
	if !slices.ContainsFunc(x.req.Messages, func(m chatreq.Message) bool { return m.Parts > 0 }) {
		return false
	}
	found := false
	gjson.GetBytes(x.req.Raw(), "messages").ForEach(func(_, m gjson.Result) bool {
		m.Get("content").ForEach(func(_, p gjson.Result) bool {
			switch p.Get("type").Str {
			case "image_url", "input_image", "image":
				found = true
			}
			return !found
		})
		return !found
	})
	return found
}

// fitModality drops the routed targets whose model card says they cannot
// take images (routes.Model.TextOnly) when the request has image content,
// as fitContext drops models whose window is too small: the next
// candidate serves it. Models without a card always fit. When no target
// can take the images it answers a 400 image_input_unsupported.
func (x *Exchange) fitModality() *Immediate {
	r := &x.routed
	if len(r.targets) == 0 {
		return nil
	}
	constrained := false
	for _, t := range r.targets {
		constrained = constrained || t.Model.TextOnly
	}
	if !constrained || !x.hasImages() {
		return nil
	}
	var skipped []string
	kept := r.targets[:0]
	for _, t := range r.targets {
		if !t.Model.TextOnly {
			kept = append(kept, t)
			continue
		}
		skipped = append(skipped, t.Model.Name)
		x.g.log.Debug("model skipped: cannot take images", slog.String("model", t.Model.Name))
	}
	r.targets = kept
	if len(kept) > 0 {
		r.target = kept[0]
		return nil
	}
	r.target = Target{}
	r.path = PathRejected
	e := &chatreq.APIError{Status: http.StatusBadRequest, Type: chatreq.TypeInvalidRequest, Param: "messages",
		Code: CodeImageInputUnsupported,
		Message: "the request contains image content, but none of the models this route may use accepts images (" +
			strings.Join(skipped, ", ") + ": routing.modelCards modality ar without a vision or multimodal capability); " +
			"remove the images or route to a vision model"}
	imm := errorResponse(e)
	imm.Headers = x.appendRouteHeaders(imm.Headers)
	return imm
}
