package controller

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/semrouter/semrouter/pkg/config"
	v1alpha1 "github.com/semrouter/semrouter/services/operator/api/v1alpha1"
)

func raw(js string) *runtime.RawExtension { return &runtime.RawExtension{Raw: []byte(js)} }

func newRouter(ns, name string) *v1alpha1.SemanticRouter {
	return &v1alpha1.SemanticRouter{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.SemanticRouterSpec{
			Replicas: ptr.To[int32](1),
			VLLMEndpoints: []v1alpha1.VLLMEndpointSpec{{
				Name: "main", Model: "llama3-8b", ReasoningFamily: "qwen3",
				Backend: v1alpha1.BackendSpec{Type: "service", Service: &v1alpha1.BackendService{Name: "vllm", Port: 8000}},
			}},
			Config: v1alpha1.ConfigSpec{
				ResponseCache: &v1alpha1.ResponseCacheConfig{Enabled: ptr.To(true), SimilarityThreshold: "0.8"},
			},
		},
	}
}

func reconcileOnce(t *testing.T, r *Reconciler, sr *v1alpha1.SemanticRouter) reconcile.Result {
	t.Helper()
	res, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: types.NamespacedName{Namespace: sr.Namespace, Name: sr.Name}})
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	return res
}

func fetch(t *testing.T, k *kube, sr *v1alpha1.SemanticRouter) *v1alpha1.SemanticRouter {
	t.Helper()
	got := &v1alpha1.SemanticRouter{}
	get(t, k, sr.Namespace, sr.Name, got)
	return got
}

func renderedConfig(t *testing.T, k *kube, sr *v1alpha1.SemanticRouter) *config.Config {
	t.Helper()
	cm := &corev1.ConfigMap{}
	get(t, k, sr.Namespace, configMapName(sr), cm)
	cfg, _, err := config.Parse([]byte(cm.Data["config.yaml"]), "configmap")
	if err != nil {
		t.Fatalf("rendered config: %v", err)
	}
	return cfg
}

