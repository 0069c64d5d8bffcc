package toolselect

import (
	"context"
	"errors"
	"fmt"

	"github.com/semrouter/semrouter/pkg/config"
)

// tools plugin modes.
const (
	ModePassthrough = "passthrough"
	ModeFiltered    = "filtered"
	ModeNone        = "none"
)

// tool_selection plugin modes.
const (
	SelectAdd    = "add"
	SelectFilter = "filter"
)

// DefaultTopK is how many database tools mode add adds at most when top_k
// is 0.
const DefaultTopK = 5

// SemanticKeep is how many tools the tools plugin's semantic_selection
// keeps: the ones most similar to the query.
const SemanticKeep = 5

// Embedder turns texts into embeddings (the gateway's embed stage).
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// ErrNoEmbedder is the degradation reason when semantic selection is
// configured but the gateway has no embedder.
var ErrNoEmbedder = errors.New("no embedder for semantic tool selection")

// ToolsRule is the compiled tools plugin.
type ToolsRule struct {
	// Mode is ModePassthrough (also for ""), ModeFiltered or ModeNone.
	Mode         string
	Allow, Block nameSet
	// Semantic keeps the SemanticKeep tools most similar to the query
	// (mode filtered).
	Semantic     bool
	StripHistory bool
}

// SelectionRule is the compiled tool_selection plugin.
type SelectionRule struct {
	// Mode is SelectAdd or SelectFilter.
	Mode                string
	TopK                int
	SimilarityThreshold float64
	RelevanceThreshold  float64
	PreserveCount       int
	FallbackToEmpty     bool
	// Advanced is nil unless advanced_filtering.enabled.
	Advanced *Advanced
	// DB is the tools database of mode add.
	DB *DB
}

// Advanced is the compiled advanced_filtering block: candidates are the
// CandidatePool tools most similar to the query; each is scored by a
// weighted mean of embedding similarity and lexical, tag, name and
// category overlap with the query, and must reach MinCombined and share
// MinLexicalOverlap words with it.
type Advanced struct {
	CandidatePool     int
	MinCombined       float64
	MinLexicalOverlap int
	Weights           Weights
	Allow, Block      nameSet
}

// Weights weigh the parts of the combined score.
type Weights struct {
	Embed, Lexical, Tag, Name, Category float64
}

// DefaultWeights apply when advanced_filtering.weights is empty.
func DefaultWeights() Weights { return Weights{Embed: 0.7, Lexical: 0.3} }

// Policy is the compiled tools handling of one decision.
type Policy struct {
	Tools     *ToolsRule
	Selection *SelectionRule
	cache     *Cache
}

// New compiles the tools and tool_selection plugins of a decision (either
// may be nil or disabled); it returns nil when neither acts. db is the
// loaded tools_db_path of a mode add tool_selection. cache holds the
// request-tool embeddings of the revision (shared by its decisions).
func New(tp *config.ToolsPlugin, sp *config.ToolSelectionPlugin, db *DB, cache *Cache) *Policy {
	p := &Policy{cache: cache}
	if tp != nil && tp.Enabled {
		mode := tp.Mode
		if mode == "" {
			mode = ModePassthrough
		}
		p.Tools = &ToolsRule{Mode: mode, Allow: newNameSet(tp.AllowTools), Block: newNameSet(tp.BlockTools),
			Semantic: tp.SemanticSelection, StripHistory: tp.StripToolHistory}
	}
	if sp != nil && sp.Enabled {
		s := &SelectionRule{Mode: SelectionMode(sp), TopK: sp.TopK, SimilarityThreshold: sp.SimilarityThreshold,
			RelevanceThreshold: sp.RelevanceThreshold, PreserveCount: sp.PreserveCount,
			FallbackToEmpty: sp.FallbackToEmpty, DB: db}
		if s.TopK <= 0 {
			s.TopK = DefaultTopK
		}
		if af := sp.AdvancedFiltering; af != nil && af.Enabled {
			s.Advanced = &Advanced{CandidatePool: af.CandidatePoolSize, MinCombined: af.MinCombinedScore,
				MinLexicalOverlap: af.MinLexicalOverlap, Weights: weightsFrom(af.Weights),
				Allow: newNameSet(af.AllowTools), Block: newNameSet(af.BlockTools)}
		}
		if s.Mode == SelectAdd && s.DB == nil {
			s = nil // nothing to add from
		}
		p.Selection = s
	}
	if p.Tools == nil && p.Selection == nil {
		return nil
	}
	if p.cache == nil {
		p.cache = NewCache(0)
	}
	return p
}

