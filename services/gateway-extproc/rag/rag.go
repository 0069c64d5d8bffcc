// Package rag runs the v0.3 decision plugin `rag` (retrieval-augmented
// generation): it retrieves passages for the request's last user turn from
// a search backend, keeps the relevant ones (similarity_threshold, top_k,
// max_context_length) and injects them into the chat-completions body
// (injection_mode system_prompt or tool_role).
//
// Backends that run are registered in backends (one line each, one file
// each): external_api (an HTTP search service, external.go), openai (an
// OpenAI vector store search, openai.go), hybrid (two of them composed,
// hybrid.go), vectorstore (the router's own vector store, vectorstore.go).
// The others the contract accepts are reported by config
// validation as having no effect; a decision using one gets no Plugin
// (Compile returns nil).
package rag

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/semrouter/semrouter/pkg/config"
)

// Backend names of plugins[type=rag].configuration.backend.
const (
	BackendExternalAPI = "external_api"
	BackendMilvus      = "milvus"
	BackendMCP         = "mcp"
	BackendOpenAI      = "openai"
	BackendVectorStore = "vectorstore"
	BackendHybrid      = "hybrid"
)

// Injection modes (injection_mode).
const (
	InjectSystemPrompt = "system_prompt"
	InjectToolRole     = "tool_role"
)

// Failure policies (on_failure).
const (
	OnFailureWarn  = "warn"
	OnFailureBlock = "block"
	OnFailureSkip  = "skip"
)

// DefaultTopK is top_k when the configuration leaves it 0.
const DefaultTopK = 5

// ErrBackend marks a retrieval that failed (transport, status, response).
var ErrBackend = errors.New("rag backend")

// Document is one retrieved passage.
type Document struct {
	Content  string
	Score    float64
	Metadata map[string]any
}

// Query is what a backend is asked.
type Query struct {
	Text      string
	TopK      int
	Threshold float64
}

// Retriever searches one backend. Implementations return the documents in
// any order; Plugin filters, ranks and caps them.
type Retriever interface {
	Retrieve(ctx context.Context, q Query) ([]Document, error)
}

var _ Retriever = (*ExternalAPI)(nil)

// Options are the process-wide parts a Plugin uses.
type Options struct {
	// Cache is shared by the revision's plugins (nil: cache_results is
	// ignored).
	Cache *Cache
	// HTTP is the client of external_api backends (nil: a new one).
	HTTP HTTPDoer
	// Env looks up api_key_env (nil: os.Getenv).
	Env func(string) string
}

// backendFactory builds a backend's Retriever from its backend_config; a
// nil Retriever with no error means the backend has no effect.
type backendFactory func(bc map[string]any, o Options) (Retriever, error)

// backends are the backends that run, by name.
func backends() map[string]backendFactory {
	return map[string]backendFactory{
		BackendExternalAPI: newExternalAPIBackend,
		BackendOpenAI:      newOpenAIBackend,
		BackendHybrid:      newHybridBackend,
		BackendVectorStore: newVectorStoreBackend,
	}
}

func newExternalAPIBackend(bc map[string]any, o Options) (Retriever, error) {
	e, err := NewExternalAPI(bc, o.HTTP)
	if err != nil {
		return nil, err
	}
	return e, nil
}