func TestBackendDiscovery(t *testing.T) {
	k := needCluster(t)
	ctx := context.Background()
	ns := k.namespace(t, "discovery")
	other := k.namespace(t, "discovery-models")
	ensure(t, k.client, backendService(ns, "granite-predictor", 80, nil))
	ensure(t, k.client, backendService(ns, "stack-a", 8321, map[string]string{"app": "llama-stack", "model": "l70"}))
	ensure(t, k.client, backendService(ns, "stack-b", 8321, map[string]string{"app": "llama-stack", "model": "l70"}))
	ensure(t, k.client, backendService(ns, "stack-other", 8321, map[string]string{"app": "llama-stack", "model": "l8"}))
	ensure(t, k.client, backendService(other, "vllm-remote", 8000, nil))

	tests := []struct {
		name     string
		endpoint v1alpha1.VLLMEndpointSpec
		want     []string // backend_refs endpoints of the model
	}{
		{
			name:     "kserve predictor service in the namespace",
			endpoint: v1alpha1.VLLMEndpointSpec{Name: "granite", Model: "granite-8b", Backend: v1alpha1.BackendSpec{Type: "kserve", InferenceServiceName: "granite"}},
			want:     []string{"granite-predictor.discovery.svc.cluster.local:80"},
		},
		{
			name: "llamastack services by labels",
			endpoint: v1alpha1.VLLMEndpointSpec{Name: "stack", Model: "llama-3.3-70b", Weight: ptr.To[int32](3),
				Backend: v1alpha1.BackendSpec{Type: "llamastack", DiscoveryLabels: map[string]string{"app": "llama-stack", "model": "l70"}}},
			want: []string{"stack-a.discovery.svc.cluster.local:8321", "stack-b.discovery.svc.cluster.local:8321"},
		},
		{
			name: "explicit service in another namespace",
			endpoint: v1alpha1.VLLMEndpointSpec{Name: "remote", Model: "qwen3-8b",
				Backend: v1alpha1.BackendSpec{Type: "service", Service: &v1alpha1.BackendService{Name: "vllm-remote", Namespace: other, Port: 8000}},
				LoRAs:   []v1alpha1.LoRASpec{{Name: "sql-expert", Description: "writes SQL"}, {Name: "law"}}},
			want: []string{"vllm-remote.discovery-models.svc.cluster.local:8000"},
		},
	}
	r := k.newReconciler(t)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sr := newRouter(ns, "disc-"+string(rune('a'+i)))
			sr.Spec.VLLMEndpoints = []v1alpha1.VLLMEndpointSpec{tc.endpoint}
			if err := k.client.Create(ctx, sr); err != nil {
				t.Fatal(err)
			}
			reconcileOnce(t, r, sr)
			cfg := renderedConfig(t, k, sr)
			m := cfg.Model(tc.endpoint.Model)
			if m == nil {
				t.Fatalf("model %q not rendered", tc.endpoint.Model)
			}
			var got []string
			for _, ref := range m.BackendRefs {
				got = append(got, ref.Endpoint)
				if tc.endpoint.Weight != nil && ref.Weight != int(*tc.endpoint.Weight) {
					t.Errorf("weight %d, want %d", ref.Weight, *tc.endpoint.Weight)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("backend endpoints %v, want %v", got, tc.want)
			}
			card := cfg.ModelCard(tc.endpoint.Model)
			if card == nil {
				t.Fatalf("no model card for %q", tc.endpoint.Model)
			}
			if len(card.Loras) != len(tc.endpoint.LoRAs) {
				t.Fatalf("loras %+v, want %+v", card.Loras, tc.endpoint.LoRAs)
			}
			for j, l := range tc.endpoint.LoRAs {
				if card.Loras[j].Name != l.Name || card.Loras[j].Description != l.Description {
					t.Errorf("lora %d = %+v, want %+v", j, card.Loras[j], l)
				}
			}
		})
	}

	t.Run("missing backends degrade and create nothing", func(t *testing.T) {
		sr := newRouter(ns, "disc-missing")
		sr.Spec.VLLMEndpoints = []v1alpha1.VLLMEndpointSpec{
			{Name: "ghost", Model: "m1", Backend: v1alpha1.BackendSpec{Type: "kserve", InferenceServiceName: "ghost"}},
			{Name: "nolabels", Model: "m2", Backend: v1alpha1.BackendSpec{Type: "llamastack", DiscoveryLabels: map[string]string{"app": "nothing"}}},
		}
		if err := k.client.Create(ctx, sr); err != nil {
			t.Fatal(err)
		}
		res := reconcileOnce(t, r, sr)
		if res.RequeueAfter == 0 {
			t.Errorf("missing backends are not retried")
		}
		got := fetch(t, k, sr)
		c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionDegraded)
		if c == nil || c.Status != metav1.ConditionTrue || c.Reason != "BackendDiscoveryFailed" {
			t.Fatalf("Degraded = %+v", c)
		}
		for _, want := range []string{"spec.vllmEndpoints[0]", "discovery/ghost-predictor", "spec.vllmEndpoints[1]", "app:nothing"} {
			if !strings.Contains(c.Message, want) {
				t.Errorf("message %q lacks %q", c.Message, want)
			}
		}
		if err := k.client.Get(ctx, types.NamespacedName{Namespace: ns, Name: configMapName(sr)}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
			t.Errorf("ConfigMap written for a degraded router: %v", err)
		}
	})
}

