package controller

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/semrouter/semrouter/pkg/config"
	v1alpha1 "github.com/semrouter/semrouter/services/operator/api/v1alpha1"
	"github.com/semrouter/semrouter/services/operator/internal/kubetest"
)

func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := kubetest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// sampleDocs returns every document of an upstream sample, as JSON.
func sampleDocs(t testing.TB, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLReader(bufioReader(data))
	var docs [][]byte
	for {
		doc, err := dec.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		js, err := utilyaml.ToJSON(doc)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(bytes.TrimSpace(js)) == 0 || string(bytes.TrimSpace(js)) == "null" {
			continue
		}
		docs = append(docs, js)
	}
	return docs
}

func samplePaths(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(repoRoot(t), "..", "shared", "upstream", "operator-samples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		paths, _ = filepath.Glob("/work/shared/upstream/operator-samples/*.yaml")
	}
	if len(paths) == 0 {
		if kubetest.MustHave() {
			t.Fatal("upstream operator samples not found under /work/shared/upstream/operator-samples")
		}
		t.Skip("upstream operator samples not found")
	}
	return paths
}

// staticBackends resolves endpoints without a cluster: the Service names the
// operator would look up, with port 8000.
func staticBackends(sr *v1alpha1.SemanticRouter) []Backend {
	var out []Backend
	for _, ep := range sr.Spec.VLLMEndpoints {
		b := Backend{Ref: ep.Name, Model: ep.Model, ReasoningFamily: ep.ReasoningFamily, Weight: 1, Namespace: sr.Namespace, Port: 8000, LoRAs: ep.LoRAs}
		switch ep.Backend.Type {
		case "kserve":
			b.Service = ep.Backend.InferenceServiceName + "-predictor"
		case "llamastack":
			b.Service = "llama-stack"
		case "service":
			b.Service = ep.Backend.Service.Name
		}
		out = append(out, b)
	}
	return out
}

func TestRenderConfigUpstreamSamples(t *testing.T) {
	for _, path := range samplePaths(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			sr := decodeSampleRouter(t, path)
			rc, err := RenderConfig(sr.Namespace, sr.Spec.Config, staticBackends(sr))
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			cfg, _, err := config.Parse(rc.YAML, "rendered")
			if err != nil {
				t.Fatalf("rendered config does not parse: %v\n%s", err, rc.YAML)
			}
			for _, ep := range sr.Spec.VLLMEndpoints {
				m := cfg.Model(ep.Model)
				if m == nil {
					t.Fatalf("model %q missing from providers.models", ep.Model)
				}
				if cfg.ModelCard(ep.Model) == nil {
					t.Errorf("model %q has no routing.modelCards entry", ep.Model)
				}
			}
			if !strings.HasPrefix(rc.Hash, "sha256:") {
				t.Errorf("hash %q", rc.Hash)
			}
		})
	}
}

func decodeSampleRouter(t testing.TB, path string) *v1alpha1.SemanticRouter {
	t.Helper()
	for _, doc := range sampleDocs(t, path) {
		var probe struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &probe); err != nil {
			t.Fatal(err)
		}
		if probe.Kind != "SemanticRouter" {
			continue
		}
		sr := &v1alpha1.SemanticRouter{}
		if err := utilyaml.Unmarshal(doc, sr); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return sr
	}
	t.Fatalf("%s: no SemanticRouter", path)
	return nil
}
