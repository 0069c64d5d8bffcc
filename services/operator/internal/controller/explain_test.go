package controller

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/semrouter/semrouter/services/operator/api/v1alpha1"
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

func TestCRDRejectsBadValues(t *testing.T) {
	k := needCluster(t)
	ns := k.namespace(t, "crd-validation")
	tests := []struct {
		name   string
		mutate func(*v1alpha1.SemanticRouter)
		want   string
	}{
		{"negative replicas", func(s *v1alpha1.SemanticRouter) { s.Spec.Replicas = ptr.To[int32](-1) }, "spec.replicas"},
		{"unknown backend type", func(s *v1alpha1.SemanticRouter) { s.Spec.VLLMEndpoints[0].Backend.Type = "ollama" }, "spec.vllmEndpoints[0].backend.type"},
		{"threshold above one", func(s *v1alpha1.SemanticRouter) { s.Spec.Config.ResponseCache.SimilarityThreshold = "1.5" }, "spec.config.response_cache.similarity_threshold"},
		{"port out of range", func(s *v1alpha1.SemanticRouter) { s.Spec.Service.API = &v1alpha1.PortSpec{Port: 70000} }, "spec.service.api.port"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sr := newRouter(ns, "bad-"+string(rune('a'+i)))
			tc.mutate(sr)
			err := k.client.Create(context.Background(), sr)
			if err == nil || !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("create error %v, want Invalid naming %s", err, tc.want)
			}
		})
	}
	t.Run("defaults applied", func(t *testing.T) {
		sr := newRouter(ns, "defaults")
		sr.Spec.Replicas = nil
		if err := k.client.Create(context.Background(), sr); err != nil {
			t.Fatal(err)
		}
		got := fetch(t, k, sr)
		if got.Spec.Replicas == nil || *got.Spec.Replicas != 1 || got.Spec.Image.Tag != "latest" || got.Spec.Image.PullPolicy != corev1.PullIfNotPresent ||
			got.Spec.Service.Type != corev1.ServiceTypeClusterIP || got.Spec.Persistence.Size != "10Gi" || got.Spec.VLLMEndpoints[0].Weight == nil {
			t.Errorf("defaults not applied: %+v", got.Spec)
		}
	})
}
