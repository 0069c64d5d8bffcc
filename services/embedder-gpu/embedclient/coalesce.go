package embedclient

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"connectrpc.com/connect"

	embeddingv1 "github.com/semrouter/semrouter/gen/semrouter/embedding/v1"
)

// WithCoalescing makes concurrent Embed calls for the same model share one
// request: a call waits at most window for others, and a request closes as
// soon as it holds maxTexts texts (match the embedder's --max-batch so the
// server runs it at once). A call with maxTexts texts or more is sent alone,
// and EmbedRequest is never coalesced.
//
// Each caller still gets its own vectors, and its own error: when a merged
// request is refused as INVALID_ARGUMENT (an empty text, say), every call
// in it is re-sent alone. A caller whose context ends while it waits returns
// at once with the context's error, and a merged request carries the latest
// deadline among its calls (none if a call has none), so a hurried caller
// never cuts the others' request short.
//
// It pays off for fast models whose per-text cost is small against the
// round trip (the static glove-sif-100d tier: ~10 µs per text against
// ~100 µs per NATS request); window 0 or maxTexts < 2 turns it off.
func WithCoalescing(window time.Duration, maxTexts int) Option {
	return func(c *Client) {
		if window <= 0 || maxTexts < 2 {
			c.coalesce = nil
			return
		}
		c.coalesce = &coalescer{window: window, maxTexts: maxTexts, pending: map[string]*group{}}
	}
}

type coalescer struct {
	window   time.Duration
	maxTexts int

	mu      sync.Mutex
	pending map[string]*group // by model
}

// group is the request being formed for one model.
type group struct {
	model string
	calls []*call
	texts int
	timer *time.Timer
}

type call struct {
	ctx   context.Context
	texts []string
	done  chan callResult // buffered(1): the sender never blocks on it
}

type callResult struct {
	vecs [][]float32
	err  error
}

// embed queues one call and waits for its share of the merged response.
func (co *coalescer) embed(ctx context.Context, c *Client, model string, texts []string) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, contextError(model, err)
	}
	cl := &call{ctx: ctx, texts: texts, done: make(chan callResult, 1)}
	co.mu.Lock()
	g := co.pending[model]
	if g != nil && g.texts+len(texts) > co.maxTexts {
		co.detach(g) // full: send it, start another
		go co.send(c, g)
		g = nil
	}
	if g == nil {
		g = &group{model: model}
		co.pending[model] = g
		g.timer = time.AfterFunc(co.window, func() {
			co.mu.Lock()
			mine := co.pending[model] == g
			if mine {
				co.detach(g)
			}
			co.mu.Unlock()
			if mine {
				co.send(c, g)
			}
		})
	}
	g.calls = append(g.calls, cl)
	g.texts += len(texts)
	full := g.texts >= co.maxTexts
	if full {
		co.detach(g)
	}
	co.mu.Unlock()
	if full {
		co.send(c, g) // in this goroutine: it waits for the answer anyway
	}
	select {
	case r := <-cl.done:
		return r.vecs, r.err
	case <-ctx.Done():
		return nil, contextError(model, ctx.Err())
	}
}

// detach removes g from the pending map (co.mu held).
func (co *coalescer) detach(g *group) {
	g.timer.Stop()
	delete(co.pending, g.model)
}

// send runs the merged request of g and hands every call its vectors.
func (co *coalescer) send(c *Client, g *group) {
	live := g.calls[:0:0]
	var deadline time.Time // the latest; zero when a call has none
	unbounded := false
	for _, cl := range g.calls {
		if err := cl.ctx.Err(); err != nil {
			cl.done <- callResult{err: contextError(g.model, err)}
			continue
		}
		live = append(live, cl)
		d, ok := cl.ctx.Deadline()
		unbounded = unbounded || !ok
		if ok && d.After(deadline) {
			deadline = d
		}
	}
	if unbounded {
		deadline = time.Time{}
	}
	if len(live) == 0 {
		return
	}
	if len(live) == 1 {
		vecs, err := c.embedOnce(live[0].ctx, g.model, live[0].texts)
		live[0].done <- callResult{vecs: vecs, err: err}
		return
	}
	ctx := context.WithoutCancel(live[0].ctx) // trace context of the first call
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	texts := make([]string, 0, g.texts)
	for _, cl := range live {
		texts = append(texts, cl.texts...)
	}
	vecs, err := c.embedOnce(ctx, g.model, texts)
	if err != nil && connect.CodeOf(err) == connect.CodeInvalidArgument {
		// One call's texts spoil the request: let each call get its own verdict.
		var wg sync.WaitGroup
		for _, cl := range live {
			wg.Go(func() {
				v, err := c.embedOnce(cl.ctx, g.model, cl.texts)
				cl.done <- callResult{vecs: v, err: err}
			})
		}
		wg.Wait()
		return
	}
	for _, cl := range live {
		if err != nil {
			cl.done <- callResult{err: err}
			continue
		}
		cl.done <- callResult{vecs: vecs[:len(cl.texts):len(cl.texts)]}
		vecs = vecs[len(cl.texts):]
	}
}

func contextError(model string, err error) error {
	code := connect.CodeCanceled
	if errors.Is(err, context.DeadlineExceeded) {
		code = connect.CodeDeadlineExceeded
	}
	return connect.NewError(code, fmt.Errorf("embed with %q: %w", model, err))
}

// embedOnce sends one request with the client's defaults.
func (c *Client) embedOnce(ctx context.Context, model string, texts []string) ([][]float32, error) {
	res, err := c.EmbedRequest(ctx, &embeddingv1.EmbedRequest{Model: model, Texts: texts})
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(res.GetEmbeddings()))
	for i, e := range res.GetEmbeddings() {
		out[i] = e.GetValues()
	}
	if len(out) != len(texts) {
		return nil, fmt.Errorf("embed with %q: %d vectors for %d texts", model, len(out), len(texts))
	}
	return out, nil
}
