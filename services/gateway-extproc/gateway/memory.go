package gateway

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/semrouter/semrouter/services/gateway-extproc/memory"
	"github.com/semrouter/semrouter/services/gateway-extproc/rag"
)

// StageMemory is the degraded stage named when the memory store could not
// be read in time: the request goes on without memories.
const StageMemory = "memory"

// HeaderMemory is the number of memories injected (sent whenever the
// memory plugin ran for the request, degraded included).
const HeaderMemory = "x-vsr-memory"

// memoryOutcome is what the memory plugin did for this request.
type memoryOutcome struct {
	ran     bool
	entries []memory.Entry
}

// memoryStores keeps the memory store across config revisions: a new
// store is opened only when global.stores.memory changes.
type memoryStores struct {
	mu    sync.Mutex
	cfg   memory.StoreConfig
	store memory.Store
}

func (m *memoryStores) get(cfg memory.StoreConfig) (memory.Store, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.store != nil && m.cfg == cfg {
		return m.store, nil
	}
	s, err := memory.Open(cfg)
	if err != nil {
		return nil, err
	}
	if c, ok := m.store.(io.Closer); ok {
		_ = c.Close()
	}
	m.cfg, m.store = cfg, s
	return s, nil
}

// MemoryStore returns the memory store of the active routes (nil when no
// decision runs the memory plugin). Operators use it to forget a user.
func (g *Gateway) MemoryStore() (memory.Store, error) {
	t := g.table.Load()
	if !t.MemoryOn() {
		return nil, nil
	}
	return g.mem.get(t.Memory)
}

// memoryPlugin returns the selected decision's memory plugin and the
// trusted user when memory applies to this request: an auto request of
// a known user whose decision and model memory is not disabled for.
func (x *Exchange) memoryPlugin() (*memory.Plugin, string) {
	d := x.routed.cfgDecision
	if d == nil || d.Plugins.Memory == nil || !x.auto {
		return nil, ""
	}
	user := x.routed.cache.id.User
	if user == "" {
		return nil, ""
	}
	model := ""
	if m := x.routed.target.Model; m != nil {
		model = m.Name
	}
	if d.Plugins.Memory.Disabled(d.Name, model) {
		return nil, ""
	}
	return d.Plugins.Memory, user
}

func noMemory() {}

// startMemory reads the user's memories under the stage deadline in its
// own goroutine; the returned wait collects them (degrading on error).
func (x *Exchange) startMemory(ctx context.Context) (wait func()) {
	p, user := x.memoryPlugin()
	if p == nil || len(x.routed.embedding) == 0 {
		return noMemory
	}
	store, err := x.g.mem.get(x.t.Memory)
	if err != nil {
		x.routed.memory.ran = true
		x.degrade(StageMemory, err)
		return noMemory
	}
	ctx, cancel := context.WithTimeout(ctx, x.t.StageTimeout)
	type answer struct {
		es  []memory.Entry
		err error
	}
	ch := make(chan answer, 1)
	q, now := x.routed.embedding, x.g.now()
	go func() {
		es, err := store.List(ctx, user)
		if err == nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		if err != nil {
			ch <- answer{nil, err}
			return
		}
		ch <- answer{p.Select(es, q, now), nil}
	}()
	return func() {
		a := <-ch
		gone := clientGone(ctx)
		cancel()
		x.routed.memory.ran = true
		if a.err != nil {
			if !gone {
				x.degrade(StageMemory, a.err)
			}
			return
		}
		x.routed.memory.entries = a.es
	}
}

// applyMemory injects the retrieved memories as a system block.
func (x *Exchange) applyMemory(body []byte, changed bool, err error) ([]byte, bool, error) {
	es := x.routed.memory.entries
	if err != nil || len(es) == 0 || !x.auto {
		return body, changed, err
	}
	out, ch, err := rag.InjectSystemBlock(body, memory.Format(es))
	if err != nil {
		return body, changed, err
	}
	return out, changed || ch, nil
}

// appendMemoryHeader adds x-vsr-memory when the plugin ran.
func (x *Exchange) appendMemoryHeader(h []Header) []Header {
	if !x.routed.memory.ran {
		return h
	}
	return append(h, Header{HeaderMemory, memory.Count(len(x.routed.memory.entries))})
}

// storeMemory stores the facts of the user's turn after a successful
// answer (auto_store), in the background: it never delays the response.
func (x *Exchange) storeMemory(ctx context.Context) {
	p, user := x.memoryPlugin()
	if p == nil || !p.AutoStore {
		return
	}
	text := strings.TrimSpace(x.req.LastUserText())
	facts := memory.ExtractFacts(text)
	if facts == "" || p.Blocked(text) {
		return
	}
	store, err := x.g.mem.get(x.t.Memory)
	if err != nil {
		return
	}
	turnEmb, emb := x.routed.embedding, x.g.stages.Embedder
	now := x.g.now()
	x.g.background.Add(1)
	go func() {
		defer x.g.background.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
		defer cancel()
		vec := turnEmb
		if facts != text && emb != nil {
			if vs, err := emb.Embed(ctx, []string{facts}); err == nil && len(vs) == 1 && len(vs[0]) > 0 {
				vec = vs[0]
			}
		}
		existing, err := store.List(ctx, user)
		if err != nil {
			x.g.log.Warn("memory store", slog.Any("error", err))
			return
		}
		e := p.Candidate(existing, facts, vec, now)
		if e == nil {
			return
		}
		if err := store.Add(ctx, user, *e, p.MaxEntries); err != nil {
			x.g.log.Warn("memory store", slog.Any("error", err))
		}
	}()
}
