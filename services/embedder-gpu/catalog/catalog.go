// Package catalog decides which embedding models a replica serves: from the
// upstream model catalog (global.model_catalog.embeddings.semantic of a v0.3
// config) or from model names and folders given on the command line, and
// loads them.
//
// Mapping of the upstream keys (see README.md, "Model catalog"):
//
//   - bert_model_path, mmbert_model_path, qwen3_model_path, gemma_model_path,
//     multimodal_model_path: when the path (absolute, relative to the config
//     file, or relative to the models folder) is a sentence-transformers ONNX
//     folder (model.onnx + tokenizer.json), it is served as a model named after
//     the folder, with the key's family ("bert", "mmbert", "qwen3", "gemma",
//     "multimodal") as an alias. Otherwise the family name becomes an alias of
//     use-lite, with a warning (the upstream Candle weights cannot run here).
//   - embedding_config.model_type picks the default model: a family name
//     selects the model behind that alias; "use"/"use-lite" selects use-lite,
//     "static"/"glove" glove-sif-100d; empty or unknown selects use-lite.
//   - embedding_config.target_dimension truncates (and re-normalises) the
//     default model's vectors when smaller than its width.
//   - use_cpu: true runs every local model on CPU; false lets ONNX Runtime
//     use CUDA when present (the --device flag overrides both).
//   - embedding_config.backend: openai_compatible serves the remote
//     endpoint (endpoint.base_url, model, api_key_env, timeout_seconds,
//     max_retries, dimensions) as the default model, named endpoint.model;
//     any other backend value ("candle", "onnx", ...) means local models.
//
// use-lite and glove-sif-100d are always served.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
	"github.com/semrouter/semrouter/services/embedder-gpu/hfmodel"
	"github.com/semrouter/semrouter/services/embedder-gpu/ortrt"
	"github.com/semrouter/semrouter/services/embedder-gpu/remote"
)

// Kind is how a model runs.
type Kind string

// Kinds of model.
const (
	KindBuiltin             Kind = "builtin"               // a folder built by scripts/setup-models.sh
	KindSentenceTransformer Kind = "sentence-transformers" // a HuggingFace ONNX folder (hfmodel)
	KindRemote              Kind = "openai_compatible"     // an OpenAI-compatible endpoint (remote)
)

// Families are the upstream embedding model types with a *_model_path key.
func Families() []string { return []string{"bert", "mmbert", "qwen3", "gemma", "multimodal"} }

// Spec is one model to load.
type Spec struct {
	Name    string
	Aliases []string
	Kind    Kind
	// Dir is the model folder (builtin, sentence-transformers).
	Dir string
	// Dims truncates the vectors when between 1 and the native width.
	Dims int
	// Device for local models.
	Device ortrt.Device
	// Default answers requests without a model name.
	Default bool
	// Remote is the endpoint (KindRemote); APIKeyEnv names the variable
	// holding its key.
	Remote    remote.Config
	APIKeyEnv string
}

// Plan is the list of models a replica serves.
type Plan struct {
	Specs []Spec
}

// Default returns the default spec (the first when none is marked).
func (p Plan) Default() *Spec {
	for i := range p.Specs {
		if p.Specs[i].Default {
			return &p.Specs[i]
		}
	}
	if len(p.Specs) > 0 {
		return &p.Specs[0]
	}
	return nil
}

// find returns the spec named or aliased name.
func (p *Plan) find(name string) *Spec {
	for i := range p.Specs {
		if p.Specs[i].Name == name || slices.Contains(p.Specs[i].Aliases, name) {
			return &p.Specs[i]
		}
	}
	return nil
}

// Builtins returns the always-served built-in models in modelsDir
// (use-lite first, the default).
func Builtins(modelsDir string, device ortrt.Device) Plan {
	return Plan{Specs: []Spec{
		{Name: embedding.ModelUSELite, Kind: KindBuiltin, Dir: filepath.Join(modelsDir, embedding.ModelUSELite), Device: device, Default: true},
		{Name: embedding.ModelGloveSIF100D, Kind: KindBuiltin, Dir: filepath.Join(modelsDir, embedding.ModelGloveSIF100D), Device: device},
	}}
}

