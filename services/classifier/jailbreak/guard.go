package jailbreak

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"unicode/utf8"
)

// GuardTask names one of the three llm_guardrail models.
type GuardTask int

// The llm_guardrail tasks, in the order Scores and the head use them.
const (
	TaskInjection GuardTask = iota // prompt_injection_model.json
	TaskJailbreak                  // jailbreak_model.json
	TaskMalicious                  // malicious_model.json
	numTasks
)

// String returns the task's file stem in the npm package.
func (t GuardTask) String() string {
	switch t {
	case TaskInjection:
		return "prompt_injection"
	case TaskJailbreak:
		return "jailbreak"
	case TaskMalicious:
		return "malicious"
	}
	return fmt.Sprintf("GuardTask(%d)", int(t))
}

// guardFile is the JSON layout of one llm_guardrail model: a scikit-learn
// TfidfVectorizer (vocabulary, idf, n-gram range, lowercase) exported next to
// a binary LogisticRegression (coefficients, intercept).
type guardFile struct {
	Coefficients [][]float64    `json:"coefficients"`
	Intercept    []float64      `json:"intercept"`
	Classes      []int          `json:"classes"`
	Vocabulary   map[string]int `json:"vocabulary"`
	IDF          []float64      `json:"idf"`
	NgramRange   []int          `json:"ngram_range"`
	Lowercase    *bool          `json:"lowercase"`
}

// termWeights is what one vocabulary entry contributes to each task's model:
// its column in that model (−1 when the term is not in its vocabulary), its
// idf and its logistic-regression coefficient.
type termWeights struct {
	col  [numTasks]int32
	idf  [numTasks]float64
	coef [numTasks]float64
}

// guard holds the three models over one merged vocabulary, so each n-gram of
// a prompt is looked up once for all three.
type guard struct {
	terms     map[string]uint32
	weights   []termWeights
	intercept [numTasks]float64
	minN      int
	maxN      int
	lowercase bool
}

// guardFiles returns the model file of each task under dir, which may be the
// npm package root (holding model/) or the model folder itself.
func guardFiles(dir string) ([numTasks]string, error) {
	var out [numTasks]string
	base := dir
	if _, err := os.Stat(filepath.Join(dir, "model", TaskInjection.String()+"_model.json")); err == nil {
		base = filepath.Join(dir, "model")
	}
	var errs []error
	for t := range numTasks {
		p := filepath.Join(base, t.String()+"_model.json")
		if _, err := os.Stat(p); err != nil {
			errs = append(errs, fmt.Errorf("find %s model: %w", t, err))
		}
		out[t] = p
	}
	return out, errors.Join(errs...)
}

func loadGuard(dir string) (*guard, error) {
	paths, err := guardFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("load llm_guardrail models from %q (run scripts/setup-guard.sh): %w", dir, err)
	}
	g := &guard{terms: make(map[string]uint32, 32768)}
	for t := range numTasks {
		raw, err := os.ReadFile(paths[t])
		if err != nil {
			return nil, fmt.Errorf("load %s model: %w", t, err)
		}
		var f guardFile
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, fmt.Errorf("load %s model %q: %w", t, paths[t], err)
		}
		if err := g.add(t, &f); err != nil {
			return nil, fmt.Errorf("load %s model %q: %w", t, paths[t], err)
		}
	}
	return g, nil
}

