package rag

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Hybrid strategies (backend_config.strategy of backend hybrid).
const (
	// StrategyFallback (default): the fallback is asked only when the
	// primary fails or returns no usable passage.
	StrategyFallback = "fallback"
	// StrategySequential: the primary first; the fallback also when the
	// primary returns fewer than top_k usable passages (both lists are
	// then merged as for parallel).
	StrategySequential = "sequential"
	// StrategyParallel: both at once; results merged.
	StrategyParallel = "parallel"
)

// Hybrid composes two backends. A usable passage has non-empty text and
// a score ≥ similarity_threshold. Merged results are deduplicated (same
// metadata id, or the same text ignoring case and spacing; the better
// score stays, the primary's on a tie), ranked by score and cut to top_k.
// One backend failing is not a failure while the other answers; both
// failing is (the errors joined).
type Hybrid struct {
	Primary, Fallback         Retriever
	PrimaryName, FallbackName string
	Strategy                  string
	id                        string
}

var _ Retriever = (*Hybrid)(nil)

// newHybridBackend reads backend_config of backend hybrid: primary and
// fallback name backends (their backend_config in primary_config and
// fallback_config), strategy one of fallback, sequential, parallel. A
// side that does not run here (a backend semrouter does not implement, or
// a *_config it cannot use; validation warns about both) is left out and
// the other runs alone; with neither, the plugin has no effect (nil).
func newHybridBackend(bc map[string]any, o Options) (Retriever, error) {
	name := func(k string) (string, error) {
		s, ok := bc[k].(string)
		if !ok || strings.TrimSpace(s) == "" {
			return "", fmt.Errorf("%s: required for backend hybrid (a backend name)", k)
		}
		s = strings.TrimSpace(s)
		if s == BackendHybrid {
			return "", fmt.Errorf("%s: a hybrid backend cannot contain another", k)
		}
		return s, nil
	}
	pn, perr := name("primary")
	fn, ferr := name("fallback")
	strategy, _ := bc["strategy"].(string)
	switch strategy = strings.TrimSpace(strategy); strategy {
	case "":
		strategy = StrategyFallback
	case StrategyFallback, StrategySequential, StrategyParallel:
	default:
		return nil, errors.Join(perr, ferr, fmt.Errorf("strategy: %q is not fallback, sequential or parallel", strategy))
	}
	if err := errors.Join(perr, ferr); err != nil {
		return nil, err
	}
	side := func(n, k string) Retriever {
		build, ok := backends()[n]
		if !ok {
			return nil
		}
		sub, _ := bc[k].(map[string]any)
		r, err := build(sub, o)
		if err != nil {
			return nil
		}
		return r
	}
	p, f := side(pn, "primary_config"), side(fn, "fallback_config")
	switch {
	case p == nil && f == nil:
		return nil, nil
	case p == nil:
		return f, nil
	case f == nil:
		return p, nil
	}
	h := &Hybrid{Primary: p, Fallback: f, PrimaryName: pn, FallbackName: fn, Strategy: strategy}
	h.id = strategy + "\x00" + pn + "\x00" + identityOf(p) + "\x00" + fn + "\x00" + identityOf(f)
	return h, nil
}

func (h *Hybrid) identity() string { return h.id }

// injectionMode is the mode a side imposes (openai's tool_based).
func (h *Hybrid) injectionMode() string {
	if m := forcedMode(h.Primary); m != "" {
		return m
	}
	return forcedMode(h.Fallback)
}

// Retrieve implements Retriever.
func (h *Hybrid) Retrieve(ctx context.Context, q Query) ([]Document, error) {
	if h.Strategy == StrategyParallel {
		return h.parallel(ctx, q)
	}
	pd, perr := h.Primary.Retrieve(ctx, q)
	if perr == nil {
		n := usable(pd, q.Threshold)
		if n > 0 && (h.Strategy == StrategyFallback || n >= q.TopK) {
			return pd, nil
		}
	}
	if ctx.Err() != nil {
		return nil, errors.Join(wrapSide(h.PrimaryName, perr), ctx.Err())
	}
	fd, ferr := h.Fallback.Retrieve(ctx, q)
	switch {
	case perr != nil && ferr != nil:
		return nil, errors.Join(wrapSide(h.PrimaryName, perr), wrapSide(h.FallbackName, ferr))
	case ferr != nil:
		return pd, nil // the primary answered, with too little
	case perr != nil:
		return fd, nil
	}
	return Merge(q.TopK, q.Threshold, pd, fd), nil
}

func (h *Hybrid) parallel(ctx context.Context, q Query) ([]Document, error) {
	type answer struct {
		docs []Document
		err  error
	}
	ch := make(chan answer, 1)
	go func() {
		d, err := h.Fallback.Retrieve(ctx, q)
		ch <- answer{d, err}
	}()
	pd, perr := h.Primary.Retrieve(ctx, q)
	fa := <-ch
	switch {
	case perr != nil && fa.err != nil:
		return nil, errors.Join(wrapSide(h.PrimaryName, perr), wrapSide(h.FallbackName, fa.err))
	case perr != nil:
		return fa.docs, nil
	case fa.err != nil:
		return pd, nil
	}
	return Merge(q.TopK, q.Threshold, pd, fa.docs), nil
}

func wrapSide(name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("hybrid %s: %w", name, err)
}

// usable counts the passages with text and a score ≥ threshold.
func usable(docs []Document, threshold float64) int {
	n := 0
	for _, d := range docs {
		if d.Score >= threshold && strings.TrimSpace(d.Content) != "" {
			n++
		}
	}
	return n
}

// Merge combines result lists (earlier lists win ties): usable passages
// only, deduplicated (see dedupeKey) keeping the better score, best first,
// at most topK (0: all).
func Merge(topK int, threshold float64, lists ...[]Document) []Document {
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	out := make([]Document, 0, n)
	seen := make(map[uint64]int, n)
	var h maphash.Hash
	for _, l := range lists {
		for _, d := range l {
			if d.Score < threshold || strings.TrimSpace(d.Content) == "" {
				continue
			}
			k := dedupeKey(&h, d)
			if i, ok := seen[k]; ok {
				if d.Score > out[i].Score {
					out[i] = d
				}
				continue
			}
			seen[k] = len(out)
			out = append(out, d)
		}
	}
	// Stable insertion sort, best first: the lists are short.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Score > out[j-1].Score; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	if topK > 0 && len(out) > topK {
		out = out[:topK]
	}
	return out
}

// dedupeKey identifies a passage: a hash of its metadata "id" when it has
// a non-empty one, else of its text lower-cased with runs of white space
// collapsed (64 bits: a collision among one request's passages is
// negligible).
func dedupeKey(h *maphash.Hash, d Document) uint64 {
	h.Reset()
	if id, ok := d.Metadata["id"]; ok && id != nil {
		if s := fmt.Sprint(id); s != "" {
			_ = h.WriteByte('i')
			_, _ = h.WriteString(s)
			return h.Sum64()
		}
	}
	_ = h.WriteByte('t')
	space, started := false, false
	s := d.Content
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' {
				space = true
				continue
			}
			if space && started {
				_ = h.WriteByte(' ')
			}
			space, started = false, true
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			_ = h.WriteByte(c)
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space && started {
			_ = h.WriteByte(' ')
		}
		space, started = false, true
		var buf [utf8.UTFMax]byte
		_, _ = h.Write(utf8.AppendRune(buf[:0], unicode.ToLower(r)))
	}
	return h.Sum64()
}
