package operator

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	v1alpha1 "github.com/semrouter/semrouter/services/operator/api/v1alpha1"
	"github.com/semrouter/semrouter/services/operator/internal/kubetest"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(Options) bool
	}{
		{"defaults", nil, "", func(o Options) bool { return o.MetricsAddr == ":9190" && o.ProbeAddr == ":8081" && !o.LeaderElection }},
		{"namespace and leader election", []string{"--namespace", "ai", "--leader-elect"}, "", func(o Options) bool { return o.Namespace == "ai" && o.LeaderElection }},
		{"bad log level", []string{"--log-level", "loud"}, "--log-level", nil},
		{"unknown flag", []string{"--nope"}, "flag provided but not defined", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := parseFlags(tc.args, &stderr)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error()+stderr.String(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !tc.check(o) {
				t.Fatalf("options %+v, error %v", o, err)
			}
		})
	}
}

// TestRunHelp: -h prints the flags and is no error (exit status 0), and an
// unknown flag still is one.
func TestRunHelp(t *testing.T) {
	var stderr bytes.Buffer
	if err := Run(context.Background(), []string{"--leader-elect", "-h"}, &stderr); err != nil {
		t.Fatalf("-h: %v", err)
	}
	if !strings.Contains(stderr.String(), "-health-addr") {
		t.Errorf("-h printed %q, want the flags", stderr.String())
	}
	if err := Run(context.Background(), []string{"--nope", "-h"}, io.Discard); err == nil || !strings.Contains(err.Error(), "not defined") {
		t.Errorf("unknown flag before -h: %v", err)
	}
}

// TestManagerReconcilesThroughWatches runs the real manager (cache, watches,
// work queue) against a real API server: creating a SemanticRouter and then
// changing its config are both picked up without calling Reconcile directly.
func TestManagerReconcilesThroughWatches(t *testing.T) {
	root, err := kubetest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	assets, missing := kubetest.Assets(root)
	if missing != "" {
		if kubetest.MustHave() {
			t.Fatal(missing)
		}
		t.Skip(missing)
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets,
		CRDDirectoryPaths: []string{filepath.Join(root, "deploy", "k8s", "crd")}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Error(err)
		}
	})
	scheme, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	// The manager runs as the operator's service account with the ClusterRole
	// of deploy/k8s/operator/rbac.yaml, so a missing permission fails here.
	applyRBAC(t, c, filepath.Join(root, "deploy", "k8s", "operator", "rbac.yaml"))
	asOperator := rest.CopyConfig(cfg)
	asOperator.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:semrouter-system:semrouter-operator",
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:semrouter-system", "system:authenticated"}}
	done := make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	go func() {
		done <- RunWithConfig(ctx, asOperator, Options{MetricsAddr: "0", ProbeAddr: "0"}, logger)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})

	ns := "watched"
	for _, o := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "vllm", Namespace: ns},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 8000}}}},
		&v1alpha1.SemanticRouter{ObjectMeta: metav1.ObjectMeta{Name: "w", Namespace: ns}, Spec: v1alpha1.SemanticRouterSpec{
			VLLMEndpoints: []v1alpha1.VLLMEndpointSpec{{Name: "main", Model: "m", Backend: v1alpha1.BackendSpec{Type: "service",
				Service: &v1alpha1.BackendService{Name: "vllm", Port: 8000}}}},
			Config: v1alpha1.ConfigSpec{ResponseCache: &v1alpha1.ResponseCacheConfig{Enabled: ptr.To(true), SimilarityThreshold: "0.8"}},
		}},
	} {
		if err := c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	hashOf := func() string {
		var d appsv1.Deployment
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "w"}, &d); err != nil {
			return ""
		}
		return d.Spec.Template.Annotations["semrouter.io/config-hash"]
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) { return cond(), nil })
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}
	waitFor("the first rollout", func() bool { return hashOf() != "" })
	var token corev1.Secret
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "w-management-token"}, &token); err != nil || len(token.Data["token"]) == 0 {
		t.Errorf("config-hub's management token Secret: %v", err)
	}
	first := hashOf()

	var sr v1alpha1.SemanticRouter
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "w"}, &sr); err != nil {
		t.Fatal(err)
	}
	sr.Spec.Config.ResponseCache.SimilarityThreshold = "0.9"
	if err := c.Update(ctx, &sr); err != nil {
		t.Fatal(err)
	}
	waitFor("the config change to roll the pods", func() bool { h := hashOf(); return h != "" && h != first })
	waitFor("status to record the new generation", func() bool {
		var got v1alpha1.SemanticRouter
		return c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "w"}, &got) == nil &&
			got.Status.ObservedGeneration == got.Generation && got.Status.ConfigHash == hashOf()
	})

	// A router whose KServe predictor does not exist yet is Degraded; creating
	// the Service re-renders it through the Service watch (well before the
	// 30 s discovery retry).
	late := &v1alpha1.SemanticRouter{ObjectMeta: metav1.ObjectMeta{Name: "late", Namespace: ns}, Spec: v1alpha1.SemanticRouterSpec{
		VLLMEndpoints: []v1alpha1.VLLMEndpointSpec{{Name: "k", Model: "granite", Backend: v1alpha1.BackendSpec{Type: "kserve", InferenceServiceName: "granite"}}},
	}}
	if err := c.Create(ctx, late); err != nil {
		t.Fatal(err)
	}
	degraded := func(want metav1.ConditionStatus) func() bool {
		return func() bool {
			var got v1alpha1.SemanticRouter
			if c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "late"}, &got) != nil {
				return false
			}
			cond := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionDegraded)
			return cond != nil && cond.Status == want
		}
	}
	waitFor("the router to report its missing backend", degraded(metav1.ConditionTrue))
	predictor := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "granite-predictor", Namespace: ns},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
	if err := c.Create(ctx, predictor); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 15*time.Second, true, func(context.Context) (bool, error) { return degraded(metav1.ConditionFalse)(), nil })
	if err != nil {
		t.Fatalf("the new predictor Service was not picked up by the watch: %v", err)
	}
}

// applyRBAC creates the ClusterRoles and ClusterRoleBindings of a manifest file.
func applyRBAC(t *testing.T, c client.Client, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("decode %s: %v", path, err)
		}
		if k := u.GetKind(); k != "ClusterRole" && k != "ClusterRoleBinding" {
			continue
		}
		if err := c.Create(context.Background(), u); err != nil {
			t.Fatalf("create %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
}
