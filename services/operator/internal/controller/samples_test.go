package controller

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/semrouter/semrouter/pkg/config"
	v1alpha1 "github.com/semrouter/semrouter/services/operator/api/v1alpha1"
)

// ensure creates obj, tolerating an object that is already there.
func ensure(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(context.Background(), obj, client.FieldValidation("Strict")); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

func backendService(ns, name string, port int32, lbls map[string]string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: lbls},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: port}},
		},
	}
}

// prepareBackends creates what a sample's endpoints point at: KServe predictor
// Services, plain Services and, where the sample ships none, a Llama Stack
// Service carrying the discovery labels.
func prepareBackends(t *testing.T, k *kube, sr *v1alpha1.SemanticRouter) {
	t.Helper()
	ctx := context.Background()
	for _, ep := range sr.Spec.VLLMEndpoints {
		switch ep.Backend.Type {
		case "kserve":
			ensure(t, k.client, backendService(sr.Namespace, ep.Backend.InferenceServiceName+"-predictor", 80, nil))
		case "service":
			ns := ep.Backend.Service.Namespace
			if ns == "" {
				ns = sr.Namespace
			}
			ensure(t, k.client, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
			ensure(t, k.client, backendService(ns, ep.Backend.Service.Name, ep.Backend.Service.Port, nil))
		case "llamastack":
			var list corev1.ServiceList
			if err := k.client.List(ctx, &list, client.InNamespace(sr.Namespace), client.MatchingLabels(ep.Backend.DiscoveryLabels)); err != nil {
				t.Fatal(err)
			}
			if len(list.Items) == 0 {
				ensure(t, k.client, backendService(sr.Namespace, ep.Name+"-stack", 8321, ep.Backend.DiscoveryLabels))
			}
		}
	}
	if sc := sr.Spec.Persistence.StorageClassName; sc != nil && *sc != "" {
		ensure(t, k.client, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: *sc}, Provisioner: "example.com/test"})
	}
}

// TestUpstreamSamples creates every document of every upstream sample with
// strict field validation (so our CRD must know every field the samples use),
// reconciles the SemanticRouter and checks the objects written.
func TestUpstreamSamples(t *testing.T) {
	k := needCluster(t)
	for _, path := range samplePaths(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			sr := createSample(t, k, path, "")
			r := k.newReconciler(t)
			reconcileOnce(t, r, sr)
			checkReconciled(t, k, fetch(t, k, sr))
		})
	}
}

// createSample creates every document of an upstream sample (in namespace ns
// when given) plus the backends it points at, and returns its SemanticRouter.
func createSample(t *testing.T, k *kube, path, ns string) *v1alpha1.SemanticRouter {
	t.Helper()
	ctx := context.Background()
	sr := decodeSampleRouter(t, path)
	if ns != "" {
		sr.Namespace = ns
	}
	ensure(t, k.client, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: sr.Namespace}})
	var routerDoc *unstructured.Unstructured
	for _, doc := range sampleDocs(t, path) {
		u := &unstructured.Unstructured{}
		if err := json.Unmarshal(doc, &u.Object); err != nil {
			t.Fatal(err)
		}
		u.SetNamespace(sr.Namespace)
		if u.GetKind() == "SemanticRouter" {
			routerDoc = u
			continue
		}
		ensure(t, k.client, u)
	}
	prepareBackends(t, k, sr)
	if err := k.client.Create(ctx, routerDoc, client.FieldValidation("Strict")); err != nil {
		t.Fatalf("our CRD rejects the sample: %v", err)
	}
	return sr
}

