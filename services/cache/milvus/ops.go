package milvus

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/milvus-io/milvus-sdk-go/v2/client"
	"github.com/milvus-io/milvus-sdk-go/v2/entity"

	"github.com/semrouter/semrouter/services/cache"
)

func quote(s string) string { return strconv.Quote(s) } // digests are hex: no escaping issues

func (b *Backend) entrySize(e *cache.Entry) int64 {
	n := e.SizeBytes()
	if e.Embedding != nil {
		n += int64(b.dim) * 4
	}
	return n
}

// Put upserts e (the row id is its partition and exact fingerprint).
func (b *Backend) Put(ctx context.Context, e *cache.Entry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if e.Embedding != nil && len(e.Embedding) != b.dim {
		return fmt.Errorf("%w: got %d, want %d", cache.ErrDimension, len(e.Embedding), b.dim)
	}
	if err := b.check(ctx); err != nil {
		return err
	}
	size := b.entrySize(e)
	if b.opts.MaxMemoryBytes > 0 && size > b.opts.MaxMemoryBytes {
		return fmt.Errorf("%w: %d bytes, bound %d", cache.ErrTooLarge, size, b.opts.MaxMemoryBytes)
	}
	pl, err := encodePayload(e)
	if err != nil {
		return err
	}
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	if _, err := b.purgeExpired(ctx); err != nil {
		return err
	}
	id := rowID(e.Partition, e.Exact)
	if err := b.makeRoom(ctx, id, size); err != nil {
		return err
	}
	var expires int64
	if t := b.opts.ExpiresAt(e); !t.IsZero() {
		expires = t.UnixNano()
	}
	r := row{id: id, created: e.CreatedAt.UnixNano(), expires: expires, touched: b.opts.Clock.Now().UnixNano(),
		size: size, vec: e.Embedding, hasVec: e.Embedding != nil}
	grp := ""
	if e.Embedding != nil {
		grp = groupKey(e.Partition, e.Context)
	}
	return b.upsert(ctx, r, grp, partKey(e.Partition), decisionKey(e.Partition.Decision), pl)
}

func (b *Backend) upsert(ctx context.Context, r row, grp, part, decision, pl string) error {
	vec := r.vec
	if !r.hasVec {
		vec = make([]float32, b.dim) // the vector field is mandatory; has_vec keeps it out of searches
	}
	octx, cancel := b.op(ctx)
	defer cancel()
	_, err := b.cli.Upsert(octx, b.cfg.Collection, "",
		entity.NewColumnVarChar(fID, []string{r.id}),
		entity.NewColumnVarChar(fGroup, []string{grp}),
		entity.NewColumnVarChar(fPart, []string{part}),
		entity.NewColumnVarChar(fDecision, []string{decision}),
		entity.NewColumnInt64(fCreated, []int64{r.created}),
		entity.NewColumnInt64(fExpires, []int64{r.expires}),
		entity.NewColumnInt64(fTouched, []int64{r.touched}),
		entity.NewColumnInt64(fHits, []int64{r.hits}),
		entity.NewColumnInt64(fSize, []int64{r.size}),
		entity.NewColumnBool(fHasVec, []bool{r.hasVec}),
		entity.NewColumnVarChar(fPayload, []string{pl}),
		entity.NewColumnFloatVector(b.cfg.VectorField, b.dim, [][]float32{vec}),
	)
	if err != nil {
		return fmt.Errorf("milvus: upsert cache entry: %w", err)
	}
	return nil
}

// query reads rows matching expr (at most maxScan).
func (b *Backend) query(ctx context.Context, expr string, fields []string) (client.ResultSet, error) {
	octx, cancel := b.op(ctx)
	defer cancel()
	rs, err := b.cli.Query(octx, b.cfg.Collection, nil, expr, fields,
		client.WithSearchQueryConsistencyLevel(b.cl), client.WithLimit(maxScan))
	if err != nil {
		return nil, fmt.Errorf("milvus: query %q: %w", expr, err)
	}
	return rs, nil
}