// Options are the inputs of FromConfig besides the config.
type Options struct {
	// ModelsDir holds the built models (.cache/models).
	ModelsDir string
	// BaseDir resolves relative model paths first (the config file's folder).
	BaseDir string
	// Device, when set, overrides use_cpu.
	Device ortrt.Device
}

const semanticPath = "global.model_catalog.embeddings.semantic"

// FromConfig maps the config's semantic embedding catalog to a plan. The
// problems name YAML paths and lines: warnings for fallbacks, errors for
// settings that cannot work.
func FromConfig(cfg *config.Config, o Options) (Plan, config.Problems) {
	var probs config.Problems
	problem := func(sev config.Severity, path, format string, args ...any) {
		probs = append(probs, config.Problem{Severity: sev, Path: path, Line: cfg.Line(path), Message: fmt.Sprintf(format, args...)})
	}
	var sem *config.SemanticEmbeddings
	if e := cfg.Global.ModelCatalog.Embeddings; e != nil {
		sem = e.Semantic
	}
	device := o.Device
	if device == "" {
		device = ortrt.DeviceAuto
		if sem != nil && sem.UseCPU {
			device = ortrt.DeviceCPU
		}
	}
	plan := Builtins(o.ModelsDir, device)
	if sem == nil {
		return plan, probs
	}
	paths := map[string]string{
		"bert": sem.BERTModelPath, "mmbert": sem.MmBERTModelPath, "qwen3": sem.Qwen3ModelPath,
		"gemma": sem.GemmaModelPath, "multimodal": sem.MultimodalModelPath,
	}
	useLite := plan.find(embedding.ModelUSELite)
	for _, family := range Families() {
		p := paths[family]
		if p == "" {
			continue
		}
		key := semanticPath + "." + family + "_model_path"
		dir, ok := resolveDir(p, o)
		if !ok {
			problem(config.SeverityWarning, key, "%q is not a sentence-transformers ONNX folder (model.onnx + tokenizer.json) here; model %q is served by %s",
				p, family, embedding.ModelUSELite)
			useLite.Aliases = append(useLite.Aliases, family)
			continue
		}
		name := filepath.Base(dir)
		if plan.find(name) != nil {
			name = family + "-" + name
		}
		plan.Specs = append(plan.Specs, Spec{Name: name, Aliases: []string{family}, Kind: KindSentenceTransformer, Dir: dir, Device: device})
		useLite = plan.find(embedding.ModelUSELite) // the append may have moved the slice
	}

	var ec config.EmbeddingSettings
	if sem.EmbeddingConfig != nil {
		ec = *sem.EmbeddingConfig
	}
	ecPath := semanticPath + ".embedding_config"
	var def *Spec
	if ec.Backend == remote.Backend {
		def = addRemote(&plan, sem.Endpoint, ec, problem)
	}
	if def == nil {
		switch t := strings.ToLower(ec.ModelType); t {
		case "", "use", "use-lite":
			def = plan.find(embedding.ModelUSELite)
		case "static", "glove", embedding.ModelGloveSIF100D:
			def = plan.find(embedding.ModelGloveSIF100D)
		default:
			def = plan.find(t)
			if def == nil {
				problem(config.SeverityWarning, ecPath+".model_type", "model_type %q has no model here; the default model is %s", ec.ModelType, embedding.ModelUSELite)
				def = plan.find(embedding.ModelUSELite)
			}
		}
	}
	for i := range plan.Specs {
		plan.Specs[i].Default = &plan.Specs[i] == def
	}
	if ec.TargetDimension > 0 && def.Kind != KindRemote {
		def.Dims = ec.TargetDimension
	}
	return plan, probs
}