func TestInvalidSpecDegradesAndChangesNothing(t *testing.T) {
	k := needCluster(t)
	ctx := context.Background()
	ns := k.namespace(t, "invalid")
	ensure(t, k.client, backendService(ns, "vllm", 8000, nil))
	r := k.newReconciler(t)
	sr := newRouter(ns, "inv")
	if err := k.client.Create(ctx, sr); err != nil {
		t.Fatal(err)
	}
	reconcileOnce(t, r, sr)
	before := &corev1.ConfigMap{}
	get(t, k, ns, configMapName(sr), before)
	beforeDep := &appsv1.Deployment{}
	get(t, k, ns, sr.Name, beforeDep)

	tests := []struct {
		name   string
		mutate func(*v1alpha1.SemanticRouter)
		want   []string
	}{
		{
			name: "decision routes to an unknown model",
			mutate: func(s *v1alpha1.SemanticRouter) {
				s.Spec.Config.Routing = raw(`{"decisions":[{"name":"math","priority":10,"rules":{"operator":"AND","conditions":[{"type":"keyword","name":"nope"}]},"modelRefs":[{"model":"no-such-model"}]}]}`)
			},
			want: []string{"routing.decisions[0]", "no-such-model"},
		},
		{
			name: "storage class that does not exist",
			mutate: func(s *v1alpha1.SemanticRouter) {
				s.Spec.Persistence.StorageClassName = ptr.To("no-such-class")
			},
			want: []string{"spec.persistence.storageClassName", "no-such-class"},
		},
		{
			name: "NATS storage class that does not exist",
			mutate: func(s *v1alpha1.SemanticRouter) {
				s.Spec.Components.NATS.Storage = &v1alpha1.NATSStorageSpec{StorageClassName: ptr.To("no-such-js-class")}
			},
			want: []string{"spec.components.nats.storage.storageClassName", "no-such-js-class"},
		},
		{
			// only the API server's dry run finds this one
			name: "cache memory request above its limit",
			mutate: func(s *v1alpha1.SemanticRouter) {
				s.Spec.Components.Cache.Resources = &corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
				}
			},
			want: []string{"inv-cache", "resources.requests", "less than or equal to memory limit"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cur := fetch(t, k, sr)
			tc.mutate(cur)
			cur.Spec.Replicas = ptr.To[int32](4) // must not reach the Deployment either
			if err := k.client.Update(ctx, cur); err != nil {
				t.Fatal(err)
			}
			reconcileOnce(t, r, cur)
			got := fetch(t, k, sr)
			c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionDegraded)
			if c == nil || c.Status != metav1.ConditionTrue {
				t.Fatalf("Degraded = %+v", c)
			}
			for _, w := range tc.want {
				if !strings.Contains(c.Message, w) {
					t.Errorf("message %q lacks %q", c.Message, w)
				}
			}
			if got.Status.ObservedGeneration != got.Generation {
				t.Errorf("observedGeneration %d != generation %d", got.Status.ObservedGeneration, got.Generation)
			}
			if got.Status.Phase != v1alpha1.PhaseFailed || c.Reason != "InvalidSpec" {
				t.Errorf("phase %q reason %q, want Failed InvalidSpec", got.Status.Phase, c.Reason)
			}
			after := &corev1.ConfigMap{}
			get(t, k, ns, configMapName(sr), after)
			if after.ResourceVersion != before.ResourceVersion {
				t.Errorf("ConfigMap changed by an invalid spec")
			}
			afterDep := &appsv1.Deployment{}
			get(t, k, ns, sr.Name, afterDep)
			if afterDep.ResourceVersion != beforeDep.ResourceVersion || *afterDep.Spec.Replicas != 1 {
				t.Errorf("Deployment changed by an invalid spec (replicas %d)", *afterDep.Spec.Replicas)
			}
			// back to the valid spec: Degraded clears
			fixed := fetch(t, k, sr)
			fixed.Spec = newRouter(ns, "inv").Spec
			if err := k.client.Update(ctx, fixed); err != nil {
				t.Fatal(err)
			}
			reconcileOnce(t, r, fixed)
			got = fetch(t, k, sr)
			if c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionDegraded); c == nil || c.Status != metav1.ConditionFalse {
				t.Errorf("Degraded after the fix = %+v", c)
			}
			if got.Status.Phase == v1alpha1.PhaseFailed {
				t.Errorf("phase still Failed after the fix")
			}
		})
	}
}

