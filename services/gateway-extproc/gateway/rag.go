package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/rag"
)

// StageRAG is the degraded stage named when the rag plugin could not
// retrieve context and its on_failure is warn: the request goes upstream
// without the context.
const StageRAG = "rag"

// HeaderRAGDocuments is the number of passages the rag plugin injected
// (sent whenever the plugin ran for the request).
const HeaderRAGDocuments = "x-vsr-rag-documents"

// ragOutcome is what the rag plugin retrieved for this request.
type ragOutcome struct {
	ran   bool
	mode  string
	query string
	docs  []rag.Document
}

func noRAG() *Immediate { return nil }

// startRAG starts the selected decision's rag retrieval, under the stage
// deadline, in its own goroutine; the returned wait collects it (on the
// request's goroutine: degrade and metrics are not concurrent) and returns
// the error answer when the plugin's on_failure is block. Retrieval is
// skipped when there is no user text or the decision's confidence is
// below min_confidence_threshold.
func (x *Exchange) startRAG(ctx context.Context) (wait func() *Immediate) {
	d := x.routed.cfgDecision
	if d == nil || d.Plugins.RAG == nil || !x.auto {
		return noRAG
	}
	p := d.Plugins.RAG
	q := strings.TrimSpace(x.req.LastUserText())
	if q == "" {
		return noRAG
	}
	if dec := x.routed.decision; p.MinConfidence > 0 && (dec == nil || dec.Confidence < p.MinConfidence) {
		return noRAG
	}
	ctx, cancel := context.WithTimeout(ctx, x.t.StageTimeout)
	type answer struct {
		res rag.Result
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		res, err := p.Retrieve(x.g.withVectorSearcher(ctx), q)
		if err == nil && ctx.Err() != nil {
			err = ctx.Err() // answered, but after the deadline
		}
		ch <- answer{res, err}
	}()
	return func() *Immediate {
		a := <-ch
		gone := clientGone(ctx)
		cancel()
		x.routed.rag = ragOutcome{ran: true, mode: p.Mode, query: q}
		if a.err == nil {
			x.routed.rag.docs = a.res.Docs
			x.g.log.Debug("rag plugin", slog.String("decision", d.Name),
				slog.Int("documents", len(a.res.Docs)), slog.Bool("cached", a.res.Cached))
			return nil
		}
		if gone {
			return nil
		}
		switch p.OnFailure {
		case rag.OnFailureBlock:
			x.g.log.Warn("rag plugin blocked the request", slog.String("decision", d.Name), slog.Any("error", a.err))
			x.routed.path = PathError
			imm := errorResponse(&chatreq.APIError{Status: http.StatusServiceUnavailable, Type: chatreq.TypeServer,
				Code: "rag_unavailable", Message: "the context this route requires could not be retrieved; try again later"})
			imm.Headers = x.appendRouteHeaders(imm.Headers)
			return imm
		case rag.OnFailureSkip:
			x.g.log.Debug("rag plugin skipped", slog.String("decision", d.Name), slog.Any("error", a.err))
		default:
			x.degrade(StageRAG, a.err)
		}
		return nil
	}
}

// applyRAG injects the retrieved passages into a rendered body.
func (x *Exchange) applyRAG(body []byte, changed bool, err error) ([]byte, bool, error) {
	r := &x.routed.rag
	if err != nil || len(r.docs) == 0 || !x.auto {
		return body, changed, err
	}
	out, ch, err := rag.Inject(body, r.mode, r.query, r.docs)
	if err != nil {
		return body, changed, err
	}
	return out, changed || ch, nil
}

// appendRAGHeaders adds x-vsr-rag-documents when the plugin ran.
func (x *Exchange) appendRAGHeaders(h []Header) []Header {
	if !x.routed.rag.ran {
		return h
	}
	return append(h, Header{HeaderRAGDocuments, strconv.Itoa(len(x.routed.rag.docs))})
}
