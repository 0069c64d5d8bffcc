package classifier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/classifier/described"
	"github.com/semrouter/semrouter/services/classifier/domain"
	"github.com/semrouter/semrouter/services/classifier/domain/heads"
	"github.com/semrouter/semrouter/services/classifier/engine"
	"github.com/semrouter/semrouter/services/classifier/heuristic"
	"github.com/semrouter/semrouter/services/classifier/llmlabel"
	"github.com/semrouter/semrouter/services/classifier/semantic"
)

// ErrCompile is wrapped by every error Compile returns for a config it
// cannot run; the joined problems name their YAML paths and lines.
var ErrCompile = errors.New("compile classifier")

// problems collects compile errors with YAML paths and lines.
type problems struct {
	cfg  *config.Config
	errs []error
}

func (p *problems) add(path string, err error) {
	if l := p.cfg.Line(path); l > 0 {
		p.errs = append(p.errs, fmt.Errorf("%s (line %d): %w", path, l, err))
		return
	}
	p.errs = append(p.errs, fmt.Errorf("%s: %w", path, err))
}

// rulePathRE splits a heuristic rule path "keywords[2].keywords[0]" into
// its family key and index.
var rulePathRE = regexp.MustCompile(`^([a-z_]+)\[(\d+)\]`)

// addHeuristic records heuristic compile errors under prefix (the routing
// block's "…signals"). own, when set, is the recipe's own signals: errors
// in rules it inherited from the top level are skipped (the top level
// reports them).
func (p *problems) addHeuristic(prefix string, err error, own *config.Signals) {
	for _, e := range flatten(err) {
		var re *heuristic.RuleError
		if !errors.As(e, &re) {
			p.add(prefix, e)
			continue
		}
		if own != nil {
			if m := rulePathRE.FindStringSubmatch(re.Path); m != nil {
				if i, _ := strconv.Atoi(m[2]); i >= familyLen(own, m[1]) {
					continue
				}
			}
		}
		msg := re.Err
		if re.Rule != "" {
			msg = fmt.Errorf("rule %q: %w", re.Rule, re.Err)
		}
		p.add(prefix+"."+re.Path, msg)
	}
}

// addEngine records engine compile errors, each "path: message".
func (p *problems) addEngine(err error) {
	for _, e := range flatten(err) {
		path, msg, ok := strings.Cut(e.Error(), ": ")
		if !ok || strings.ContainsAny(path, " ") {
			p.errs = append(p.errs, e)
			continue
		}
		p.add(path, errors.New(msg))
	}
}

