// Package assets loads what the in-process commands (serve, eval) need
// besides the config: embedding models on ONNX Runtime, the prompt-guard
// model and the trained domain heads, all built or fetched by make setup.
package assets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/classifier/heuristic"
	"github.com/semrouter/semrouter/services/classifier/jailbreak"
	"github.com/semrouter/semrouter/services/embedder-gpu/catalog"
	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
	"github.com/semrouter/semrouter/services/embedder-gpu/ortrt"
)

// Environment variables that locate setup-built assets outside a checkout.
const (
	EnvGuardDir    = "SEMROUTER_GUARD_DIR"
	EnvDomainHeads = "SEMROUTER_DOMAIN_HEADS"
)

// Options says where the assets are; empty fields are found from the
// environment or the checkout the process runs in.
type Options struct {
	ModelsDir     string
	GuardDir      string
	DomainHeadDir string
	Getenv        func(string) string
	Logger        *slog.Logger
}

// Assets are the loaded models. Close releases them.
type Assets struct {
	rt     *ortrt.Runtime
	Models []catalog.Loaded
	// Guard is the prompt-guard scorer; nil when it is not installed.
	Guard heuristic.JailbreakScorer
	// DomainHeadDir holds extra trained domain heads ("" uses only the
	// heads shipped in the binary).
	DomainHeadDir string
	log           *slog.Logger
}

// Load loads the embedding models the config's model catalog names.
func Load(ctx context.Context, cfg *config.Config, configPath string, o Options) (*Assets, error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	log := o.Logger
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	root, inCheckout := ortrt.FindRepoRoot(wd)
	a := &Assets{log: log}
	modelsDir, lib, err := prerequisites(o, wd)
	if err != nil {
		return nil, err
	}
	plan, probs := catalog.FromConfig(cfg, catalog.Options{ModelsDir: modelsDir, BaseDir: filepath.Dir(configPath)})
	for _, p := range probs.Warnings() {
		log.Warn("embedding model catalog", slog.String("problem", p.Error()))
	}
	if probs.HasErrors() {
		return nil, probs.Err()
	}
	if a.rt, err = ortrt.Open(log, lib); err != nil {
		return nil, fmt.Errorf("open ONNX Runtime (run make setup): %w", err)
	}
	if a.Models, err = catalog.Load(ctx, log, a.rt, plan, catalog.LoadOptions{}); err != nil {
		a.Close()
		return nil, fmt.Errorf("load embedding models (run make setup): %w", err)
	}
	guardDir := first(o.GuardDir, o.Getenv(EnvGuardDir))
	if guardDir == "" && inCheckout {
		guardDir = jailbreak.GuardDir(root)
	}
	if guardDir != "" {
		if s, err := jailbreak.Load(guardDir); err == nil {
			a.Guard = s
		} else {
			log.Warn("no prompt-guard model: jailbreak rules that need it degrade", slog.String("error", err.Error()))
		}
	}
	// Heads for the built-in models ship inside the binary; a folder is
	// only needed for heads trained on other models.
	a.DomainHeadDir = first(o.DomainHeadDir, o.Getenv(EnvDomainHeads))
	return a, nil
}

// ErrPrerequisites is wrapped by the error of Load when the models folder
// or the ONNX Runtime library cannot be found.
var ErrPrerequisites = errors.New("missing prerequisites: run from the semrouter checkout after `make setup`, or set " +
	embedding.EnvModelsDir + " (the built models, .cache/models) and " + ortrt.EnvLibrary + " (libonnxruntime.so)")

// prerequisites finds the models folder and the ONNX Runtime library,
// reporting every one that is missing at once.
func prerequisites(o Options, wd string) (modelsDir, lib string, err error) {
	var errs []error
	modelsDir = o.ModelsDir
	if modelsDir == "" {
		var merr error
		if modelsDir, merr = embedding.ResolveModelsDir(o.Getenv, wd); merr != nil {
			errs = append(errs, merr)
		}
	}
	lib, lerr := ortrt.ResolveLibraryPath(o.Getenv, wd)
	if lerr != nil {
		errs = append(errs, fmt.Errorf("find ONNX Runtime: %w", lerr))
	}
	if len(errs) > 0 {
		return "", "", fmt.Errorf("%w: %w", ErrPrerequisites, errors.Join(errs...))
	}
	return modelsDir, lib, nil
}

// Default returns the default embedding model.
func (a *Assets) Default() (embedding.Embedder, error) {
	for _, l := range a.Models {
		if l.Spec.Default {
			return l.Embedder, nil
		}
	}
	if len(a.Models) > 0 {
		return a.Models[0].Embedder, nil
	}
	return nil, errors.New("no embedding model loaded")
}

// Close releases the models and the runtime.
func (a *Assets) Close() {
	if err := catalog.CloseAll(a.Models); err != nil {
		a.log.Warn("close embedding models", slog.String("error", err.Error()))
	}
	a.Models = nil
	if a.rt != nil {
		a.rt.Close()
		a.rt = nil
	}
}

// Embedder adapts an embedding model to the classifier's Embedder.
type Embedder struct{ M embedding.Embedder }

// Embed embeds texts.
func (e Embedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	v, _, err := e.M.Embed(ctx, texts)
	return v, err
}

// Model names the model.
func (e Embedder) Model() string { return e.M.Name() }

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
