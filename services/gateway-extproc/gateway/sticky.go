package gateway

import (
	"context"
	"io"
	"log/slog"
	"sync"

	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/looper"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
	"github.com/semrouter/semrouter/services/gateway-extproc/sticky"
)

// HeaderSticky tells what model switch protection did with the request's
// conversation: new, pinned or switched (sticky.Outcome).
const HeaderSticky = "x-vsr-sticky"

// StageSticky is the x-vsr-degraded stage of a request routed without
// stickiness because the pin store failed.
const StageSticky = "sticky"

// maxStickyCandidates is how many candidates stick keeps on the stack.
const maxStickyCandidates = 8

// stick applies model switch protection (global.router.learning
// .protection) once the decision's targets fit the request: when the
// decision has more than one modelRef and is not a multi-call algorithm,
// the conversation's pin (sticky.KeyFor, sticky.Policy.Decide) may put
// its pinned model first; the pin is written back by commitPin (only
// for a request forwarded to a chat model). A named model
// never gets here. A store that fails degrades to the classifier's
// choice, counted and named in x-vsr-degraded.
func (x *Exchange) stick(ctx context.Context) {
	s := &x.t.Sticky
	r := &x.routed
	d := r.cfgDecision
	if !s.Enabled || !x.auto || d == nil || len(d.ModelRefs) < 2 || looper.Handles(d.Algorithm) ||
		r.target.Model == nil || r.decision == nil {
		return
	}
	var buf [maxStickyCandidates]string
	cands := buf[:0]
	for _, t := range r.targets {
		for _, ref := range d.ModelRefs {
			if ref.Model == t.Model.Name {
				cands = append(cands, t.Model.Name)
				break
			}
		}
	}
	if len(cands) == 0 {
		return // only the default model can take it: nothing to keep
	}
	req := x.req
	if x.clientReq != nil {
		req = x.clientReq
	}
	key, _, ok := x.g.sticky.keys.KeyFor(s, &sticky.KeyInput{Header: x.hdr, User: r.cache.id.User, Model: req.Model, Messages: req.Messages,
		Conversation: x.conversation})
	if !ok {
		return
	}
	store := x.g.stickyStoreFor(x.t)
	prev, found, err := store.Get(ctx, key)
	if err != nil {
		if !clientGone(ctx) {
			x.g.metrics.Sticky(d.Name, metrics.StickyStoreError)
			x.degrade(StageSticky, err)
		}
		return
	}
	pol := sticky.Policy{IdleTimeout: s.IdleTimeout, MinTurns: s.MinTurns, SwitchMargin: s.SwitchMargin, StabilityWeight: s.StabilityWeight}
	model, outcome, next := pol.Decide(prev, found, x.g.now(), &sticky.Turn{Decision: d.Name, Choice: r.target.Model.Name,
		Candidates: cands, Scores: r.decision.Scores})
	if model != r.target.Model.Name {
		x.promote(model)
	}
	r.sticky = outcome
	x.pin = &pendingPin{store: store, key: key, next: next, decision: d.Name}
}

// SetConversation names the Responses API conversation the request
// continues or starts (the id of its first response): model switch
// protection keys the request by it, as if the conversation header
// carried it, so that a continuation keeps its pin whatever its
// instructions. API mode calls it before RequestBody.
func (x *Exchange) SetConversation(id string) { x.conversation = id }

// pendingPin is the pin stick decided on, written by commitPin once the
// request is not refused by a rate limit.
type pendingPin struct {
	store    sticky.Store
	key      string
	next     sticky.Pin
	decision string
}

// commitPin writes the pin stick decided on and counts its outcome, only
// when a chat model is called for the request (forwarded: it goes
// upstream, or to a looper run). A request a rate limit refused, or one
// answered without a chat model (cache hit, fast_response, image_gen, a
// rag on_failure: block error), reached no chat model: its pin is
// neither created nor moved, and that turn does not count as a turn of
// the conversation.
func (x *Exchange) commitPin(ctx context.Context, forwarded bool) {
	p := x.pin
	x.pin = nil
	if p == nil || !forwarded || x.routed.path == PathRateLimited {
		return
	}
	x.g.metrics.Sticky(p.decision, x.routed.sticky.String())
	if err := p.store.Put(ctx, p.key, p.next); err != nil && !clientGone(ctx) {
		x.g.metrics.Sticky(p.decision, metrics.StickyStoreError)
		x.g.log.Warn("sticky: write the conversation's pin", slog.String("decision", p.decision), slog.Any("error", err))
	}
}

// promote moves the target serving model to the front of the failover
// order (the others keep their order).
func (x *Exchange) promote(model string) {
	r := &x.routed
	for i, t := range r.targets {
		if t.Model.Name == model {
			copy(r.targets[1:i+1], r.targets[:i])
			r.targets[0] = t
			r.target = t
			return
		}
	}
}

// appendStickyHeader adds x-vsr-sticky when protection ran.
func (x *Exchange) appendStickyHeader(h []Header) []Header {
	if o := x.routed.sticky; o != 0 {
		h = append(h, Header{HeaderSticky, o.String()})
	}
	return h
}

// stickyStores keeps the pin store across config revisions: a new one is
// opened only when global.router.learning.state_store changes.
type stickyStores struct {
	mu    sync.Mutex
	cfg   routes.StickyStore
	store sticky.Store
	keys  sticky.Keyer
}

func (g *Gateway) stickyStoreFor(t *routes.Table) sticky.Store {
	cfg := t.Sticky.Store
	s := &g.sticky
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.store != nil && s.cfg == cfg {
		return s.store
	}
	var st sticky.Store
	if cfg.Backend == routes.StickyBackendRedis {
		rs, err := sticky.NewRedisStore(cfg)
		if err != nil {
			// validation requires an address; keep pins in process
			g.log.Warn("sticky: open the redis store; keeping pins in process", slog.Any("error", err))
			st = sticky.NewMemoryStore(0, cfg.TTL, g.now)
		} else {
			st = rs
		}
	} else {
		st = sticky.NewMemoryStore(0, cfg.TTL, g.now)
	}
	if c, ok := s.store.(io.Closer); ok {
		g.background.Add(1)
		go func() {
			defer g.background.Done()
			_ = c.Close()
		}()
	}
	s.cfg, s.store = cfg, st
	return st
}

var _ io.Closer = (*sticky.RedisStore)(nil)
