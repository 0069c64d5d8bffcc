package heuristic

import (
	"context"
	"sync"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

// Rules is the full heuristic rule set, one slice per family, mirroring the
// YAML keys under routing.signals (plus the modality detector settings from
// global.model_catalog.modules.modality_detector).
type Rules struct {
	Keywords          []KeywordRule
	Structure         []StructureRule
	Context           []ContextRule
	Language          []LanguageRule
	PII               []PIIRule
	Jailbreak         []JailbreakRule
	Conversation      []ConversationRule
	Metadata          []MetadataRule
	RoleBindings      []RoleBinding
	Modality          []ModalityRule
	ModalityDetection ModalityDetection
}

// Option tunes Compile.
type Option func(*options)

type options struct {
	jailbreak      JailbreakScorer
	modality       ModalityClassifier
	extraLanguages []string
	lowAccuracy    bool
}

// WithJailbreakScorer plugs in a model-based jailbreak scorer used by rules
// whose method needs one (classifier, hybrid).
func WithJailbreakScorer(s JailbreakScorer) Option { return func(o *options) { o.jailbreak = s } }

// WithModalityClassifier plugs in a model-based modality classifier used by
// the classifier and hybrid modality detection methods.
func WithModalityClassifier(c ModalityClassifier) Option {
	return func(o *options) { o.modality = c }
}

// WithDetectorLanguages replaces the default set of extra languages the
// language detector distinguishes besides those the rules name (ISO 639-1
// codes). Fewer languages mean less memory and faster detection.
func WithDetectorLanguages(codes ...string) Option {
	return func(o *options) { o.extraLanguages = codes }
}

// WithLowAccuracyLanguageDetection uses lingua's trigram-only mode: a
// fraction of the memory and time, less reliable on texts under ~120
// characters.
func WithLowAccuracyLanguageDetection() Option { return func(o *options) { o.lowAccuracy = true } }

// family is one compiled signal family.
type family interface {
	evaluate(st *evalState) signal.Outcome
}

// ctxFamily is a family that calls out (model scorers) and needs ctx.
type ctxFamily interface {
	evaluateCtx(ctx context.Context, st *evalState) signal.Outcome
}

// Evaluator runs every compiled heuristic family for a request. It is
// immutable and safe for concurrent use.
type Evaluator struct {
	families []family
	pool     sync.Pool // *evalState
	needOrig bool      // some rule matches case-sensitively on words
}

// evalState is the per-evaluation working set, pooled to keep the hot path
// allocation-light.
type evalState struct {
	req       *Request
	origWords []span
	origDone  bool
	pii       piiScan
	runesA    []rune
	runesB    []rune
	spans     []span
	floats    []float64
	reCount   []int
	ints      []int
	grams     []uint64
}

func (st *evalState) reset(req *Request) {
	st.req = req
	st.origWords = st.origWords[:0]
	st.origDone = false
	st.pii.reset()
}

// topScores returns a zeroed scratch slice of n scores.
func (st *evalState) topScores(n int) []float64 {
	if cap(st.floats) < n {
		st.floats = make([]float64, n)
	}
	st.floats = st.floats[:n]
	clear(st.floats)
	return st.floats
}

// words returns the word spans of the current turn, over the lowercased
// text or the original one.
func (st *evalState) wordsOf(caseSensitive bool) (string, []span) {
	if !caseSensitive {
		return st.req.curLower, st.req.words
	}
	if !st.origDone {
		st.origWords = appendWords(st.origWords[:0], st.req.CurrentText())
		st.origDone = true
	}
	return st.req.CurrentText(), st.origWords
}

// Compile validates and compiles rules. All problems are reported together
// (errors.Join of *RuleError).
func Compile(r Rules, opts ...Option) (*Evaluator, error) {
	var o options
	for _, fn := range opts {
		fn(&o)
	}
	var errs errorList
	e := &Evaluator{}
	if len(r.Keywords) > 0 {
		e.families = append(e.families, compileKeywords(r.Keywords, &errs))
	}
	if len(r.Structure) > 0 {
		e.families = append(e.families, compileStructure(r.Structure, &errs))
	}
	if len(r.Context) > 0 {
		e.families = append(e.families, compileContext(r.Context, &errs))
	}
	if len(r.Conversation) > 0 {
		e.families = append(e.families, compileConversation(r.Conversation, &errs))
	}
	if len(r.Metadata) > 0 {
		e.families = append(e.families, compileMetadata(r.Metadata, &errs))
	}
	if len(r.RoleBindings) > 0 {
		e.families = append(e.families, compileAuthz(r.RoleBindings, &errs))
	}
	if len(r.PII) > 0 {
		e.families = append(e.families, compilePII(r.PII, &errs))
	}
	if len(r.Jailbreak) > 0 {
		e.families = append(e.families, compileJailbreak(r.Jailbreak, o.jailbreak, &errs))
	}
	if len(r.Modality) > 0 {
		e.families = append(e.families, compileModality(r.Modality, r.ModalityDetection, o.modality, &errs))
	}
	if len(r.Language) > 0 {
		if lf := compileLanguage(r.Language, o, &errs); lf != nil {
			e.families = append(e.families, lf)
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	e.pool.New = func() any {
		return &evalState{ints: make([]int, 0, 64), grams: make([]uint64, 0, 64)}
	}
	return e, nil
}

// slowFamily is implemented by families that may take long enough (a
// language model lookup, a call to a model scorer) to be worth running
// beside the others.
type slowFamily interface {
	slow() bool
}

// Evaluate runs every family that has rules and returns one Outcome per
// family, in the order of Families. Cheap families run inline, one after
// the other; slow ones (language detection; jailbreak and modality rules
// that call a model) run in their own goroutines meanwhile, each with its
// own scratch state. When ctx ends, families not yet started report
// ctx.Err().
func (e *Evaluator) Evaluate(ctx context.Context, req *Request) []signal.Outcome {
	if !req.prepared {
		cp := *req
		req = cp.Prepare()
	}
	out := make([]signal.Outcome, len(e.families))
	var wg sync.WaitGroup
	if len(e.families) > 1 {
		for i, f := range e.families {
			if sf, ok := f.(slowFamily); !ok || !sf.slow() {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				out[i] = e.run(ctx, f, req)
			}()
		}
	}
	st := e.pool.Get().(*evalState)
	st.reset(req)
	for i, f := range e.families {
		if sf, ok := f.(slowFamily); ok && sf.slow() && len(e.families) > 1 {
			continue
		}
		out[i] = e.runWith(ctx, f, st)
	}
	st.req = nil
	e.pool.Put(st)
	wg.Wait()
	return out
}

func (e *Evaluator) run(ctx context.Context, f family, req *Request) signal.Outcome {
	st := e.pool.Get().(*evalState)
	st.reset(req)
	o := e.runWith(ctx, f, st)
	st.req = nil
	e.pool.Put(st)
	return o
}

func (e *Evaluator) runWith(ctx context.Context, f family, st *evalState) signal.Outcome {
	if err := ctx.Err(); err != nil {
		return signal.Outcome{Family: familyName(f), Err: err}
	}
	if cf, ok := f.(ctxFamily); ok {
		return cf.evaluateCtx(ctx, st)
	}
	return f.evaluate(st)
}

// Families lists the families this evaluator reports, in evaluation order.
func (e *Evaluator) Families() []signal.Family {
	out := make([]signal.Family, len(e.families))
	for i, f := range e.families {
		out[i] = familyName(f)
	}
	return out
}

func familyName(f family) signal.Family {
	switch f.(type) {
	case *keywordFamily:
		return signal.Keyword
	case *structureFamily:
		return signal.Structure
	case *contextFamily:
		return signal.Context
	case *conversationFamily:
		return signal.Conversation
	case *metadataFamily:
		return signal.Metadata
	case *authzFamily:
		return signal.Authz
	case *piiFamily:
		return signal.PII
	case *jailbreakFamily:
		return signal.Jailbreak
	case *modalityFamily:
		return signal.Modality
	case *languageFamily:
		return signal.Language
	}
	return ""
}

// setScore records the raw value of a rule that did not match.
func setScore(o *signal.Outcome, name string, v float64) {
	if o.Scores == nil {
		o.Scores = make(map[string]float64, 4)
	}
	o.Scores[name] = v
}
