package v1alpha1_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/semrouter/semrouter/services/operator/internal/kubetest"
)

// TestCRDInSync regenerates the CRD from the Go types with controller-gen and
// compares it with the committed deploy/k8s/crd/vllm.ai_semanticrouters.yaml.
// Regenerate with:
//
//	cd services/operator && ../../.cache/bin/controller-gen object paths=./api/... \
//	  crd paths=./api/... output:crd:dir=../../deploy/k8s/crd
func TestCRDInSync(t *testing.T) {
	root, err := kubetest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	gen := filepath.Join(root, ".cache", "bin", "controller-gen")
	if _, err := os.Stat(gen); err != nil {
		if kubetest.MustHave() {
			t.Fatalf("controller-gen missing: run scripts/setup-kube.sh")
		}
		t.Skip("controller-gen missing: run scripts/setup-kube.sh")
	}
	out := t.TempDir()
	cmd := exec.Command(gen, "crd", "paths=./...", "output:crd:dir="+out)
	cmd.Dir = "."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("controller-gen: %v\n%s", err, b)
	}
	got, err := os.ReadFile(filepath.Join(out, "vllm.ai_semanticrouters.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(root, "deploy", "k8s", "crd", "vllm.ai_semanticrouters.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("deploy/k8s/crd/vllm.ai_semanticrouters.yaml is stale: regenerate it with controller-gen (see the test's comment)")
	}
}
