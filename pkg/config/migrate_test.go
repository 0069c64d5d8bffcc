package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMigrateGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/migrate/*.input.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no migration inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".input.yaml")
		t.Run(name, func(t *testing.T) {
			checkMigration(t, readFile(t, in), filepath.Join("testdata/migrate", name))
		})
	}
}

func TestMigrateOperatorSamples(t *testing.T) {
	samples, err := filepath.Glob(filepath.Join(upstreamDir(t), "operator-samples", "*.yaml"))
	if err != nil || len(samples) == 0 {
		t.Fatalf("no operator samples: %v", err)
	}
	for _, s := range samples {
		name := strings.TrimSuffix(filepath.Base(s), ".yaml")
		t.Run(name, func(t *testing.T) {
			data := readFile(t, s)
			shape, err := DetectShape(data)
			if err != nil || shape != ShapeOperatorResource {
				t.Fatalf("DetectShape = %v, %v; want %v", shape, err, ShapeOperatorResource)
			}
			checkMigration(t, data, filepath.Join("testdata/migrate/operator", name))
		})
	}
}

// checkMigration migrates data, checks the result validates and parses
// back to the same canonical bytes, and compares output and warnings with
// the goldens at base+".golden.yaml" and base+".warnings.golden".
func checkMigration(t *testing.T, data []byte, base string) {
	t.Helper()
	out, probs, err := Migrate(data)
	if err != nil {
		t.Fatalf("Migrate: %v\n%s", err, probs)
	}
	if probs.HasErrors() {
		t.Fatalf("Migrate reported errors:\n%s", probs.Errors())
	}
	cfg, vprobs, err := Parse(out, base)
	if err != nil {
		t.Fatalf("migrated output does not validate: %v\n%s", err, vprobs)
	}
	if cfg.Version != CanonicalVersion {
		t.Errorf("version = %q", cfg.Version)
	}
	again, _, err := Migrate(out)
	if err != nil {
		t.Fatalf("migrating the canonical output again: %v", err)
	}
	if string(again) != string(out) {
		t.Errorf("migrating canonical output is not a fixed point:\n%s\nvs\n%s", again, out)
	}
	golden(t, base+".golden.yaml", out)
	golden(t, base+".warnings.golden", []byte(probs.String()))
}

func TestDetectShape(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want Shape
	}{
		{"canonical", "version: v0.3\nproviders: {}\n", ShapeCanonical},
		{"flat v0.1", "vllm_endpoints: []\nmodel_config: {}\n", ShapeLegacyFlat},
		{"flat categories only", "categories: []\n", ShapeLegacyFlat},
		{"cli v0.2", "signals: {}\ndecisions: []\n", ShapeLegacyCLI},
		{"operator config", "prompt_guard: {enabled: true}\nresponse_cache: {enabled: true}\n", ShapeOperatorConfig},
		{"resource", "apiVersion: v1\nkind: Secret\n---\nkind: SemanticRouter\nspec: {}\n", ShapeOperatorResource},
		{"unknown", "hello: world\n", ShapeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DetectShape([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("DetectShape = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMigrateRejects(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		wantErr error
		wantMsg string
	}{
		{"unknown layout", "hello: world\n", ErrUnknownShape, "unrecognised"},
		{"not yaml", "a: [\n", nil, "parse yaml"},
		{"two routers", "kind: SemanticRouter\nspec: {}\n---\nkind: SemanticRouter\nspec: {}\n", ErrUnknownShape, "more than one"},
		{"migrated result invalid", "default_model: missing\nvllm_endpoints: []\n", nil, "does not validate"},
		{"bad type in legacy block", "prompt_guard:\n  threshold: [1]\n", nil, "expected a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Migrate([]byte(tt.doc))
			if err == nil {
				t.Fatal("Migrate succeeded")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v is not %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
		})
	}
}

func TestMigrateOperatorSpecConfigOnly(t *testing.T) {
	// The operator will pass spec.config alone (no vllmEndpoints).
	doc := `
prompt_guard:
  enabled: true
  threshold: "0.7"
response_cache:
  enabled: true
  backend_type: memory
  similarity_threshold: "0.85"
tools:
  enabled: true
  top_k: 3
default_reasoning_effort: medium
`
	// spec.config alone declares no model: the values convert, but the
	// result is not a usable router, so it does not validate.
	out, probs, err := Migrate([]byte(doc))
	if err == nil || !strings.Contains(err.Error(), "providers.models: at least one model is required") {
		t.Fatalf("Migrate error = %v; want the missing-model problem\n%s", err, probs)
	}
	cfg, dprobs, err := Decode(out, "spec.config")
	if err != nil || dprobs.HasErrors() {
		t.Fatalf("Decode: %v\n%s", err, dprobs)
	}
	if got := *cfg.Global.Stores.ResponseCache.SimilarityThreshold; got != 0.85 {
		t.Errorf("quoted similarity threshold migrated to %v, want 0.85", got)
	}
	if got := cfg.Global.ModelCatalog.Modules.PromptGuard.Threshold; got != 0.7 {
		t.Errorf("prompt guard threshold = %v", got)
	}
	if os.Getenv("SEMROUTER_DEBUG_MIGRATE") != "" {
		t.Logf("%s", out)
	}
}
