package controller

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestExplainSchema reads the OpenAPI v3 document that `kubectl explain
// semanticrouter.spec.config` uses and checks that spec.config is described,
// with its canonical and legacy fields.
func TestExplainSchema(t *testing.T) {
	k := needCluster(t)
	dc, err := discovery.NewDiscoveryClientForConfig(k.cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The API server publishes CRD schemas asynchronously: wait for ours.
	var raw []byte
	err = wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		paths, err := dc.OpenAPIV3().Paths()
		if err != nil {
			return false, err
		}
		gv, ok := paths["apis/vllm.ai/v1alpha1"]
		if !ok {
			return false, nil
		}
		raw, err = gv.Schema("application/json")
		return err == nil && strings.Contains(string(raw), "ai.vllm.v1alpha1.SemanticRouter"), err
	})
	if err != nil {
		t.Fatalf("OpenAPI v3 document for vllm.ai/v1alpha1: %v", err)
	}
	type schema struct {
		Description string            `json:"description"`
		Properties  map[string]schema `json:"properties"`
		Default     any               `json:"default"`
	}
	var doc struct {
		Components struct {
			Schemas map[string]schema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	sr, ok := doc.Components.Schemas["ai.vllm.v1alpha1.SemanticRouter"]
	if !ok {
		t.Fatalf("SemanticRouter schema missing")
	}
	cfg := sr.Properties["spec"].Properties["config"]
	if !strings.Contains(cfg.Description, "canonical v0.3") {
		t.Errorf("spec.config description %q", cfg.Description)
	}
	for _, f := range []string{"providers", "routing", "global", "prompt_guard", "response_cache", "tools", "classifier", "reasoning_families"} {
		if cfg.Properties[f].Description == "" {
			t.Errorf("spec.config.%s is not described", f)
		}
	}
	if d := sr.Properties["spec"].Properties["replicas"].Default; d != float64(1) {
		t.Errorf("spec.replicas default %v", d)
	}
}

// TestStrictValidationCatchesUnknownFields shows that the sample test's
// strict creation would catch a field our CRD does not know.
func TestStrictValidationCatchesUnknownFields(t *testing.T) {
	k := needCluster(t)
	ns := k.namespace(t, "strict")
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "vllm.ai/v1alpha1", "kind": "SemanticRouter",
		"metadata": map[string]any{"name": "strict", "namespace": ns},
		"spec":     map[string]any{"replicas": int64(1), "config": map[string]any{"prompt_guard": map[string]any{"enabled": true, "bogus": 1}}},
	}}
	err := k.client.Create(context.Background(), u, client.FieldValidation("Strict"))
	if err == nil || !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("create error %v, want an unknown-field rejection", err)
	}
}