func addRemote(plan *Plan, ep *config.EmbeddingEndpoint, ec config.EmbeddingSettings, problem func(config.Severity, string, string, ...any)) *Spec {
	epPath := semanticPath + ".endpoint"
	if ep == nil {
		problem(config.SeverityError, semanticPath+".embedding_config.backend", "backend %s needs %s (base_url, model)", remote.Backend, epPath)
		return nil
	}
	bad := false
	if ep.BaseURL == "" {
		problem(config.SeverityError, epPath+".base_url", "base_url is required for backend %s", remote.Backend)
		bad = true
	}
	if ep.Model == "" {
		problem(config.SeverityError, epPath+".model", "model is required for backend %s", remote.Backend)
		bad = true
	}
	if bad {
		return nil
	}
	dims := ep.Dimensions
	if dims == 0 {
		dims = ec.TargetDimension
	}
	retries := ep.MaxRetries
	spec := Spec{
		Name: ep.Model,
		Kind: KindRemote,
		Remote: remote.Config{
			Name: ep.Model, BaseURL: ep.BaseURL, Model: ep.Model, Dimensions: dims,
			Timeout: time.Duration(ep.TimeoutSeconds) * time.Second, MaxRetries: &retries,
		},
		APIKeyEnv: ep.APIKeyEnv,
	}
	if t := strings.ToLower(ec.ModelType); t != "" && slices.Contains(Families(), t) && plan.find(t) == nil {
		spec.Aliases = []string{t}
	}
	if plan.find(spec.Name) != nil {
		problem(config.SeverityError, epPath+".model", "model name %q collides with a local model", spec.Name)
		return nil
	}
	plan.Specs = append(plan.Specs, spec)
	return &plan.Specs[len(plan.Specs)-1]
}

// resolveDir finds p as a sentence-transformers folder: absolute, under
// BaseDir, or under ModelsDir.
func resolveDir(p string, o Options) (string, bool) {
	var candidates []string
	if filepath.IsAbs(p) {
		candidates = []string{p}
	} else {
		for _, base := range []string{o.BaseDir, o.ModelsDir} {
			if base != "" {
				candidates = append(candidates, filepath.Join(base, p))
			}
		}
	}
	for _, c := range candidates {
		if hfmodel.IsModelDir(c) {
			return filepath.Clean(c), true
		}
	}
	return "", false
}

// ParseModelArg turns a --model value into a spec: a built-in model name
// (use-lite, glove-sif-100d), a folder (a built model folder with meta.json
// or a sentence-transformers folder), optionally "NAME=FOLDER" to choose
// the served name.
func ParseModelArg(arg, modelsDir string, device ortrt.Device) (Spec, error) {
	name, dir, named := strings.Cut(arg, "=")
	if !named {
		dir, name = arg, ""
	}
	if !named && !strings.ContainsRune(arg, os.PathSeparator) {
		if _, err := os.Stat(filepath.Join(modelsDir, arg, "meta.json")); err == nil {
			return Spec{Name: arg, Kind: KindBuiltin, Dir: filepath.Join(modelsDir, arg), Device: device}, nil
		}
		if !hfmodel.IsModelDir(arg) {
			return Spec{}, fmt.Errorf("model %q: no folder %s (built models: %s; run scripts/setup-models.sh)",
				arg, filepath.Join(modelsDir, arg), strings.Join([]string{embedding.ModelUSELite, embedding.ModelGloveSIF100D}, ", "))
		}
	}
	if name == "" {
		name = filepath.Base(filepath.Clean(dir))
	}
	if _, err := os.Stat(filepath.Join(dir, "meta.json")); err == nil {
		return Spec{Name: name, Kind: KindBuiltin, Dir: dir, Device: device}, nil
	}
	if hfmodel.IsModelDir(dir) {
		return Spec{Name: name, Kind: KindSentenceTransformer, Dir: dir, Device: device}, nil
	}
	return Spec{}, fmt.Errorf("model %q: %s holds neither meta.json (a built model) nor model.onnx + tokenizer.json", arg, dir)
}