// SelectionMode is the effective mode of a tool_selection plugin: its
// mode, or add when it names a tools database and filter otherwise.
func SelectionMode(sp *config.ToolSelectionPlugin) string {
	switch {
	case sp.Mode != "":
		return sp.Mode
	case sp.ToolsDBPath != "":
		return SelectAdd
	default:
		return SelectFilter
	}
}

func weightsFrom(m map[string]float64) Weights {
	if len(m) == 0 {
		return DefaultWeights()
	}
	return Weights{Embed: m["embed"], Lexical: m["lexical"], Tag: m["tag"], Name: m["name"], Category: m["category"]}
}

// Semantic reports whether the policy may need the query embedding.
func (p *Policy) Semantic() bool {
	if p == nil {
		return false
	}
	return (p.Tools != nil && p.Tools.Mode == ModeFiltered && p.Tools.Semantic) || p.Selection != nil
}

// Query is the user turn tools are matched against.
type Query struct {
	Text string
	// Embedding is the gateway's embedding of Text (nil: Plan embeds it).
	Embedding []float32
}

// Plan decides the request's tools. The Edit is nil when nothing changes.
// A non-nil error says the semantic steps were skipped (the embedder is
// missing, late or failing): the Edit then holds only the name-based
// steps, and the request keeps its tools otherwise.
func (p *Policy) Plan(ctx context.Context, emb Embedder, body []byte, q Query) (*Edit, error) {
	orig := requestTools(body)
	tools := orig
	e := &Edit{}
	if t := p.Tools; t != nil {
		e.stripHistory = t.StripHistory
		switch t.Mode {
		case ModeNone:
			e.removeAll = true
			return e.finish(body, orig, nil), nil
		case ModeFiltered:
			tools = byName(tools, t.Allow, t.Block)
		}
	}
	s := p.Selection
	semTools := p.Tools != nil && p.Tools.Mode == ModeFiltered && p.Tools.Semantic && len(tools) > SemanticKeep
	semFilter := s != nil && s.Mode == SelectFilter && len(tools) > 0
	semAdd := s != nil && s.Mode == SelectAdd && len(s.DB.Tools) > 0
	if !semTools && !semFilter && !semAdd {
		return e.finish(body, orig, tools), nil
	}
	m, err := p.match(ctx, emb, q, tools, semAdd)
	if err != nil {
		return e.finish(body, orig, tools), err
	}
	if semTools {
		tools, m.vecs = keepTop(tools, m.vecs, m.query, SemanticKeep)
	}
	if semFilter {
		tools = s.filter(tools, m)
	}
	if semAdd {
		tools = s.add(tools, m, p.Tools)
	}
	return e.finish(body, orig, tools), nil
}

// matchInput holds the embeddings of one Plan.
type matchInput struct {
	text   string
	query  []float32
	vecs   [][]float32 // of the request's (remaining) tools
	dbVecs [][]float32
}

// match embeds the query (unless given) and the uncached tools in one
// embedder call, and fetches the database embeddings when needed.
func (p *Policy) match(ctx context.Context, emb Embedder, q Query, tools []Tool, withDB bool) (*matchInput, error) {
	if emb == nil {
		return nil, ErrNoEmbedder
	}
	m := &matchInput{text: q.Text, query: q.Embedding, vecs: make([][]float32, len(tools))}
	keys := make([]uint64, len(tools))
	missing := p.cache.lookup(tools, m.vecs, keys)
	texts := make([]string, 0, len(missing)+1)
	if m.query == nil {
		if q.Text == "" {
			return nil, errors.New("no user text to match tools against")
		}
		texts = append(texts, q.Text)
	}
	for _, i := range missing {
		texts = append(texts, tools[i].text())
	}
	if len(texts) > 0 {
		got, err := emb.Embed(ctx, texts)
		if err == nil && len(got) != len(texts) {
			err = fmt.Errorf("embedder returned %d vectors for %d texts", len(got), len(texts))
		}
		if err != nil {
			return nil, fmt.Errorf("embed tools: %w", err)
		}
		if m.query == nil {
			m.query, got = got[0], got[1:]
		}
		for j, i := range missing {
			m.vecs[i] = got[j]
			p.cache.put(keys[i], got[j])
		}
	}
	if withDB {
		v, err := p.Selection.DB.embeddings(ctx, emb)
		if err != nil {
			return nil, err
		}
		m.dbVecs = v
	}
	return m, nil
}

// byName keeps the tools allowed (every tool when allow is empty) and not
// blocked; block wins.
func byName(tools []Tool, allow, block nameSet) []Tool {
	if allow == nil && block == nil {
		return tools
	}
	out := make([]Tool, 0, len(tools))
	for _, t := range tools {
		if (allow == nil || allow.has(t.Name)) && !block.has(t.Name) {
			out = append(out, t)
		}
	}
	return out
}