func (b *Backend) delete(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = quote(id)
	}
	octx, cancel := b.op(ctx)
	defer cancel()
	if err := b.cli.Delete(octx, b.cfg.Collection, "", fID+" in ["+strings.Join(q, ",")+"]"); err != nil {
		return fmt.Errorf("milvus: delete cache entries: %w", err)
	}
	return nil
}

// rows decodes a result set; with payload it decodes the entries too.
func (b *Backend) rows(rs client.ResultSet, withPayload bool) ([]row, error) {
	ids, _ := rs.GetColumn(fID).(*entity.ColumnVarChar)
	if ids == nil {
		return nil, nil
	}
	i64 := func(name string) []int64 {
		if c, ok := rs.GetColumn(name).(*entity.ColumnInt64); ok {
			return c.Data()
		}
		return nil
	}
	created, expires, touched, hits, sizes := i64(fCreated), i64(fExpires), i64(fTouched), i64(fHits), i64(fSize)
	at := func(v []int64, i int) int64 {
		if i < len(v) {
			return v[i]
		}
		return 0
	}
	out := make([]row, ids.Len())
	for i := range out {
		id, _ := ids.ValueByIdx(i)
		out[i] = row{id: id, created: at(created, i), expires: at(expires, i), touched: at(touched, i),
			hits: at(hits, i), size: at(sizes, i)}
	}
	if !withPayload {
		return out, nil
	}
	pls, _ := rs.GetColumn(fPayload).(*entity.ColumnVarChar)
	hv, _ := rs.GetColumn(fHasVec).(*entity.ColumnBool)
	vecs, _ := rs.GetColumn(b.cfg.VectorField).(*entity.ColumnFloatVector)
	if pls == nil {
		return nil, fmt.Errorf("milvus: result without the %s field", fPayload)
	}
	for i := range out {
		s, _ := pls.ValueByIdx(i)
		e, err := decodePayload(s)
		if err != nil {
			return nil, err
		}
		if hv != nil {
			out[i].hasVec, _ = hv.ValueByIdx(i)
		}
		if out[i].hasVec && vecs != nil && i < len(vecs.Data()) {
			out[i].vec = vecs.Data()[i]
			e.Embedding = out[i].vec
		}
		e.Hits = out[i].hits
		out[i].entry = e
	}
	return out, nil
}

// purgeExpired deletes rows whose expiry (by the injected clock) passed.
func (b *Backend) purgeExpired(ctx context.Context) (int, error) {
	now := b.opts.Clock.Now().UnixNano()
	rs, err := b.query(ctx, fmt.Sprintf("%s > 0 && %s <= %d", fExpires, fExpires, now), []string{fID})
	if err != nil {
		return 0, err
	}
	rows, err := b.rows(rs, false)
	if err != nil {
		return 0, err
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.id
	}
	if err := b.delete(ctx, ids); err != nil {
		return 0, err
	}
	b.expirations.Add(int64(len(ids)))
	return len(ids), nil
}

// makeRoom evicts by the policy until an entry of size bytes (replacing
// row id, if present) fits the bounds.
func (b *Backend) makeRoom(ctx context.Context, id string, size int64) error {
	if b.opts.MaxEntries <= 0 && b.opts.MaxMemoryBytes <= 0 {
		return nil
	}
	rs, err := b.query(ctx, fID+` != ""`, []string{fID, fCreated, fTouched, fHits, fSize})
	if err != nil {
		return err
	}
	rows, err := b.rows(rs, false)
	if err != nil {
		return err
	}
	live := rows[:0]
	var used int64
	for _, r := range rows {
		if r.id == id {
			continue // replaced by this write
		}
		live = append(live, r)
		used += r.size
	}
	sort.Slice(live, func(i, j int) bool { return b.before(live[i], live[j]) })
	var victims []string
	for len(live) > 0 && ((b.opts.MaxEntries > 0 && len(live)+1 > b.opts.MaxEntries) ||
		(b.opts.MaxMemoryBytes > 0 && used+size > b.opts.MaxMemoryBytes)) {
		victims = append(victims, live[0].id)
		used -= live[0].size
		live = live[1:]
	}
	if err := b.delete(ctx, victims); err != nil {
		return err
	}
	b.evictions.Add(int64(len(victims)))
	return nil
}

