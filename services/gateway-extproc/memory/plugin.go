package memory

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults of the plugin's optional fields.
const (
	DefaultRetrievalLimit      = 5
	DefaultSimilarityThreshold = 0.6
	DefaultDedupThreshold      = 0.9
	DefaultMaxInjectTokens     = 256
	// BytesPerToken converts max_inject_tokens into a byte budget.
	BytesPerToken = 4
	// MaxMemoryBytes caps the text of one stored memory.
	MaxMemoryBytes = 512
	// SourceUserTurn marks memories taken from a user's message.
	SourceUserTurn = "user_turn"
)

// Plugin is a decision's compiled memory plugin bound to the store.
type Plugin struct {
	Store          Store
	RetrievalLimit int
	Threshold      float32
	AutoStore      bool
	// HalfLife is the recency half-life (reflection.algorithm
	// recency_semantic, recency_decay_days); 0: similarity only.
	HalfLife       time.Duration
	DedupThreshold float32
	MaxInjectBytes int
	Block          []*regexp.Regexp
	MaxEntries     int
	// DisabledRoutes / DisabledModels (global block): decision names and
	// model names for which memory is neither read nor written.
	DisabledRoutes map[string]bool
	DisabledModels map[string]bool

	seq atomic.Uint64
}

// Settings are the plugin fields (config.MemoryPlugin, reflection
// merged) as the gateway compiles them.
type Settings struct {
	RetrievalLimit      int
	SimilarityThreshold float64
	AutoStore           bool
	RecencySemantic     bool
	RecencyDecayDays    int
	DedupThreshold      float64
	MaxInjectTokens     int
	BlockPatterns       []string
}

// NewPlugin compiles s; block patterns are case-insensitive regular
// expressions (a plain phrase such as "api key" matches itself).
func NewPlugin(store Store, s Settings) (*Plugin, error) {
	p := &Plugin{Store: store, RetrievalLimit: s.RetrievalLimit, Threshold: float32(s.SimilarityThreshold),
		AutoStore: s.AutoStore, DedupThreshold: float32(s.DedupThreshold), MaxEntries: DefaultMaxEntries}
	if p.RetrievalLimit <= 0 {
		p.RetrievalLimit = DefaultRetrievalLimit
	}
	if s.SimilarityThreshold <= 0 {
		p.Threshold = DefaultSimilarityThreshold
	}
	if s.DedupThreshold <= 0 {
		p.DedupThreshold = DefaultDedupThreshold
	}
	tokens := s.MaxInjectTokens
	if tokens <= 0 {
		tokens = DefaultMaxInjectTokens
	}
	p.MaxInjectBytes = tokens * BytesPerToken
	if s.RecencySemantic {
		days := s.RecencyDecayDays
		if days <= 0 {
			days = 30
		}
		p.HalfLife = time.Duration(days) * 24 * time.Hour
	}
	for i, bp := range s.BlockPatterns {
		re, err := regexp.Compile("(?i)" + bp)
		if err != nil {
			return nil, fmt.Errorf("reflection.block_patterns[%d]: %w", i, err)
		}
		p.Block = append(p.Block, re)
	}
	return p, nil
}

// Blocked reports whether text matches a block pattern.
func (p *Plugin) Blocked(text string) bool {
	for _, re := range p.Block {
		if re.MatchString(text) {
			return true
		}
	}
	return false
}

// Disabled reports whether memory is off for this decision or model.
func (p *Plugin) Disabled(decision, model string) bool {
	return p.DisabledRoutes[decision] || p.DisabledModels[model]
}