// add merges one task's model into g after checking its shape.
func (g *guard) add(t GuardTask, f *guardFile) error {
	n := len(f.Vocabulary)
	var errs []error
	if len(f.Coefficients) != 1 || len(f.Coefficients[0]) != n {
		errs = append(errs, fmt.Errorf("coefficients: want one row of %d values", n))
	}
	if len(f.Intercept) != 1 {
		errs = append(errs, fmt.Errorf("intercept: want 1 value, got %d", len(f.Intercept)))
	}
	if len(f.IDF) != n {
		errs = append(errs, fmt.Errorf("idf: want %d values, got %d", n, len(f.IDF)))
	}
	if len(f.NgramRange) != 2 || f.NgramRange[0] < 1 || f.NgramRange[1] < f.NgramRange[0] || f.NgramRange[1] > 8 {
		errs = append(errs, fmt.Errorf("ngram_range: want [min, max] with 1 ≤ min ≤ max ≤ 8, got %v", f.NgramRange))
	}
	lower := f.Lowercase != nil && *f.Lowercase // JS: if (this.lowercase), so absent means no
	if len(f.Classes) != 0 && len(f.Classes) != 2 {
		errs = append(errs, fmt.Errorf("classes: want a binary model, got %d classes", len(f.Classes)))
	}
	seen := make([]bool, n)
	for term, col := range f.Vocabulary {
		if col < 0 || col >= n || seen[col] {
			errs = append(errs, fmt.Errorf("vocabulary: term %q has bad or repeated column %d", term, col))
			break
		}
		seen[col] = true
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if t == 0 {
		g.minN, g.maxN, g.lowercase = f.NgramRange[0], f.NgramRange[1], lower
	} else if g.minN != f.NgramRange[0] || g.maxN != f.NgramRange[1] || g.lowercase != lower {
		return fmt.Errorf("vectoriser settings (ngram_range %v, lowercase %v) differ from the %s model's", f.NgramRange, lower, TaskInjection)
	}
	g.intercept[t] = f.Intercept[0]
	coef := f.Coefficients[0]
	for term, col := range f.Vocabulary {
		if term == "__proto__" {
			// In JS, termFreq["__proto__"] never becomes an own key, so this
			// term can never receive a weight.
			continue
		}
		id, ok := g.terms[term]
		if !ok {
			id = uint32(len(g.weights))
			g.terms[term] = id
			tw := termWeights{}
			for i := range tw.col {
				tw.col[i] = -1
			}
			g.weights = append(g.weights, tw)
		}
		w := &g.weights[id]
		w.col[t] = int32(col)
		w.idf[t] = f.IDF[col]
		w.coef[t] = coef[col]
	}
	return nil
}

// span is a token's byte range in the lowercased text buffer.
type span struct{ start, end int32 }

// appendTokens writes the text, lowercased the way JavaScript's
// String.prototype.toLowerCase does as far as it matters here, to buf and
// returns the tokens of the regular expression /\b\w\w+\b/g over it.
//
// Without the u flag, \w is ASCII only ([A-Za-z0-9_]), so a token is a
// maximal run of two or more ASCII word characters. Every other character
// separates tokens, except the two non-ASCII characters whose lowercase form
// contains an ASCII letter: U+212A KELVIN SIGN (→ "k", a word character) and
// U+0130 LATIN CAPITAL LETTER I WITH DOT ABOVE (→ "i" + U+0307, a word
// character followed by a separator).
func appendTokens(buf []byte, toks []span, text string, lowercase bool) ([]byte, []span) {
	start := -1
	flush := func() {
		if start >= 0 && len(buf)-start >= 2 {
			toks = append(toks, span{int32(start), int32(len(buf))})
		}
		start = -1
	}
	word := func(c byte) {
		if start < 0 {
			start = len(buf)
		}
		buf = append(buf, c)
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
				word(c)
			case c >= 'A' && c <= 'Z':
				if lowercase {
					c += 'a' - 'A'
				}
				word(c)
			default:
				flush()
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		switch {
		case lowercase && r == '\u212A':
			word('k')
		case lowercase && r == '\u0130':
			word('i')
			flush()
		default:
			flush()
		}
	}
	flush()
	return buf, toks
}

// counts is the scratch space of one scoring call: the term counts of one
// text over the merged vocabulary.
type counts struct {
	buf   []byte
	key   []byte
	toks  []span
	ids   []uint32 // distinct terms, in order of first occurrence
	count []uint32 // by term id; only entries in ids are non-zero
}

func (g *guard) newCounts() *counts {
	return &counts{count: make([]uint32, len(g.weights))}
}

// countTerms fills c with the vocabulary n-grams of text.
func (g *guard) countTerms(c *counts, text string) {
	for _, id := range c.ids {
		c.count[id] = 0
	}
	c.ids = c.ids[:0]
	c.buf, c.toks = appendTokens(c.buf[:0], c.toks[:0], text, g.lowercase)
	for n := g.minN; n <= g.maxN; n++ {
		for i := 0; i+n <= len(c.toks); i++ {
			var key []byte
			if n == 1 {
				key = c.buf[c.toks[i].start:c.toks[i].end]
			} else {
				c.key = c.key[:0]
				for j := i; j < i+n; j++ {
					if j > i {
						c.key = append(c.key, ' ')
					}
					c.key = append(c.key, c.buf[c.toks[j].start:c.toks[j].end]...)
				}
				key = c.key
			}
			id, ok := g.terms[string(key)]
			if !ok {
				continue
			}
			if c.count[id] == 0 {
				c.ids = append(c.ids, id)
			}
			c.count[id]++
		}
	}
}

// logits returns each task's w·x + b for the counted text, where x is the
// L2-normalised raw-count TF-IDF vector, as llm_guardrail computes it.
func (g *guard) logits(c *counts) [numTasks]float64 {
	var sumsq [numTasks]float64
	for _, id := range c.ids {
		w := &g.weights[id]
		tf := float64(c.count[id])
		for t := range numTasks {
			if w.col[t] >= 0 {
				v := tf * w.idf[t]
				sumsq[t] += v * v
			}
		}
	}
	var z [numTasks]float64
	var norm [numTasks]float64
	for t := range numTasks {
		z[t] = g.intercept[t]
		norm[t] = math.Sqrt(sumsq[t])
	}
	for _, id := range c.ids {
		w := &g.weights[id]
		tf := float64(c.count[id])
		for t := range numTasks {
			if w.col[t] >= 0 && norm[t] > 0 {
				z[t] += w.coef[t] * (tf * w.idf[t] / norm[t])
			}
		}
	}
	return z
}

// sigmoid is the logistic function 1 / (1 + e^−z).
func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