// before orders rows by eviction priority (first = evicted first).
func (b *Backend) before(x, y row) bool {
	switch b.opts.Eviction {
	case cache.EvictLRU:
		if x.touched != y.touched {
			return x.touched < y.touched
		}
	case cache.EvictLFU:
		if x.hits != y.hits {
			return x.hits < y.hits
		}
		if x.touched != y.touched {
			return x.touched < y.touched
		}
	}
	if x.created != y.created {
		return x.created < y.created
	}
	return x.id < y.id
}

func usable(r row, q cache.Query, now time.Time) bool {
	if r.expires != 0 && now.UnixNano() >= r.expires {
		return false
	}
	return q.MaxAge <= 0 || now.Sub(time.Unix(0, r.created)) <= q.MaxAge
}

// hit returns the hit on r and, unless peek, records it (see use).
func (b *Backend) hit(ctx context.Context, r row, tier cache.Tier, sim float32, peek bool) (cache.Hit, bool, error) {
	if !peek {
		b.countHit(tier)
		r = b.use(ctx, r)
	}
	return cache.Hit{Entry: r.entry, Tier: tier, Similarity: sim}, true, nil
}

func (b *Backend) countHit(tier cache.Tier) {
	b.hits.Add(1)
	if tier == cache.TierExact {
		b.exactHits.Add(1)
	}
}

// use records a use of r: its hits and, for LRU and LFU, its touched
// field (an upsert of the whole row). A failed upsert is logged.
func (b *Backend) use(ctx context.Context, r row) row {
	r.hits++
	r.entry.Hits = r.hits
	if b.opts.Eviction != cache.EvictFIFO {
		r.touched = b.opts.Clock.Now().UnixNano()
		e := r.entry
		pl, err := encodePayload(e)
		if err == nil {
			grp := ""
			if r.hasVec {
				grp = groupKey(e.Partition, e.Context)
			}
			err = b.upsert(ctx, r, grp, partKey(e.Partition), decisionKey(e.Partition.Decision), pl)
		}
		if err != nil {
			b.opts.Logger.Warn("milvus: record cache hit", "error", err)
		}
	}
	return r
}

// Record counts u and records a hit on its row (see cache.Backend).
func (b *Backend) Record(ctx context.Context, u cache.Use) (bool, error) {
	if err := b.check(ctx); err != nil {
		return false, err
	}
	if !u.Hit {
		b.misses.Add(1)
		return false, nil
	}
	b.countHit(u.Tier)
	rs, err := b.query(ctx, fID+" == "+quote(rowID(u.Partition, u.Exact)), b.out)
	if err != nil {
		return false, err
	}
	rows, err := b.rows(rs, true)
	if err != nil || len(rows) == 0 {
		return false, err
	}
	b.use(ctx, rows[0])
	return true, nil
}