// Loaded is a model ready to serve.
type Loaded struct {
	Spec     Spec
	Embedder embedding.Embedder
	Backend  string // "onnxruntime" or "openai_compatible"
	close    func() error
}

// Close frees the model.
func (l Loaded) Close() error {
	if l.close == nil {
		return nil
	}
	return l.close()
}

// LoadOptions tune Load.
type LoadOptions struct {
	IntraOpThreads int
	MaxBatch       int
	// Getenv reads the API key variables of remote models (default os.Getenv).
	Getenv func(string) string
}

// Load loads every spec of plan (rt may be nil when all are remote). On
// error the models already loaded are closed.
func Load(ctx context.Context, logger *slog.Logger, rt *ortrt.Runtime, plan Plan, o LoadOptions) ([]Loaded, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var out []Loaded
	fail := func(err error) ([]Loaded, error) {
		CloseAll(out)
		return nil, err
	}
	for _, s := range plan.Specs {
		cfg := embedding.Config{Dir: s.Dir, Device: s.Device, IntraOpThreads: o.IntraOpThreads, MaxBatch: o.MaxBatch, Dims: s.Dims}
		switch s.Kind {
		case KindBuiltin:
			if rt == nil {
				return fail(fmt.Errorf("load model %q: no ONNX Runtime", s.Name))
			}
			m, err := embedding.Load(ctx, logger, rt, cfg)
			if err != nil {
				return fail(err)
			}
			if m.Name() != s.Name {
				// The served name is the spec's; the folder's meta.json names the architecture.
				out = append(out, Loaded{Spec: s, Embedder: renamed{m, s.Name}, Backend: "onnxruntime", close: m.Close})
				continue
			}
			out = append(out, Loaded{Spec: s, Embedder: m, Backend: "onnxruntime", close: m.Close})
		case KindSentenceTransformer:
			if rt == nil {
				return fail(fmt.Errorf("load model %q: no ONNX Runtime", s.Name))
			}
			m, err := hfmodel.Load(ctx, logger, rt, hfmodel.Config{Config: cfg, Name: s.Name})
			if err != nil {
				return fail(err)
			}
			out = append(out, Loaded{Spec: s, Embedder: m, Backend: "onnxruntime", close: m.Close})
		case KindRemote:
			rc := s.Remote
			if s.APIKeyEnv != "" {
				rc.APIKey = getenv(s.APIKeyEnv)
				if rc.APIKey == "" {
					logger.Warn("remote embedding API key variable is empty", slog.String("model", s.Name), slog.String("env", s.APIKeyEnv))
				}
			}
			m, err := remote.New(ctx, logger, rc)
			if err != nil {
				return fail(err)
			}
			out = append(out, Loaded{Spec: s, Embedder: m, Backend: remote.Backend})
		default:
			return fail(fmt.Errorf("load model %q: unknown kind %q", s.Name, s.Kind))
		}
	}
	return out, nil
}

// CloseAll closes every loaded model.
func CloseAll(ls []Loaded) error {
	var errs []error
	for _, l := range ls {
		if err := l.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// renamed serves a built model under another name.
type renamed struct {
	*embedding.Model
	name string
}

func (r renamed) Name() string { return r.name }

func (r renamed) Embed(ctx context.Context, texts []string) ([][]float32, embedding.Info, error) {
	vecs, info, err := r.Model.Embed(ctx, texts)
	info.Model = r.name
	return vecs, info, err
}

func (r renamed) EmbedLimit(ctx context.Context, texts []string, maxTokens int) ([][]float32, embedding.Info, error) {
	vecs, info, err := r.Model.EmbedLimit(ctx, texts, maxTokens)
	info.Model = r.name
	return vecs, info, err
}