func TestUpdatesPropagate(t *testing.T) {
	k := needCluster(t)
	ctx := context.Background()
	ns := k.namespace(t, "updates")
	ensure(t, k.client, backendService(ns, "vllm", 8000, nil))
	r := k.newReconciler(t)
	sr := newRouter(ns, "upd")
	if err := k.client.Create(ctx, sr); err != nil {
		t.Fatal(err)
	}
	reconcileOnce(t, r, sr)
	first := fetch(t, k, sr)
	hash1 := first.Status.ConfigHash

	// replicas
	first.Spec.Replicas = ptr.To[int32](3)
	if err := k.client.Update(ctx, first); err != nil {
		t.Fatal(err)
	}
	reconcileOnce(t, r, first)
	d := &appsv1.Deployment{}
	get(t, k, ns, sr.Name, d)
	if *d.Spec.Replicas != 3 {
		t.Errorf("gateway replicas %d, want 3", *d.Spec.Replicas)
	}
	if d.Spec.Template.Annotations[annotationConfig] != hash1 {
		t.Errorf("a replica change rolled the config hash")
	}

	// config: a new threshold changes the ConfigMap and rolls every pod template
	cur := fetch(t, k, sr)
	cur.Spec.Config.ResponseCache.SimilarityThreshold = "0.95"
	if err := k.client.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	reconcileOnce(t, r, cur)
	got := fetch(t, k, sr)
	if got.Status.ConfigHash == hash1 || got.Status.ConfigHash == "" {
		t.Fatalf("config hash did not change: %q", got.Status.ConfigHash)
	}
	cm := &corev1.ConfigMap{}
	get(t, k, ns, configMapName(sr), cm)
	if !strings.Contains(cm.Data["config.yaml"], "similarity_threshold: 0.95") {
		t.Errorf("ConfigMap lacks the new threshold:\n%s", cm.Data["config.yaml"])
	}
	for _, comp := range []string{componentGateway, componentConfigHub, componentClassifier, componentCache, componentEmbedder} {
		d := &appsv1.Deployment{}
		get(t, k, ns, componentName(sr, comp), d)
		if d.Spec.Template.Annotations[annotationConfig] != got.Status.ConfigHash {
			t.Errorf("%s pod template not rolled: %q", d.Name, d.Spec.Template.Annotations[annotationConfig])
		}
	}

	// a tool catalogue change is not part of config.yaml but still rolls the pods
	cur = fetch(t, k, sr)
	before := cur.Status.ConfigHash
	cur.Spec.ToolsDb = []v1alpha1.ToolEntry{{Name: "get_weather", Description: "weather by city", Parameters: raw(`{"type":"object"}`)}}
	if err := k.client.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	reconcileOnce(t, r, cur)
	get(t, k, ns, configMapName(sr), cm)
	if !strings.Contains(cm.Data["tools_db.json"], `"name": "get_weather"`) {
		t.Errorf("tools_db.json: %s", cm.Data["tools_db.json"])
	}
	get(t, k, ns, sr.Name, d)
	if h := d.Spec.Template.Annotations[annotationConfig]; h == before || h != fetch(t, k, sr).Status.ConfigHash {
		t.Errorf("tool catalogue change did not roll the pods (%s)", h)
	}

	// optional objects come and go with the spec
	cur = fetch(t, k, sr)
	cur.Spec.Autoscaling = v1alpha1.AutoscalingSpec{Enabled: true, MinReplicas: ptr.To[int32](2), MaxReplicas: 6}
	cur.Spec.Ingress = v1alpha1.IngressSpec{Enabled: true, Hosts: []v1alpha1.IngressHost{{Host: "router.example.com"}}}
	if err := k.client.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	reconcileOnce(t, r, cur)
	h := &unstructured.Unstructured{}
	h.SetAPIVersion("autoscaling/v2")
	h.SetKind("HorizontalPodAutoscaler")
	get(t, k, ns, sr.Name, h)
	if maxR, _, _ := unstructured.NestedInt64(h.Object, "spec", "maxReplicas"); maxR != 6 {
		t.Errorf("HPA maxReplicas %d", maxR)
	}
	ing := &unstructured.Unstructured{}
	ing.SetAPIVersion("networking.k8s.io/v1")
	ing.SetKind("Ingress")
	get(t, k, ns, sr.Name, ing)

	cur = fetch(t, k, sr)
	cur.Spec.Autoscaling.Enabled = false
	cur.Spec.Ingress.Enabled = false
	if err := k.client.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	reconcileOnce(t, r, cur)
	if err := k.client.Get(ctx, client.ObjectKeyFromObject(h), h); !apierrors.IsNotFound(err) {
		t.Errorf("HPA not removed: %v", err)
	}
	if err := k.client.Get(ctx, client.ObjectKeyFromObject(ing), ing); !apierrors.IsNotFound(err) {
		t.Errorf("Ingress not removed: %v", err)
	}
}