// Lookup tries the tiers q.Mode names.
func (b *Backend) Lookup(ctx context.Context, q cache.Query) (cache.Hit, bool, error) {
	if err := b.check(ctx); err != nil {
		return cache.Hit{}, false, err
	}
	if q.Embedding != nil && len(q.Embedding) != b.dim {
		return cache.Hit{}, false, fmt.Errorf("%w: got %d, want %d", cache.ErrDimension, len(q.Embedding), b.dim)
	}
	now := b.opts.Clock.Now()
	if q.Mode != cache.ModeSemantic && !q.Exact.IsZero() {
		rs, err := b.query(ctx, fID+" == "+quote(rowID(q.Partition, q.Exact)), b.out)
		if err != nil {
			return cache.Hit{}, false, err
		}
		rows, err := b.rows(rs, true)
		if err != nil {
			return cache.Hit{}, false, err
		}
		if len(rows) > 0 && usable(rows[0], q, now) {
			return b.hit(ctx, rows[0], cache.TierExact, 1, q.Peek)
		}
	}
	if q.Mode != cache.ModeExact && q.Embedding != nil && !q.Context.IsZero() {
		octx, cancel := b.op(ctx)
		res, err := b.cli.Search(octx, b.cfg.Collection, nil,
			fmt.Sprintf("%s == %s && %s == true", fGroup, quote(groupKey(q.Partition, q.Context)), fHasVec),
			b.out, []entity.Vector{entity.FloatVector(q.Embedding)}, b.cfg.VectorField,
			entity.MetricType(b.cfg.Metric), b.cfg.TopK, b.search, client.WithSearchQueryConsistencyLevel(b.cl))
		cancel()
		if err != nil {
			return cache.Hit{}, false, fmt.Errorf("milvus: search: %w", err)
		}
		for _, sr := range res {
			rows, err := b.rows(sr.Fields, true)
			if err != nil {
				return cache.Hit{}, false, err
			}
			if len(rows) > 0 && rows[0].id == "" {
				// Older servers return the ids outside the fields.
				if ids, ok := sr.IDs.(*entity.ColumnVarChar); ok {
					for i := range rows {
						rows[i].id, _ = ids.ValueByIdx(i)
					}
				}
			}
			for i, r := range rows {
				if i >= len(sr.Scores) {
					break
				}
				sim := sr.Scores[i]
				if sim >= q.Threshold && usable(r, q, now) && r.entry != nil && cache.SameQuestion(q.Text, r.entry.Query) {
					return b.hit(ctx, r, cache.TierSemantic, sim, q.Peek)
				}
			}
		}
	}
	if !q.Peek {
		b.misses.Add(1)
	}
	return cache.Hit{}, false, nil
}

// filterExpr renders an invalidation filter.
func (b *Backend) filterExpr(f cache.InvalidateFilter) string {
	parts := []string{fID + ` != ""`}
	if f.Partition != nil {
		parts = append(parts, fPart+" == "+quote(partKey(*f.Partition)))
	}
	if f.Decision != "" {
		parts = append(parts, fDecision+" == "+quote(decisionKey(f.Decision)))
	}
	if f.OlderThan > 0 {
		parts = append(parts, fmt.Sprintf("%s < %d", fCreated, b.opts.Clock.Now().Add(-f.OlderThan).UnixNano()))
	}
	return strings.Join(parts, " && ")
}

// Invalidate drops (or counts) matching entries.
func (b *Backend) Invalidate(ctx context.Context, f cache.InvalidateFilter) (int, error) {
	if f.IsEmpty() {
		return 0, cache.ErrEmptyFilter
	}
	if err := b.check(ctx); err != nil {
		return 0, err
	}
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	if _, err := b.purgeExpired(ctx); err != nil {
		return 0, err
	}
	rs, err := b.query(ctx, b.filterExpr(f), []string{fID})
	if err != nil {
		return 0, err
	}
	rows, err := b.rows(rs, false)
	if err != nil || f.DryRun {
		return len(rows), err
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.id
	}
	return len(ids), b.delete(ctx, ids)
}

// Flush drops every entry.
func (b *Backend) Flush(ctx context.Context) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	octx, cancel := b.op(ctx)
	defer cancel()
	if err := b.cli.Delete(octx, b.cfg.Collection, "", fID+` != ""`); err != nil {
		return fmt.Errorf("milvus: flush: %w", err)
	}
	return nil
}

// Stats counts the live rows and their bytes; hits, misses, evictions and
// expirations are this process's.
func (b *Backend) Stats(ctx context.Context) (cache.Stats, error) {
	if err := b.check(ctx); err != nil {
		return cache.Stats{}, err
	}
	b.writeMu.Lock()
	_, err := b.purgeExpired(ctx)
	b.writeMu.Unlock()
	if err != nil {
		return cache.Stats{}, err
	}
	rs, err := b.query(ctx, fID+` != ""`, []string{fID, fSize})
	if err != nil {
		return cache.Stats{}, err
	}
	rows, err := b.rows(rs, false)
	if err != nil {
		return cache.Stats{}, err
	}
	s := cache.Stats{Entries: int64(len(rows)), Hits: b.hits.Load(), ExactHits: b.exactHits.Load(),
		Misses: b.misses.Load(), Evictions: b.evictions.Load(), Expirations: b.expirations.Load()}
	for _, r := range rows {
		s.MemoryBytes += r.size
	}
	return s, nil
}
