package manifests

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/operator/internal/kubetest"
)

// kustomizations is every entry point under deploy/k8s.
func kustomizations() []string {
	return []string{
		"base",
		"crd",
		"operator",
		"overlays/nats-cluster",
		"overlays/embedder-cpu",
		"overlays/embedder-gpu",
		"overlays/production",
	}
}

func render(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var out []*unstructured.Unstructured
	for _, r := range rm.Resources() {
		js, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(js); err != nil {
			t.Fatalf("%s: %v", r.CurId(), err)
		}
		out = append(out, u)
	}
	if len(out) == 0 {
		t.Fatalf("%s renders nothing", dir)
	}
	return out
}

func deployDir(t *testing.T) string {
	t.Helper()
	root, err := kubetest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "deploy", "k8s")
}

func podSpec(t *testing.T, u *unstructured.Unstructured) (*corev1.PodSpec, bool) {
	t.Helper()
	switch u.GetKind() {
	case "Deployment":
		var d appsv1.Deployment
		fromUnstructured(t, u, &d)
		return &d.Spec.Template.Spec, true
	case "StatefulSet":
		var s appsv1.StatefulSet
		fromUnstructured(t, u, &s)
		return &s.Spec.Template.Spec, true
	}
	return nil, false
}

func fromUnstructured(t *testing.T, u *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, into, true); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
}

func byKindName(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && (o.GetName() == name || strings.HasPrefix(o.GetName(), name+"-")) {
			return o
		}
	}
	return nil
}

func TestRenderedWorkloadsAreLockedDown(t *testing.T) {
	dir := deployDir(t)
	for _, k := range kustomizations() {
		t.Run(k, func(t *testing.T) {
			for _, u := range render(t, filepath.Join(dir, k)) {
				spec, ok := podSpec(t, u)
				if !ok {
					continue
				}
				psc := spec.SecurityContext
				if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil {
					t.Errorf("%s %s: pod security context %+v", u.GetKind(), u.GetName(), psc)
				}
				for _, c := range spec.Containers {
					sc := c.SecurityContext
					if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
						sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.Capabilities == nil ||
						len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) != 0 {
						t.Errorf("%s/%s: container security context %+v", u.GetName(), c.Name, sc)
					}
					if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
						t.Errorf("%s/%s: needs a CPU request and a memory limit", u.GetName(), c.Name)
					}
				}
			}
		})
	}
}