func newOpenAIBackend(bc map[string]any, o Options) (Retriever, error) {
	v, err := NewOpenAIVectorStore(bc, o.HTTP, o.Env)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// identityOf names what r answers, for the result cache key.
func identityOf(r Retriever) string {
	if i, ok := r.(interface{ identity() string }); ok {
		return i.identity()
	}
	return fmt.Sprintf("%T %p", r, r)
}

// forcedMode is the injection mode a backend imposes ("" none; openai's
// workflow_mode tool_based imposes tool_role).
func forcedMode(r Retriever) string {
	if m, ok := r.(interface{ injectionMode() string }); ok {
		return m.injectionMode()
	}
	return ""
}

// Plugin is a compiled rag plugin, immutable and safe for concurrent use.
type Plugin struct {
	Mode          string
	OnFailure     string
	TopK          int
	Threshold     float64
	MinConfidence float64
	// MaxChars caps the injected passage text, in characters (runes);
	// 0: no cap.
	MaxChars int
	CacheTTL time.Duration // 0: results are not cached

	backend Retriever
	cacheID string
	cache   *Cache
}

// Compile turns the configuration into a Plugin. It returns nil, nil when
// the plugin is disabled or its backend has no effect in semrouter
// (validation warns about those).
func Compile(c *config.RAGPlugin, o Options) (*Plugin, error) {
	if c == nil || !c.Enabled {
		return nil, nil
	}
	p := &Plugin{Mode: c.InjectionMode, OnFailure: c.OnFailure, TopK: c.TopK, Threshold: c.SimilarityThreshold,
		MinConfidence: c.MinConfidenceThreshold, MaxChars: c.MaxContextLength}
	if p.Mode == "" {
		p.Mode = InjectSystemPrompt
	}
	if p.OnFailure == "" {
		p.OnFailure = OnFailureWarn
	}
	if p.TopK <= 0 {
		p.TopK = DefaultTopK
	}
	switch p.Mode {
	case InjectSystemPrompt, InjectToolRole:
	default:
		return nil, fmt.Errorf("injection_mode: unknown mode %q", p.Mode)
	}
	switch p.OnFailure {
	case OnFailureWarn, OnFailureBlock, OnFailureSkip:
	default:
		return nil, fmt.Errorf("on_failure: unknown policy %q", p.OnFailure)
	}
	build, ok := backends()[c.Backend]
	if !ok {
		return nil, nil
	}
	b, err := build(c.BackendConfig, o)
	if err != nil {
		return nil, fmt.Errorf("backend_config: %w", err)
	}
	if b == nil {
		return nil, nil
	}
	p.backend = b
	// top_k and the threshold are part of the search request.
	p.cacheID = fmt.Sprintf("%s\x00%s\x00%d\x00%g", c.Backend, identityOf(b), p.TopK, p.Threshold)
	if m := forcedMode(b); m != "" {
		p.Mode = m
	}
	if c.CacheResults && o.Cache != nil {
		p.cache = o.Cache
		p.CacheTTL = time.Duration(c.CacheTTLSeconds) * time.Second
		if p.CacheTTL <= 0 {
			p.CacheTTL = DefaultCacheTTL
		}
	}
	return p, nil
}

// NewPlugin builds a Plugin around any Retriever (tests, benchmarks, other
// embedders of the package). Zero fields take Compile's defaults.
func NewPlugin(p Plugin, r Retriever, cache *Cache, cacheID string) *Plugin {
	q := p
	if q.Mode == "" {
		q.Mode = InjectSystemPrompt
	}
	if q.OnFailure == "" {
		q.OnFailure = OnFailureWarn
	}
	if q.TopK <= 0 {
		q.TopK = DefaultTopK
	}
	q.backend, q.cache, q.cacheID = r, cache, cacheID
	if cache != nil && q.CacheTTL <= 0 {
		q.CacheTTL = DefaultCacheTTL
	}
	return &q
}

// Result is a retrieval outcome.
type Result struct {
	Docs []Document
	// Cached: the backend was not asked (a cache hit).
	Cached bool
}

// Retrieve asks the backend (or the cache) for the query's passages and
// returns the ones to inject: score ≥ similarity_threshold, best first, at
// most top_k, their text capped to max_context_length characters.
func (p *Plugin) Retrieve(ctx context.Context, query string) (Result, error) {
	q := Query{Text: query, TopK: p.TopK, Threshold: p.Threshold}
	key := p.cacheID + "\x00" + query
	if p.cache != nil {
		if docs, ok := p.cache.Get(key); ok {
			return Result{Docs: p.Select(docs), Cached: true}, nil
		}
	}
	docs, err := p.backend.Retrieve(ctx, q)
	if err != nil {
		return Result{}, err
	}
	if p.cache != nil {
		p.cache.Put(key, docs, p.CacheTTL)
	}
	return Result{Docs: p.Select(docs)}, nil
}

// Select filters, ranks and caps docs (which it does not modify).
func (p *Plugin) Select(docs []Document) []Document {
	out := make([]Document, 0, min(len(docs), p.TopK))
	for _, d := range docs {
		if d.Score >= p.Threshold && strings.TrimSpace(d.Content) != "" {
			out = append(out, d)
		}
	}
	// Stable insertion sort, best score first: top_k lists are short.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Score > out[j-1].Score; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	if len(out) > p.TopK {
		out = out[:p.TopK]
	}
	if p.MaxChars <= 0 {
		return out
	}
	left := p.MaxChars
	for i := range out {
		n := utf8.RuneCountInString(out[i].Content)
		if n <= left {
			left -= n
			continue
		}
		if left == 0 {
			return out[:i]
		}
		out[i].Content = truncateRunes(out[i].Content, left)
		return out[:i+1]
	}
	return out
}

func truncateRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