// Cosine is the cosine similarity of a and b (0 when lengths differ).
func Cosine(a, b []float32) float32 {
	if len(a) != len(b) || len(a) == 0 {
		return 0
	}
	var dot, na, nb float32
	for i := range a {
		dot += a[i] * b[i]
		na += a[i] * a[i]
		nb += b[i] * b[i]
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / float32(math.Sqrt(float64(na)*float64(nb)))
}

type scored struct {
	e     *Entry
	cos   float32
	score float32
}

// Select picks the memories to inject for query embedding q at now:
// entries with cosine ≥ Threshold, ranked by cosine times the recency
// factor 0.5^(age/HalfLife) when HalfLife is set, skipping block-pattern
// matches and entries whose cosine to an already picked one is ≥
// DedupThreshold, up to RetrievalLimit entries and MaxInjectBytes of text.
func (p *Plugin) Select(entries []Entry, q []float32, now time.Time) []Entry {
	cands := make([]scored, 0, 8)
	for i := range entries {
		e := &entries[i]
		c := Cosine(q, e.Embedding)
		if c < p.Threshold {
			continue
		}
		s := c
		if p.HalfLife > 0 {
			age := now.Sub(e.CreatedAt)
			if age > 0 {
				s *= float32(math.Exp2(-float64(age) / float64(p.HalfLife)))
			}
		}
		cands = append(cands, scored{e, c, s})
	}
	slices.SortFunc(cands, func(a, b scored) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		return strings.Compare(b.e.ID, a.e.ID) // newer first on ties
	})
	var out []Entry
	budget := p.MaxInjectBytes
	for _, c := range cands {
		if len(out) >= p.RetrievalLimit {
			break
		}
		if len(c.e.Text) > budget || p.Blocked(c.e.Text) {
			continue
		}
		dup := false
		for j := range out {
			if Cosine(out[j].Embedding, c.e.Embedding) >= p.DedupThreshold {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		budget -= len(c.e.Text)
		out = append(out, *c.e)
	}
	return out
}

// Retrieve lists user's memories and selects those for q.
func (p *Plugin) Retrieve(ctx context.Context, user string, q []float32, now time.Time) ([]Entry, error) {
	es, err := p.Store.List(ctx, user)
	if err != nil {
		return nil, err
	}
	return p.Select(es, q, now), nil
}

// Format renders the memories as the system block the gateway injects.
func Format(es []Entry) string {
	var b strings.Builder
	b.WriteString("<user_memory>\nThings this user told you in earlier conversations (use them when relevant; do not mention this list):\n")
	for _, e := range es {
		b.WriteString("- ")
		b.WriteString(strings.ReplaceAll(strings.TrimSpace(e.Text), "\n", " "))
		b.WriteByte('\n')
	}
	b.WriteString("</user_memory>")
	return b.String()
}

// NewID returns an entry id ordered by creation time.
func (p *Plugin) NewID(now time.Time) string {
	return fmt.Sprintf("%020d-%06d", now.UnixNano(), p.seq.Add(1)%1000000)
}

// Candidate decides what to store from a user turn, with its
// embedding emb: nil when nothing is worth storing, a block pattern
// matches, or an existing memory is a near-duplicate (cosine ≥
// DedupThreshold).
func (p *Plugin) Candidate(existing []Entry, text string, emb []float32, now time.Time) *Entry {
	facts := ExtractFacts(text)
	if facts == "" || p.Blocked(facts) || p.Blocked(text) || len(emb) == 0 {
		return nil
	}
	for i := range existing {
		if Cosine(existing[i].Embedding, emb) >= p.DedupThreshold {
			return nil
		}
	}
	return &Entry{ID: p.NewID(now), Text: facts, Embedding: emb, CreatedAt: now, Source: SourceUserTurn}
}

// factRE matches sentences in which the user states something about
// themself: their name, preferences, work, home, possessions, habits.
var factRE = regexp.MustCompile(`(?i)\b(my name is|call me|i am|i'm|i prefer|i like|i love|i hate|i dislike|i work|i live|i use|i have|i own|i always|i never|i usually|my [a-z]+(?: [a-z]+)? (?:is|are))\b`)

// ExtractFacts returns the sentences of text that look like facts about
// the user (factRE), joined with spaces and cut to MaxMemoryBytes at a
// word boundary; "" when there are none. Questions are never facts.
func ExtractFacts(text string) string {
	var parts []string
	size := 0
	for _, s := range splitSentences(text) {
		if strings.HasSuffix(s, "?") || !factRE.MatchString(s) {
			continue
		}
		if size+len(s)+1 > MaxMemoryBytes {
			break
		}
		parts = append(parts, s)
		size += len(s) + 1
	}
	return strings.Join(parts, " ")
}

func splitSentences(text string) []string {
	var out []string
	start := 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == '.' || c == '!' || c == '?' || c == '\n' {
			if s := strings.TrimSpace(text[start : i+1]); len(s) > 1 {
				out = append(out, strings.TrimRight(s, "\n"))
			}
			start = i + 1
		}
	}
	if s := strings.TrimSpace(text[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

// Count renders n for the x-vsr-memory header.
func Count(n int) string { return strconv.Itoa(n) }