func TestBaseWiring(t *testing.T) {
	objs := render(t, filepath.Join(deployDir(t), "base"))
	args := map[string][]string{
		"config-hub":      {"--config=/etc/semrouter/config.yaml", "--nats-url=nats://nats:4222", "--management-addr=:8080", "--xds-addr=:18000", "--extproc-addr=gateway-extproc:50051", "--metrics-addr=:9190"},
		"gateway-extproc": {"--nats-url=nats://nats:4222", "--extproc-addr=:50051", "--api", "--metrics-addr=:9190", "--embed-model=use-lite"},
		"classifier":      {"--nats-url=nats://nats:4222", "--http-addr=:8081", "--metrics-addr=:9190", "--embed-model=use-lite", "--guard-dir=/opt/semrouter/guard"},
		"cache":           {"--nats-url=nats://nats:4222", "--metrics-addr=:9190"},
		"embedder-gpu":    {"--nats-url=nats://nats:4222", "--metrics-addr=:9190"},
	}
	for name, want := range args {
		u := byKindName(objs, "Deployment", name)
		if u == nil {
			t.Fatalf("Deployment %s missing", name)
		}
		spec, _ := podSpec(t, u)
		c := spec.Containers[0]
		if strings.Join(c.Args, " ") != strings.Join(want, " ") {
			t.Errorf("%s args %v, want %v", name, c.Args, want)
		}
		if c.Image != "ghcr.io/semrouter/"+name+":latest" {
			t.Errorf("%s image %s", name, c.Image)
		}
		metrics := false
		for _, p := range c.Ports {
			metrics = metrics || (p.Name == "metrics" && p.ContainerPort == 9190)
		}
		if !metrics {
			t.Errorf("%s exposes no metrics port 9190", name)
		}
		// a probe of the metrics port needs a server on it
		for what, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
			if p != nil && p.TCPSocket != nil && p.TCPSocket.Port.String() == "metrics" && !strings.Contains(strings.Join(c.Args, " "), "--metrics-addr=") {
				t.Errorf("%s %s probe checks the metrics port, but nothing serves it (no --metrics-addr)", name, what)
			}
		}
		if byKindName(objs, "PodDisruptionBudget", name) == nil {
			t.Errorf("%s has no PodDisruptionBudget", name)
		}
	}
	for _, name := range []string{"nats", "envoy"} {
		if byKindName(objs, "PodDisruptionBudget", name) == nil {
			t.Errorf("%s has no PodDisruptionBudget", name)
		}
	}

	// The config ConfigMap holds a valid canonical config, and config-hub mounts it.
	cm := byKindName(objs, "ConfigMap", "semrouter-config")
	if cm == nil {
		t.Fatal("semrouter-config ConfigMap missing")
	}
	data, _, _ := unstructured.NestedString(cm.Object, "data", "config.yaml")
	if _, _, err := config.Parse([]byte(data), "base/config.yaml"); err != nil {
		t.Errorf("base config does not validate: %v", err)
	}
	hub, _ := podSpec(t, byKindName(objs, "Deployment", "config-hub"))
	mounted := false
	for _, v := range hub.Volumes {
		mounted = mounted || (v.ConfigMap != nil && v.ConfigMap.Name == cm.GetName())
	}
	if !mounted {
		t.Errorf("config-hub does not mount ConfigMap %s: %+v", cm.GetName(), hub.Volumes)
	}

	// Envoy's bootstrap points at config-hub's ADS port through xds_cluster.
	eb := byKindName(objs, "ConfigMap", "envoy-bootstrap")
	boot, _, _ := unstructured.NestedString(eb.Object, "data", "envoy.yaml")
	for _, want := range []string{"cluster_name: xds_cluster", "address: config-hub, port_value: 18000", "ads_config"} {
		if !strings.Contains(boot, want) {
			t.Errorf("envoy bootstrap lacks %q", want)
		}
	}
	if n := len(filterKind(objs, "NetworkPolicy")); n < 2 {
		t.Errorf("%d NetworkPolicies", n)
	}
}

