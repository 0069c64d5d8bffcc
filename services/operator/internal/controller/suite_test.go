package controller

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	v1alpha1 "github.com/semrouter/semrouter/services/operator/api/v1alpha1"
	"github.com/semrouter/semrouter/services/operator/internal/kubetest"
)

// kube is the real kube-apiserver + etcd pair (envtest) every test of this
// package shares, started once by TestMain. It is nil when the binaries are
// missing outside CI.
type kube struct {
	env    *envtest.Environment
	cfg    *rest.Config
	scheme *runtime.Scheme
	client client.Client
	skip   string
}

var cluster = &kube{}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	root, err := kubetest.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	assets, missing := kubetest.Assets(root)
	if missing != "" {
		if kubetest.MustHave() {
			fmt.Fprintln(os.Stderr, "FAIL:", missing)
			return 1
		}
		cluster.skip = missing
		return m.Run()
	}
	cluster.env = &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths: []string{
			filepath.Join(root, "deploy", "k8s", "crd"),
			filepath.Join("testdata", "crds", "gateway"),
		},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := cluster.env.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start envtest:", err)
		return 1
	}
	defer func() {
		if err := cluster.env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop envtest:", err)
		}
	}()
	cluster.cfg = cfg
	cluster.scheme = runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(cluster.scheme); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := v1alpha1.AddToScheme(cluster.scheme); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cluster.client, err = client.New(cfg, client.Options{Scheme: cluster.scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// needCluster skips (or, with CI=true, TestMain already failed) when the
// binaries are missing.
func needCluster(t *testing.T) *kube {
	t.Helper()
	if cluster.skip != "" {
		t.Skip(cluster.skip)
	}
	return cluster
}

// newReconciler builds the reconciler under test against the real API server,
// with real discovery for platform detection.
func (k *kube) newReconciler(t *testing.T) *Reconciler {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(k.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &Reconciler{
		Client:   k.client,
		Scheme:   k.scheme,
		Platform: &DiscoveryPlatform{Client: dc},
		Logger:   slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

// namespace creates a fresh namespace for one test.
func (k *kube) namespace(t *testing.T, name string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := k.client.Create(context.Background(), ns); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	return name
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
