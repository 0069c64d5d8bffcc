package gateway

import (
	"context"
	"log/slog"
	"slices"

	"github.com/semrouter/semrouter/services/gateway-extproc/toolselect"
)

// StageTools is the degraded stage named when semantic tool selection
// (tools semantic_selection, tool_selection) had to be skipped because the
// embedder was missing, late or failing: the request then keeps its tools
// apart from the name-based steps.
const StageTools = "tools"

// planTools runs the selected decision's tools / tool_selection plugins
// once per request, under the stage deadline; BodyFor applies the result
// to every target's body.
func (x *Exchange) planTools(ctx context.Context) {
	d := x.routed.cfgDecision
	if d == nil || d.Plugins.Tools == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, x.t.StageTimeout)
	defer cancel()
	// An embedder that already failed this request is not waited for
	// again: the semantic steps are skipped at once.
	var emb toolselect.Embedder
	if e := x.g.stages.Embedder; e != nil && !slices.Contains(x.routed.degraded, StageEmbedder) {
		emb = e
	}
	q := toolselect.Query{Text: x.req.LastUserText(), Embedding: x.routed.embedding}
	edit, err := d.Plugins.Tools.Plan(ctx, emb, x.req.Raw(), q)
	if err != nil {
		x.degrade(StageTools, err)
	}
	if edit != nil {
		x.g.log.Debug("tools plugin", slog.String("decision", d.Name),
			slog.Any("kept", edit.Kept), slog.Any("removed", edit.Removed), slog.Any("added", edit.Added))
	}
	x.routed.tools = edit
}

// applyTools applies the planned tools edit to a rendered body.
func (x *Exchange) applyTools(body []byte, changed bool, err error) ([]byte, bool, error) {
	e := x.routed.tools
	if err != nil || !e.Changed() || !x.auto {
		return body, changed, err
	}
	out, ch, err := e.Apply(body)
	if err != nil {
		return body, changed, err
	}
	return out, changed || ch, nil
}