// TestBaseConfigFollowsQuickstart keeps deploy/k8s/base/config.yaml equal to
// config/quickstart.yaml apart from the Kubernetes addresses. To refresh it:
//
//	sed -e 's/    address: 127.0.0.1$/    address: 0.0.0.0/' \
//	    -e 's/endpoint: 127.0.0.1:8809/endpoint: llm-backend:8000/' config/quickstart.yaml
//
// (keeping the three-line header of the Kubernetes copy).
func TestBaseConfigFollowsQuickstart(t *testing.T) {
	root, err := kubetest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	quick, err := os.ReadFile(filepath.Join(root, "config", "quickstart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	kube, err := os.ReadFile(filepath.Join(root, "deploy", "k8s", "base", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	quick = regexp.MustCompile(`(?m)^    address: 127\.0\.0\.1$`).ReplaceAll(quick, []byte("    address: 0.0.0.0"))
	quick = bytes.ReplaceAll(quick, []byte("endpoint: 127.0.0.1:8809"), []byte("endpoint: llm-backend:8000"))
	hash := func(name string, data []byte) string {
		cfg, _, err := config.Parse(data, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		h, err := config.Hash(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	if hash("quickstart", quick) != hash("base/config.yaml", kube) {
		t.Error("deploy/k8s/base/config.yaml no longer matches config/quickstart.yaml: refresh it (see the test's comment)")
	}
}

func filterKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

func TestOverlays(t *testing.T) {
	dir := deployDir(t)
	t.Run("nats cluster", func(t *testing.T) {
		for _, k := range []string{"overlays/nats-cluster", "overlays/production"} {
			var ss appsv1.StatefulSet
			fromUnstructured(t, byKindName(render(t, filepath.Join(dir, k)), "StatefulSet", "nats"), &ss)
			// authenticated routes (tests/integration/natscluster_test.go runs them)
			args := strings.Join(ss.Spec.Template.Spec.Containers[0].Args, " ")
			if *ss.Spec.Replicas != 3 || !strings.Contains(args, "--cluster=nats://route:$(SEMROUTER_NATS_ROUTE_PASSWORD)@") ||
				!strings.Contains(args, "--routes=nats://route:$(SEMROUTER_NATS_ROUTE_PASSWORD)@nats-0.nats-headless:6222") {
				t.Errorf("%s: nats replicas %d args %v", k, *ss.Spec.Replicas, ss.Spec.Template.Spec.Containers[0].Args)
			}
		}
	})
	t.Run("gpu embedder", func(t *testing.T) {
		objs := render(t, filepath.Join(dir, "overlays/embedder-gpu"))
		spec, _ := podSpec(t, byKindName(objs, "Deployment", "embedder-gpu"))
		gpu := spec.Containers[0].Resources.Limits[corev1.ResourceName("nvidia.com/gpu")]
		if gpu.Value() != 1 || spec.NodeSelector["nvidia.com/gpu.present"] != "true" || len(spec.Tolerations) == 0 || spec.Tolerations[0].Key != "nvidia.com/gpu" {
			t.Errorf("GPU embedder: limits %v nodeSelector %v tolerations %v", spec.Containers[0].Resources.Limits, spec.NodeSelector, spec.Tolerations)
		}
		var h autoscalingv2.HorizontalPodAutoscaler
		fromUnstructured(t, byKindName(objs, "HorizontalPodAutoscaler", "embedder-gpu"), &h)
		if h.Spec.Metrics[0].Type != autoscalingv2.ExternalMetricSourceType || h.Spec.ScaleTargetRef.Name != "embedder-gpu" {
			t.Errorf("GPU HPA %+v", h.Spec)
		}
		for _, o := range objs {
			if spec, ok := podSpec(t, o); ok && o.GetName() != "embedder-gpu" {
				if _, ok := spec.Containers[0].Resources.Limits[corev1.ResourceName("nvidia.com/gpu")]; ok {
					t.Errorf("%s asks for a GPU", o.GetName())
				}
			}
		}
	})
	t.Run("cpu embedder", func(t *testing.T) {
		var h autoscalingv2.HorizontalPodAutoscaler
		fromUnstructured(t, byKindName(render(t, filepath.Join(dir, "overlays/embedder-cpu")), "HorizontalPodAutoscaler", "embedder-gpu"), &h)
		if h.Spec.Metrics[0].Resource == nil || h.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU {
			t.Errorf("CPU HPA %+v", h.Spec)
		}
	})
}

// TestServerSideDryRun sends every rendered object to a real kube-apiserver
// with dryRun=All and strict field validation.
func TestServerSideDryRun(t *testing.T) {
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
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dir := deployDir(t)
	for _, k := range kustomizations() {
		t.Run(k, func(t *testing.T) {
			objs := render(t, filepath.Join(dir, k))
			// Namespaces are created for real so that namespaced objects can be dry-run into them.
			for _, o := range filterKind(objs, "Namespace") {
				if err := c.Create(ctx, o.DeepCopy()); err != nil && !apierrors.IsAlreadyExists(err) {
					t.Fatalf("create namespace: %v", err)
				}
			}
			for _, o := range objs {
				if o.GetKind() == "Namespace" {
					continue
				}
				u := o.DeepCopy()
				if u.GetNamespace() == "" && namespaced(u.GetKind()) {
					u.SetNamespace("default")
				}
				err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("manifests-test"), client.ForceOwnership, client.DryRunAll)
				if err != nil {
					t.Errorf("%s %s rejected: %v", o.GetKind(), o.GetName(), err)
				}
			}
		})
	}
}

func namespaced(kind string) bool {
	switch kind {
	case "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "Namespace", "StorageClass":
		return false
	}
	return true
}
