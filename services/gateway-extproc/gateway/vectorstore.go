package gateway

import (
	"context"

	"github.com/semrouter/semrouter/services/gateway-extproc/rag"
)

// Embedder is the embedding stage of the gateway (nil when none is
// configured): API mode's vector store embeds uploaded documents with it.
func (g *Gateway) Embedder() Embedder { return g.stages.Embedder }

type vectorSearcherRef struct{ s rag.VectorSearcher }

// SetVectorSearcher names the local vector store that the rag plugin's
// vectorstore backend searches, for requests of every front end (API
// mode sets its store; nil removes it).
func (g *Gateway) SetVectorSearcher(s rag.VectorSearcher) {
	if s == nil {
		g.vsearch.Store(nil)
		return
	}
	g.vsearch.Store(&vectorSearcherRef{s})
}

// withVectorSearcher hands the store to the rag backend through ctx.
func (g *Gateway) withVectorSearcher(ctx context.Context) context.Context {
	if r := g.vsearch.Load(); r != nil {
		return rag.WithVectorSearcher(ctx, r.s)
	}
	return ctx
}