func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrCompile, errors.Join(p.errs...))
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// Compile builds a Classifier from a parsed config. emb embeds candidate
// phrases, examples and model descriptions once, in one batched call; it
// may be nil, and when it is (or it fails) the embedding-based families of
// this revision report ErrNoCandidateEmbeddings and do not match, while
// everything else works. All config problems are returned together.
func Compile(ctx context.Context, cfg *config.Config, emb Embedder, opts ...Option) (*Classifier, error) {
	o := options{logger: slog.New(slog.NewTextHandler(io.Discard, nil)), timeout: DefaultFamilyTimeout}
	for _, fn := range opts {
		fn(&o)
	}
	if o.httpClient == nil {
		o.httpClient = &http.Client{}
	}
	if o.llmCache == nil {
		o.llmCache = llmlabel.NewCache(llmlabel.DefaultCacheSize, llmlabel.DefaultCacheTTL, nil)
	}
	if cfg == nil {
		return nil, fmt.Errorf("%w: no config", ErrCompile)
	}
	probs := &problems{cfg: cfg}
	c := &Classifier{
		revision:     o.revision,
		byModel:      map[string]*profile{},
		models:       map[string]modelFacts{},
		decisions:    map[string]decisionFacts{},
		defaultModel: cfg.Providers.Defaults.DefaultModel,
		defEffort:    cfg.Providers.Defaults.DefaultReasoningEffort,
		timeout:      o.timeout,
		logger:       o.logger,
		api:          cfg.Global.Services.API,
	}
	if emb != nil {
		c.embedModel = emb.Model()
	}
	for _, m := range cfg.Providers.Models {
		mf := modelFacts{providerID: m.ProviderModelID, reasoningFamily: m.ReasoningFamily}
		if len(m.BackendRefs) > 0 {
			mf.provider = m.BackendRefs[0].Provider
			if mf.provider == "" {
				mf.provider = m.BackendRefs[0].Name
			}
		}
		c.models[m.Name] = mf
	}
	c.projOwners = map[string]ProjectionOwner{}
	addOwners := func(recipe string, p *config.Projections) {
		for _, pt := range p.Partitions {
			for _, m := range pt.Members {
				c.projOwners[decisionKey(recipe, m)] = ProjectionOwner{Kind: "partition", Name: pt.Name}
			}
		}
		for _, m := range p.Mappings {
			for _, b := range m.Outputs {
				c.projOwners[decisionKey(recipe, b.Name)] = ProjectionOwner{Kind: "mapping", Name: m.Name, Source: m.Source}
			}
		}
	}
	addOwners("", &cfg.Routing.Projections)
	for _, rc := range cfg.Recipes {
		addOwners(rc.Name, &rc.Routing.Projections)
	}
	for _, d := range cfg.Routing.Decisions {
		c.decisions[decisionKey("", d.Name)] = decisionFacts{description: d.Description, annotations: d.Annotations}
	}
	for _, rc := range cfg.Recipes {
		for _, d := range rc.Routing.Decisions {
			c.decisions[decisionKey(rc.Name, d.Name)] = decisionFacts{description: d.Description, annotations: d.Annotations}
		}
	}

	// Routing profiles: the top level and one per recipe.
	type src struct {
		prefix string
		sig    config.Signals
		own    *config.Signals
	}
	srcs := []src{{prefix: "routing.signals", sig: cfg.Routing.Signals}}
	for i := range cfg.Recipes {
		own := &cfg.Recipes[i].Routing.Signals
		srcs = append(srcs, src{prefix: fmt.Sprintf("recipes[%d].routing.signals", i), sig: mergeSignals(&cfg.Routing.Signals, own), own: own})
	}

	// One batched embedding call for every text any profile needs.
	texts := newTextSet()
	for i := range srcs {
		collectTexts(&srcs[i].sig, texts)
	}
	dc := usesRouterDC(cfg)
	if dc {
		for _, mc := range cfg.Routing.ModelCards {
			texts.add(mc.Description)
		}
	}
	kbs := loadKBs(cfg, &o, texts, probs)
	vecs, embErr := c.embedAll(ctx, emb, texts)
	kbs.build(vecs, embErr, probs)
	if embErr != nil && len(texts.list) > 0 {
		c.candidatesMissing = true
		c.warnings = append(c.warnings, embErr.Error())
		o.logger.Warn("candidate embeddings unavailable; embedding-based signals will not match", slog.String("error", embErr.Error()))
	}

	head, headErr := loadHead(o, c.embedModel)
	if headErr != nil {
		probs.add("global.model_catalog.modules.classifier.domain", headErr)
	}
	domCfg := domainSettings(cfg)
	c.head = head
	c.jailbreakRules = len(cfg.Routing.Signals.Jailbreak) > 0

	hopts := []heuristic.Option{}
	if !o.highAccuracy {
		hopts = append(hopts, heuristic.WithLowAccuracyLanguageDetection())
	}
	if o.jailbreak != nil {
		hopts = append(hopts, heuristic.WithJailbreakScorer(o.jailbreak))
	}
	if o.modality != nil {
		hopts = append(hopts, heuristic.WithModalityClassifier(o.modality))
	}
	if o.languages != nil {
		hopts = append(hopts, heuristic.WithDetectorLanguages(o.languages...))
	}
	var md *config.ModalityDetection
	if mods := cfg.Global.ModelCatalog.Modules; mods != nil {
		md = mods.ModalityDetector
	}
	protos := prototypeSettings(cfg)

	profiles := make([]*profile, len(srcs))
	for i := range srcs {
		s := &srcs[i]
		p := &profile{}
		rules := heuristicRules(&s.sig, md)
		ev, err := heuristic.Compile(rules, hopts...)
		if err != nil {
			probs.addHeuristic(s.prefix, err, s.own)
		} else if len(ev.Families()) > 0 {
			p.heur = ev
		}
		c.buildSemantic(p, &s.sig, s.prefix, vecs, embErr, protos, probs, s.own)
		buildKB(p, &s.sig, s.prefix, kbs, embErr, probs, s.own)
		used := referencedClassifiers(cfg.Routing.Decisions)
		if i > 0 {
			used = referencedClassifiers(cfg.Routing.Decisions, cfg.Recipes[i-1].Routing.Decisions)
		}
		if fam, err := classifierFamily(cfg, &s.sig, used, &o); err != nil {
			probs.add(s.prefix+".classifiers", err)
		} else {
			p.llm = fam
		}
		if len(s.sig.Domains) > 0 {
			f := &domain.Family{Head: head, Threshold: domCfg.threshold, Fallback: domCfg.fallback}
			for _, d := range s.sig.Domains {
				f.Rules = append(f.Rules, domain.Rule{Name: d.Name, Categories: d.MMLUCategories})
			}
			f.Compile()
			p.dom = f
		}
		profiles[i] = p
	}
	c.def = profiles[0]
	for _, ep := range cfg.Entrypoints {
		p := c.def
		if ep.Recipe != config.DefaultRecipe {
			for i := range cfg.Recipes {
				if cfg.Recipes[i].Name == ep.Recipe {
					p = profiles[i+1]
				}
			}
		}
		for _, n := range ep.ModelNames {
			c.byModel[n] = p
		}
	}

	tree, err := configTree(cfg)
	if err != nil {
		probs.errs = append(probs.errs, err)
	}
	eopts := engine.Options{Latency: o.latency, Load: o.load}
	if o.latency == nil {
		eopts.Latency = noLatency{}
	}
	if dc && vecs != nil {
		eopts.ModelEmbeddings = map[string][]float32{}
		for _, mc := range cfg.Routing.ModelCards {
			if v, ok := vecs[mc.Description]; ok && mc.Description != "" {
				eopts.ModelEmbeddings[mc.Name] = v
			}
		}
	}
	knn := c.knnSettings(cfg, o.logger, probs)
	exp := c.hybridExperience(cfg, knn, o.logger) // hybrid.go
	c.needsQueryForSelection = knn != nil || dc || exp != nil
	eng, err := engine.Compile(engineSpec(cfg, tree, &selectionData{cfg: cfg, knn: knn, experience: exp}), eopts)
	if err != nil {
		probs.addEngine(err)
	}
	c.engine = eng
	if err := probs.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// textSet is an ordered set of texts to embed.
type textSet struct {
	list []string
	seen map[string]bool
}

func newTextSet() *textSet { return &textSet{seen: map[string]bool{}} }

func (t *textSet) add(s string) {
	if strings.TrimSpace(s) == "" || t.seen[s] {
		return
	}
	t.seen[s] = true
	t.list = append(t.list, s)
}

func collectTexts(s *config.Signals, t *textSet) {
	for _, e := range s.Embeddings {
		for _, c := range e.Candidates {
			t.add(c)
		}
	}
	for _, c := range s.Complexity {
		for _, x := range c.Hard.Candidates {
			t.add(x)
		}
		for _, x := range c.Easy.Candidates {
			t.add(x)
		}
	}
	for _, p := range s.Preferences {
		for _, x := range p.Examples {
			t.add(x)
		}
	}
	for _, d := range describedFamilies(s) {
		for _, x := range d.knowledge.Texts(d.rules) {
			t.add(x)
		}
	}
}

// describedFamily is a fact_check or user_feedbacks block of a profile.
type describedFamily struct {
	key       string // YAML key under routing.signals
	knowledge *described.Knowledge
	rules     []described.Rule
}

// describedFamilies lists the profile's fact_check and user_feedbacks
// rules with the built-in knowledge of each family (only families with
// rules).
func describedFamilies(s *config.Signals) []describedFamily {
	var out []describedFamily
	for _, f := range []struct {
		key   string
		k     func() *described.Knowledge
		rules []config.DescribedSignal
	}{{"fact_check", described.FactCheck, s.FactCheck}, {"user_feedbacks", described.UserFeedback, s.UserFeedbacks}} {
		if len(f.rules) == 0 {
			continue
		}
		d := describedFamily{key: f.key, knowledge: f.k()}
		for _, r := range f.rules {
			d.rules = append(d.rules, described.Rule{Name: r.Name, Description: r.Description})
		}
		out = append(out, d)
	}
	return out
}

// embedAll embeds every text in one call and checks the answer.
func (c *Classifier) embedAll(ctx context.Context, emb Embedder, texts *textSet) (map[string][]float32, error) {
	if len(texts.list) == 0 {
		return map[string][]float32{}, nil
	}
	if emb == nil {
		return nil, fmt.Errorf("%w: no embedder configured", ErrNoCandidateEmbeddings)
	}
	vs, err := emb.Embed(ctx, texts.list)
	if err != nil {
		return nil, fmt.Errorf("%w: embed %d candidate texts with %q: %w", ErrNoCandidateEmbeddings, len(texts.list), emb.Model(), err)
	}
	if len(vs) != len(texts.list) {
		return nil, fmt.Errorf("%w: embedder %q returned %d vectors for %d texts", ErrNoCandidateEmbeddings, emb.Model(), len(vs), len(texts.list))
	}
	out := make(map[string][]float32, len(vs))
	for i, v := range vs {
		if len(v) == 0 || (c.dims != 0 && len(v) != c.dims) {
			return nil, fmt.Errorf("%w: embedder %q returned vectors of %d and %d dimensions", ErrNoCandidateEmbeddings, emb.Model(), c.dims, len(v))
		}
		c.dims = len(v)
		out[texts.list[i]] = v
	}
	return out, nil
}

type protoSettings struct {
	embedding, complexity, preference semantic.PrototypeOptions
	topK                              int
	soft                              bool
	minScore                          float64
}

func protoOptions(ps *config.PrototypeScoring) semantic.PrototypeOptions {
	if ps == nil {
		return semantic.DefaultPrototypeOptions()
	}
	return semantic.PrototypeOptions{
		Enabled: ps.Enabled, ClusterSimilarity: ps.ClusterSimilarityThreshold,
		MaxPrototypes: ps.MaxPrototypes, BestWeight: ps.BestWeight, TopM: ps.TopM,
	}
}

func prototypeSettings(cfg *config.Config) protoSettings {
	s := protoSettings{
		embedding:  semantic.DefaultPrototypeOptions(),
		complexity: semantic.DefaultPrototypeOptions(),
		preference: semantic.DefaultPrototypeOptions(),
	}
	mc := cfg.Global.ModelCatalog
	if mc.Embeddings != nil && mc.Embeddings.Semantic != nil && mc.Embeddings.Semantic.EmbeddingConfig != nil {
		ec := mc.Embeddings.Semantic.EmbeddingConfig
		s.embedding = protoOptions(ec.PrototypeScoring)
		s.topK, s.soft, s.minScore = ec.TopK, ec.EnableSoftMatching, ec.MinScoreThreshold
	}
	if m := mc.Modules; m != nil {
		if m.Complexity != nil {
			s.complexity = protoOptions(m.Complexity.PrototypeScoring)
		}
		if m.Classifier != nil && m.Classifier.Preference != nil {
			s.preference = protoOptions(m.Classifier.Preference.PrototypeScoring)
		}
	}
	return s
}

// buildSemantic compiles the embedding-based families of one profile.
func (c *Classifier) buildSemantic(p *profile, s *config.Signals, prefix string, vecs map[string][]float32, embErr error, ps protoSettings, probs *problems, own *config.Signals) {
	p.hasEmb, p.hasComplexity, p.hasPrefs = len(s.Embeddings) > 0, len(s.Complexity) > 0, len(s.Preferences) > 0
	p.hasFacts, p.hasFeedback = len(s.FactCheck) > 0, len(s.UserFeedbacks) > 0
	for _, r := range s.Reasks {
		p.reasks = append(p.reasks, semantic.ReaskRule{Name: r.Name, Threshold: r.Threshold, LookbackTurns: r.LookbackTurns})
	}
	if embErr != nil {
		p.semErr = embErr
		return
	}
	// Errors in rules a recipe inherited are reported by the top level.
	report := func(key string, i int, field string, err error) {
		if own != nil && i >= familyLen(own, key) {
			return
		}
		probs.add(fmt.Sprintf("%s.%s[%d].%s", prefix, key, i, field), err)
	}
	bank := func(texts []string, o semantic.PrototypeOptions) (*semantic.Bank, error) {
		vs := make([][]float32, 0, len(texts))
		for _, t := range texts {
			if v, ok := vecs[t]; ok {
				vs = append(vs, v)
			}
		}
		return semantic.NewBank(vs, o)
	}
	if p.hasEmb {
		f := &semantic.EmbeddingFamily{TopK: ps.topK, SoftMatching: ps.soft, MinScore: ps.minScore}
		for i, e := range s.Embeddings {
			b, err := bank(e.Candidates, ps.embedding)
			if err != nil {
				report("embeddings", i, "candidates", err)
				continue
			}
			agg := semantic.Aggregation(strings.ToLower(e.AggregationMethod))
			switch agg {
			case "", semantic.AggMax, semantic.AggMean, semantic.AggAny:
			default:
				report("embeddings", i, "aggregation_method", fmt.Errorf("unknown aggregation %q (want max, mean or any)", e.AggregationMethod))
			}
			f.Rules = append(f.Rules, semantic.Rule{Name: e.Name, Threshold: e.Threshold, Aggregation: agg, Bank: b})
		}
		p.emb = f
	}
	for i, cx := range s.Complexity {
		hard, err := bank(cx.Hard.Candidates, ps.complexity)
		if err != nil {
			report("complexity", i, "hard.candidates", err)
			continue
		}
		easy, err := bank(cx.Easy.Candidates, ps.complexity)
		if err != nil {
			report("complexity", i, "easy.candidates", err)
			continue
		}
		p.complexity = append(p.complexity, semantic.ComplexityRule{Name: cx.Name, Threshold: cx.Threshold, Hard: hard, Easy: easy, Composer: composerGate(cx.Composer)})
	}
	for i, pr := range s.Preferences {
		b, err := bank(pr.Examples, ps.preference)
		if err != nil {
			report("preferences", i, "examples", err)
			continue
		}
		p.prefs = append(p.prefs, semantic.PreferenceRule{Name: pr.Name, Threshold: pr.Threshold, Examples: b})
	}
	for _, d := range describedFamilies(s) {
		f, err := described.Build(d.knowledge, d.rules, vecs)
		if err != nil {
			if own == nil || familyLen(own, d.key) > 0 {
				probs.add(prefix+"."+d.key, err)
			}
			continue
		}
		if d.key == "fact_check" {
			p.facts = f
		} else {
			p.feedback = f
		}
	}
}

type domainCfg struct {
	threshold float64
	fallback  string
}

func domainSettings(cfg *config.Config) domainCfg {
	d := domainCfg{fallback: "other"}
	if m := cfg.Global.ModelCatalog.Modules; m != nil && m.Classifier != nil && m.Classifier.Domain != nil {
		d.threshold = m.Classifier.Domain.Threshold
		if m.Classifier.Domain.FallbackCategory != "" {
			d.fallback = m.Classifier.Domain.FallbackCategory
		}
	}
	return d
}

// loadHead returns the domain head for the embedding model: one given with
// WithDomainHead, else the file in the head directory, else the head
// shipped in the binary, else nil (the domain family then reports
// domain.ErrNoHead).
func loadHead(o options, model string) (*domain.Head, error) {
	if model == "" {
		return nil, nil
	}
	if h, ok := o.heads[model]; ok {
		return h, nil
	}
	if o.headDir == "" {
		return shippedHead(model)
	}
	path := DomainHeadPath(o.headDir, model)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return shippedHead(model)
	}
	if err != nil {
		return nil, fmt.Errorf("open domain head %q: %w", path, err)
	}
	defer f.Close()
	h, err := domain.ReadHead(f)
	if err != nil {
		return nil, fmt.Errorf("read domain head %q: %w", path, err)
	}
	if h.Model != model {
		return nil, fmt.Errorf("domain head %q was trained on %q, the embedder is %q", path, h.Model, model)
	}
	return h, nil
}

// shippedHead is the head built into the binary for model, if any.
func shippedHead(model string) (*domain.Head, error) {
	h, ok, err := heads.Shipped(model)
	if err != nil || !ok {
		return nil, err
	}
	return h, nil
}