// checkReconciled asserts the objects a valid SemanticRouter must have.
func checkReconciled(t *testing.T, k *kube, sr *v1alpha1.SemanticRouter) {
	t.Helper()
	ctx := context.Background()
	if c := meta.FindStatusCondition(sr.Status.Conditions, v1alpha1.ConditionDegraded); c == nil || c.Status != metav1.ConditionFalse {
		t.Fatalf("Degraded condition = %+v, want False", c)
	}
	if sr.Status.ObservedGeneration != sr.Generation {
		t.Errorf("observedGeneration %d, generation %d", sr.Status.ObservedGeneration, sr.Generation)
	}
	if sr.Status.Phase != v1alpha1.PhasePending && sr.Status.Phase != v1alpha1.PhaseProgressing {
		t.Errorf("phase %q without ready pods", sr.Status.Phase)
	}
	if sr.Status.GatewayMode != gatewayMode(sr) {
		t.Errorf("gatewayMode %q, want %q", sr.Status.GatewayMode, gatewayMode(sr))
	}
	if !containsString(sr.Finalizers, finalizerName) {
		t.Errorf("finalizer missing: %v", sr.Finalizers)
	}

	cm := &corev1.ConfigMap{}
	get(t, k, sr.Namespace, configMapName(sr), cm)
	ownedBy(t, cm, sr)
	cfg, _, err := config.Parse([]byte(cm.Data["config.yaml"]), "configmap")
	if err != nil {
		t.Fatalf("ConfigMap config.yaml does not validate: %v", err)
	}
	for _, ep := range sr.Spec.VLLMEndpoints {
		m := cfg.Model(ep.Model)
		if m == nil || len(m.BackendRefs) == 0 {
			t.Errorf("model %q has no backend_refs in the rendered config", ep.Model)
		}
	}
	if _, ok := cm.Data["envoy.yaml"]; ok != standalone(sr) {
		t.Errorf("envoy.yaml present=%v, standalone=%v", ok, standalone(sr))
	}
	if len(sr.Spec.ToolsDb) > 0 && !strings.Contains(cm.Data["tools_db.json"], `"function"`) {
		t.Errorf("tools_db.json not in the full form: %s", cm.Data["tools_db.json"])
	}

	for _, comp := range []string{componentGateway, componentConfigHub, componentClassifier, componentCache, componentEmbedder, componentNATS} {
		d := &appsv1.Deployment{}
		get(t, k, sr.Namespace, componentName(sr, comp), d)
		ownedBy(t, d, sr)
		if h := d.Spec.Template.Annotations[annotationConfig]; h != sr.Status.ConfigHash || h == "" {
			t.Errorf("%s config hash %q, status %q", d.Name, h, sr.Status.ConfigHash)
		}
		psc := d.Spec.Template.Spec.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 1000 || psc.FSGroup == nil || *psc.FSGroup != 1000 {
			t.Errorf("%s pod security context %+v", d.Name, psc)
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			sc := c.SecurityContext
			if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.Capabilities == nil || !containsCap(sc.Capabilities.Drop, "ALL") || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Errorf("%s/%s security context %+v", d.Name, c.Name, sc)
			}
		}
		if comp == componentGateway {
			hasEnvoy := false
			for _, c := range d.Spec.Template.Spec.Containers {
				hasEnvoy = hasEnvoy || c.Name == "envoy"
			}
			if hasEnvoy != standalone(sr) {
				t.Errorf("envoy container=%v in %s mode", hasEnvoy, gatewayMode(sr))
			}
			switch {
			case sr.Spec.Autoscaling.Enabled && d.Spec.Replicas != nil:
				// the API server defaults an unset count to 1 on create; the HPA owns it afterwards
			case !sr.Spec.Autoscaling.Enabled && sr.Spec.Replicas != nil && (d.Spec.Replicas == nil || *d.Spec.Replicas != *sr.Spec.Replicas):
				t.Errorf("gateway replicas %v, spec %d", d.Spec.Replicas, *sr.Spec.Replicas)
			}
		}
	}

	svc := &corev1.Service{}
	get(t, k, sr.Namespace, sr.Name, svc)
	ownedBy(t, svc, sr)
	p := servicePorts(sr)
	want := map[string]int32{"grpc": p.grpc, "api": p.api}
	for _, sp := range svc.Spec.Ports {
		if w, ok := want[sp.Name]; ok && sp.Port != w {
			t.Errorf("service port %s = %d, want %d", sp.Name, sp.Port, w)
		}
		delete(want, sp.Name)
	}
	if len(want) > 0 {
		t.Errorf("service ports missing: %v", want)
	}

	claim := &corev1.PersistentVolumeClaim{}
	err = k.client.Get(ctx, types.NamespacedName{Namespace: sr.Namespace, Name: pvcName(sr)}, claim)
	wantPVC := persistenceEnabled(sr) && sr.Spec.Persistence.ExistingClaim == ""
	switch {
	case wantPVC && err != nil:
		t.Errorf("PVC: %v", err)
	case !wantPVC && err == nil:
		t.Errorf("PVC created although persistence is off")
	case wantPVC && sr.Spec.Persistence.StorageClassName != nil && (claim.Spec.StorageClassName == nil || *claim.Spec.StorageClassName != *sr.Spec.Persistence.StorageClassName):
		t.Errorf("PVC storage class %v", claim.Spec.StorageClassName)
	}
	if sr.Spec.Autoscaling.Enabled {
		h := &unstructured.Unstructured{}
		h.SetAPIVersion("autoscaling/v2")
		h.SetKind("HorizontalPodAutoscaler")
		get(t, k, sr.Namespace, sr.Name, h)
	}
	if !standalone(sr) {
		hr := &unstructured.Unstructured{}
		hr.SetAPIVersion("gateway.networking.k8s.io/v1")
		hr.SetKind("HTTPRoute")
		get(t, k, sr.Namespace, sr.Name, hr)
		ownedBy(t, hr, sr)
		parents, _, _ := unstructured.NestedSlice(hr.Object, "spec", "parentRefs")
		if len(parents) != 1 || parents[0].(map[string]any)["name"] != sr.Spec.Gateway.ExistingRef.Name {
			t.Errorf("HTTPRoute parentRefs %v", parents)
		}
	}
}

func get(t *testing.T, k *kube, ns, name string, obj client.Object) {
	t.Helper()
	if err := k.client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, obj); err != nil {
		t.Fatalf("get %T %s/%s: %v", obj, ns, name, err)
	}
}

func ownedBy(t *testing.T, obj client.Object, sr *v1alpha1.SemanticRouter) {
	t.Helper()
	if !metav1.IsControlledBy(obj, sr) {
		t.Errorf("%s %s is not controlled by the SemanticRouter: %v", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), obj.GetOwnerReferences())
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsCap(list []corev1.Capability, s corev1.Capability) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