func TestStatusFollowsDeployments(t *testing.T) {
	k := needCluster(t)
	ctx := context.Background()
	ns := k.namespace(t, "status")
	ensure(t, k.client, backendService(ns, "vllm", 8000, nil))
	r := k.newReconciler(t)
	sr := newRouter(ns, "st")
	sr.Spec.Replicas = ptr.To[int32](2)
	if err := k.client.Create(ctx, sr); err != nil {
		t.Fatal(err)
	}
	reconcileOnce(t, r, sr)
	if got := fetch(t, k, sr); got.Status.Phase != v1alpha1.PhasePending {
		t.Fatalf("phase %q before any pod, want Pending", got.Status.Phase)
	}
	// No controllers run in envtest: play the Deployment controller's part.
	var list appsv1.DeploymentList
	if err := k.client.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels(instanceLabels(sr))); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 6 {
		t.Fatalf("%d deployments, want 6", len(list.Items))
	}
	setReady := func(d *appsv1.Deployment, ready int32) {
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: *d.Spec.Replicas,
			UpdatedReplicas: *d.Spec.Replicas, ReadyReplicas: ready, AvailableReplicas: ready}
		if err := k.client.Status().Update(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	for i := range list.Items {
		d := &list.Items[i]
		ready := *d.Spec.Replicas
		if d.Name == sr.Name {
			ready = 1
		}
		setReady(d, ready)
	}
	reconcileOnce(t, r, sr)
	got := fetch(t, k, sr)
	if got.Status.Phase != v1alpha1.PhaseProgressing || got.Status.ReadyReplicas != 1 || got.Status.Replicas != 2 {
		t.Errorf("status %+v, want Progressing 1/2", got.Status)
	}
	if c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionAvailable); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("Available = %+v", c)
	}
	front := &appsv1.Deployment{}
	get(t, k, ns, sr.Name, front)
	setReady(front, 2)
	reconcileOnce(t, r, sr)
	got = fetch(t, k, sr)
	if got.Status.Phase != v1alpha1.PhaseRunning || got.Status.ReadyReplicas != 2 {
		t.Errorf("status %+v, want Running 2/2", got.Status)
	}
	if c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionProgressing); c == nil || c.Status != metav1.ConditionFalse {
		t.Errorf("Progressing = %+v", c)
	}
	if got.Status.GatewayMode != v1alpha1.GatewayModeStandalone {
		t.Errorf("gatewayMode %q", got.Status.GatewayMode)
	}
}

func TestDeletionRunsFinalizer(t *testing.T) {
	k := needCluster(t)
	ctx := context.Background()
	ns := k.namespace(t, "deletion")
	ensure(t, k.client, backendService(ns, "vllm", 8000, nil))
	r := k.newReconciler(t)
	sr := newRouter(ns, "del")
	sr.Spec.Gateway = &v1alpha1.GatewaySpec{ExistingRef: &v1alpha1.GatewayRef{Name: "gw", Namespace: "gateways"}}
	sr.Spec.Autoscaling.Enabled = true
	if err := k.client.Create(ctx, sr); err != nil {
		t.Fatal(err)
	}
	reconcileOnce(t, r, sr)
	hr := emptyUnstructured("gateway.networking.k8s.io/v1", "HTTPRoute", types.NamespacedName{Namespace: ns, Name: sr.Name})
	get(t, k, ns, sr.Name, hr)

	if err := k.client.Delete(ctx, fetch(t, k, sr)); err != nil {
		t.Fatal(err)
	}
	// The finalizer holds the resource until the operator has cleaned up.
	if got := fetch(t, k, sr); got.DeletionTimestamp.IsZero() {
		t.Fatal("no deletion timestamp: the finalizer is missing")
	}
	reconcileOnce(t, r, sr)
	if err := k.client.Get(ctx, client.ObjectKeyFromObject(sr), &v1alpha1.SemanticRouter{}); !apierrors.IsNotFound(err) {
		t.Errorf("SemanticRouter still there after the finalizer: %v", err)
	}
	// envtest runs no garbage collector: everything gone was deleted by the finalizer.
	checks := []client.ObjectList{&appsv1.DeploymentList{}, &corev1.ServiceList{}, &corev1.ConfigMapList{}, &corev1.PersistentVolumeClaimList{}}
	for _, l := range checks {
		if err := k.client.List(ctx, l, client.InNamespace(ns), client.MatchingLabels(instanceLabels(sr))); err != nil {
			t.Fatal(err)
		}
		items, _ := meta.ExtractList(l)
		for _, it := range items {
			o := it.(client.Object)
			if o.GetDeletionTimestamp().IsZero() {
				t.Errorf("%T %s left behind", it, o.GetName())
			}
		}
	}
	if err := k.client.Get(ctx, client.ObjectKeyFromObject(hr), hr); !apierrors.IsNotFound(err) {
		t.Errorf("HTTPRoute left behind: %v", err)
	}
}

// TestOpenShift installs a Route CRD (standing in for OpenShift's built-in API)
// so that real discovery reports an OpenShift cluster.
func TestOpenShift(t *testing.T) {
	k := needCluster(t)
	ctx := context.Background()
	opts := envtest.CRDInstallOptions{Paths: []string{"testdata/crds/openshift"}, ErrorIfPathMissing: true}
	if _, err := envtest.InstallCRDs(k.cfg, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := envtest.UninstallCRDs(k.cfg, opts); err != nil {
			t.Error(err)
		}
		dp := k.newReconciler(t).Platform
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			p, err := dp.Detect(ctx)
			return err == nil && !p.OpenShift, nil
		})
		if err != nil {
			t.Errorf("Route API still served after uninstall: %v", err)
		}
	})
	ns := k.namespace(t, "openshift")
	ensure(t, k.client, backendService(ns, "vllm", 8000, nil))
	r := k.newReconciler(t)
	p, err := r.Platform.Detect(ctx)
	if err != nil || !p.OpenShift || !p.GatewayAPI {
		t.Fatalf("platform %+v, %v", p, err)
	}
	sr := newRouter(ns, "ocp")
	sr.Spec.OpenShift = &v1alpha1.OpenShiftSpec{Routes: v1alpha1.RoutesSpec{Enabled: true, Hostname: "router.apps.example.com"}}
	sr.Spec.PodSecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1234)}
	if err := k.client.Create(ctx, sr); err != nil {
		t.Fatal(err)
	}
	reconcileOnce(t, r, sr)
	rt := emptyUnstructured("route.openshift.io/v1", "Route", types.NamespacedName{Namespace: ns, Name: sr.Name})
	get(t, k, ns, sr.Name, rt)
	ownedBy(t, rt, sr)
	if host, _, _ := unstructured.NestedString(rt.Object, "spec", "host"); host != "router.apps.example.com" {
		t.Errorf("route host %q", host)
	}
	if term, _, _ := unstructured.NestedString(rt.Object, "spec", "tls", "termination"); term != "edge" {
		t.Errorf("route termination %q", term)
	}
	d := &appsv1.Deployment{}
	get(t, k, ns, sr.Name, d)
	psc := d.Spec.Template.Spec.SecurityContext
	if psc.RunAsUser != nil || psc.FSGroup != nil || psc.RunAsGroup != nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Errorf("OpenShift pod security context %+v: uid/gid must be left to the SCC", psc)
	}
	got := fetch(t, k, sr)
	if got.Status.OpenShiftFeatures == nil || !got.Status.OpenShiftFeatures.RoutesEnabled || got.Status.OpenShiftFeatures.RouteHostname != "router.apps.example.com" {
		t.Errorf("openshiftFeatures %+v", got.Status.OpenShiftFeatures)
	}
	// the upstream OpenShift samples
	for _, path := range samplePaths(t) {
		base := filepath.Base(path)
		if !strings.HasSuffix(base, "_route.yaml") && !strings.HasSuffix(base, "_openshift.yaml") {
			continue
		}
		t.Run(base, func(t *testing.T) {
			s := createSample(t, k, path, ns)
			reconcileOnce(t, r, s)
			got := fetch(t, k, s)
			if c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionDegraded); c == nil || c.Status != metav1.ConditionFalse {
				t.Fatalf("Degraded = %+v", c)
			}
			rt := emptyUnstructured("route.openshift.io/v1", "Route", types.NamespacedName{Namespace: ns, Name: s.Name})
			get(t, k, ns, s.Name, rt)
			ownedBy(t, rt, got)
			if host, _, _ := unstructured.NestedString(rt.Object, "spec", "host"); host != s.Spec.OpenShift.Routes.Hostname {
				t.Errorf("route host %q, want %q", host, s.Spec.OpenShift.Routes.Hostname)
			}
			if f := got.Status.OpenShiftFeatures; f == nil || !f.RoutesEnabled {
				t.Errorf("openshiftFeatures %+v", f)
			}
			d := &appsv1.Deployment{}
			get(t, k, ns, s.Name, d)
			if psc := d.Spec.Template.Spec.SecurityContext; psc.RunAsUser != nil || psc.FSGroup != nil {
				t.Errorf("pod security context %+v on OpenShift", psc)
			}
		})
	}

	// the Route goes when disabled
	got.Spec.OpenShift.Routes.Enabled = false
	if err := k.client.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	reconcileOnce(t, r, got)
	if err := k.client.Get(ctx, client.ObjectKeyFromObject(rt), rt); !apierrors.IsNotFound(err) {
		t.Errorf("Route not removed: %v", err)
	}
}
