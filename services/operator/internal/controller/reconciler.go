// Package controller reconciles SemanticRouter resources into the semrouter
// microsystem: a validated ConfigMap, the Deployments of every service and of
// the embedder pool, Services, the models PVC and the optional HPA, Ingress,
// OpenShift Route and Gateway API HTTPRoute.
package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1alpha1 "github.com/semrouter/semrouter/services/operator/api/v1alpha1"
)

// PlatformDetector says which optional APIs the cluster serves.
type PlatformDetector interface {
	Detect(ctx context.Context) (Platform, error)
}

// Reconciler reconciles SemanticRouter resources.
type Reconciler struct {
	Client client.Client
	// Reader reads the management token and NATS users Secrets without a cache (the
	// manager's API reader), so the operator watches no Secrets; nil: Client.
	Reader   client.Reader
	Scheme   *runtime.Scheme
	Platform PlatformDetector
	Logger   *slog.Logger
}

var _ reconcile.Reconciler = (*Reconciler)(nil)

// Reasons of a Degraded condition for a rejected spec.
const (
	reasonInvalidSpec     = "InvalidSpec"
	reasonDiscoveryFailed = "BackendDiscoveryFailed"
)

// retryDiscovery is how soon a router whose backends are missing is looked at again.
const retryDiscovery = 30 * time.Second

// SetupWithManager registers the reconciler with a manager.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.SemanticRouter{}).
		Owns(&appsv1.Deployment{}).
		// Services are both owned and discovered (kserve predictors, Llama Stack,
		// explicit backends): any change re-renders every router of the namespace.
		Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(r.routersInNamespace)).
		Owns(&corev1.ConfigMap{}).
		Owns(&corev1.PersistentVolumeClaim{}).
		Named("semanticrouter").
		Complete(r)
}

// routersInNamespace maps an object to every SemanticRouter of its namespace.
func (r *Reconciler) routersInNamespace(ctx context.Context, obj client.Object) []reconcile.Request {
	var list v1alpha1.SemanticRouterList
	if err := r.Client.List(ctx, &list, client.InNamespace(obj.GetNamespace())); err != nil {
		r.Logger.Warn("list semantic routers", slog.String("namespace", obj.GetNamespace()), slog.Any("error", err))
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, sr := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: sr.Namespace, Name: sr.Name}})
	}
	return reqs
}

// Reconcile brings the objects of one SemanticRouter in line with its spec.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	log := r.Logger.With(slog.String("semanticrouter", req.String()))
	sr := &v1alpha1.SemanticRouter{}
	if err := r.Client.Get(ctx, req.NamespacedName, sr); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !sr.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, r.finalize(ctx, sr, log)
	}
	if !controllerutil.ContainsFinalizer(sr, finalizerName) {
		controllerutil.AddFinalizer(sr, finalizerName)
		if err := r.Client.Update(ctx, sr); err != nil {
			return reconcile.Result{}, fmt.Errorf("add finalizer: %w", err)
		}
	}
	plat, err := r.Platform.Detect(ctx)
	if err != nil {
		return reconcile.Result{}, fmt.Errorf("detect platform: %w", err)
	}

	// Everything that can be wrong with the spec is found before anything is written.
	backends, derr := discoverBackends(ctx, r.Client, sr)
	var problems []string
	var dErr *DiscoveryError
	switch {
	case errors.As(derr, &dErr):
		problems = append(problems, dErr.Problems...)
	case derr != nil:
		return reconcile.Result{}, derr
	}
	var rendered *RenderedConfig
	if len(problems) == 0 {
		rc, err := RenderConfig(sr.Namespace, sr.Spec.Config, backends)
		var cErr *ConfigError
		switch {
		case errors.As(err, &cErr):
			problems = append(problems, cErr.Problems...)
		case err != nil:
			return reconcile.Result{}, err
		default:
			rendered = rc
		}
	}
	problems = append(problems, r.checkStorage(ctx, sr)...)
	if len(problems) > 0 {
		reason := reasonInvalidSpec
		if dErr != nil {
			reason = reasonDiscoveryFailed
		}
		log.Warn("spec rejected", slog.Any("problems", problems))
		if err := r.setDegraded(ctx, sr, plat, reason, problems); err != nil {
			return reconcile.Result{}, err
		}
		if dErr != nil {
			return reconcile.Result{RequeueAfter: retryDiscovery}, nil
		}
		return reconcile.Result{}, nil
	}
	for _, w := range rendered.Warnings {
		log.Debug("config migration", slog.String("warning", w))
	}

	objs, hash, err := r.desired(sr, plat, rendered)
	if err != nil {
		return reconcile.Result{}, err
	}
	// What only the API server can judge (resource quantities, immutable
	// fields, a claim that cannot shrink) is found by a dry run of every object.
	problems, err = r.dryRun(ctx, sr, objs)
	if err != nil {
		return reconcile.Result{}, err
	}
	if len(problems) > 0 {
		log.Warn("spec rejected by the API server", slog.Any("problems", problems))
		return reconcile.Result{}, r.setDegraded(ctx, sr, plat, reasonInvalidSpec, problems)
	}
	if err := r.ensureManagementToken(ctx, sr); err != nil {
		return reconcile.Result{}, err
	}
	if err := r.ensureNATSUsers(ctx, sr); err != nil {
		return reconcile.Result{}, err
	}
	for _, o := range objs {
		if err := r.apply(ctx, sr, o); err != nil {
			return reconcile.Result{}, err
		}
	}
	if err := r.prune(ctx, sr, plat); err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Result{}, r.updateStatus(ctx, sr, plat, hash)
}

// desired lists every object the spec asks for, and the hash of the
// ConfigMap's content that the pod templates carry (so a change rolls them).
func (r *Reconciler) desired(sr *v1alpha1.SemanticRouter, plat Platform, rendered *RenderedConfig) ([]client.Object, string, error) {
	var objs []client.Object
	cm, err := configMap(sr, rendered)
	if err != nil {
		return nil, "", err
	}
	hash := dataHash(cm.Data)
	objs = append(objs, cm, natsConfigMap(sr))
	if sa := serviceAccount(sr); sa != nil {
		objs = append(objs, sa)
	}
	claim, err := pvc(sr)
	if err != nil {
		return nil, "", err
	}
	if claim != nil {
		objs = append(objs, claim)
	}
	natsClaim, err := natsPVC(sr)
	if err != nil {
		return nil, "", err
	}
	if natsClaim != nil {
		objs = append(objs, natsClaim)
	}
	for _, d := range Deployments(sr, plat, hash) {
		objs = append(objs, d)
	}
	for _, s := range services(sr) {
		objs = append(objs, s)
	}
	if h := hpa(sr); h != nil {
		objs = append(objs, h)
	}
	if i := ingress(sr); i != nil {
		objs = append(objs, i)
	}
	if rt := route(sr); rt != nil && plat.OpenShift {
		objs = append(objs, rt)
	}
	if hr := httpRoute(sr); hr != nil && plat.GatewayAPI {
		objs = append(objs, hr)
	}
	return objs, hash, nil
}

// dataHash is a stable hash of a ConfigMap's data.
func dataHash(data map[string]string) string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%d:%s%d:%s", len(k), k, len(data[k]), data[k])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// dryRun server-side-applies every object without persisting it and returns
// the objects the API server finds invalid; other errors are returned.
func (r *Reconciler) dryRun(ctx context.Context, sr *v1alpha1.SemanticRouter, objs []client.Object) ([]string, error) {
	var problems []string
	for _, o := range objs {
		err := r.apply(ctx, sr, o.DeepCopyObject().(client.Object), client.DryRunAll)
		var status apierrors.APIStatus
		switch {
		case err == nil:
		case apierrors.IsInvalid(err) && errors.As(err, &status):
			problems = append(problems, status.Status().Message)
		default:
			return nil, err
		}
	}
	return problems, nil
}

// apply server-side-applies obj with sr as its controller owner.
func (r *Reconciler) apply(ctx context.Context, sr *v1alpha1.SemanticRouter, obj client.Object, opts ...client.ApplyOption) error {
	if err := controllerutil.SetControllerReference(sr, obj, r.Scheme); err != nil {
		return fmt.Errorf("set owner of %s: %w", obj.GetName(), err)
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		gvk, err := apiutil.GVKForObject(obj, r.Scheme)
		if err != nil {
			return fmt.Errorf("kind of %s: %w", obj.GetName(), err)
		}
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return fmt.Errorf("convert %s: %w", obj.GetName(), err)
		}
		delete(m, "status")
		unstructured.RemoveNestedField(m, "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(m, "spec", "template", "metadata", "creationTimestamp")
		u = &unstructured.Unstructured{Object: m}
		u.SetGroupVersionKind(gvk)
	}
	opts = append([]client.ApplyOption{client.FieldOwner(fieldOwner), client.ForceOwnership}, opts...)
	if err := r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), opts...); err != nil {
		return fmt.Errorf("apply %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return nil
}

// prune deletes optional objects the spec no longer asks for.
func (r *Reconciler) prune(ctx context.Context, sr *v1alpha1.SemanticRouter, plat Platform) error {
	key := types.NamespacedName{Namespace: sr.Namespace, Name: sr.Name}
	var stale []client.Object
	if hpa(sr) == nil {
		stale = append(stale, &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace}})
	}
	if ingress(sr) == nil {
		stale = append(stale, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace}})
	}
	if route(sr) == nil && plat.OpenShift {
		stale = append(stale, emptyUnstructured("route.openshift.io/v1", "Route", key))
	}
	if httpRoute(sr) == nil && plat.GatewayAPI {
		stale = append(stale, emptyUnstructured("gateway.networking.k8s.io/v1", "HTTPRoute", key))
	}
	for _, o := range stale {
		if err := r.deleteOwned(ctx, sr, o); err != nil {
			return err
		}
	}
	return nil
}

// deleteOwned deletes o when it exists and sr controls it.
func (r *Reconciler) deleteOwned(ctx context.Context, sr *v1alpha1.SemanticRouter, o client.Object) error {
	if err := r.Client.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !metav1.IsControlledBy(o, sr) {
		return nil
	}
	if err := r.Client.Delete(ctx, o); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete %s: %w", o.GetName(), err)
	}
	return nil
}

func emptyUnstructured(apiVersion, kind string, key types.NamespacedName) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetName(key.Name)
	u.SetNamespace(key.Namespace)
	return u
}

// checkStorage verifies the sizes of the claims the operator creates and
// that the StorageClasses they name exist.
func (r *Reconciler) checkStorage(ctx context.Context, sr *v1alpha1.SemanticRouter) []string {
	var problems []string
	if p := sr.Spec.Persistence; persistenceEnabled(sr) && p.ExistingClaim == "" {
		if _, err := storageSize(sr); err != nil {
			problems = append(problems, err.Error())
		}
		problems = append(problems, r.checkStorageClass(ctx, "spec.persistence.storageClassName", p.StorageClassName)...)
	}
	if st := sr.Spec.Components.NATS.Storage; st != nil {
		if _, err := natsStorageSize(st); err != nil {
			problems = append(problems, err.Error())
		}
		problems = append(problems, r.checkStorageClass(ctx, "spec.components.nats.storage.storageClassName", st.StorageClassName)...)
	}
	return problems
}

func (r *Reconciler) checkStorageClass(ctx context.Context, path string, name *string) []string {
	if name == nil || *name == "" {
		return nil
	}
	var sc storagev1.StorageClass
	err := r.Client.Get(ctx, types.NamespacedName{Name: *name}, &sc)
	switch {
	case apierrors.IsNotFound(err):
		return []string{fmt.Sprintf("%s: StorageClass %q does not exist", path, *name)}
	case err != nil:
		return []string{fmt.Sprintf("%s: look up StorageClass %q: %v", path, *name, err)}
	}
	return nil
}

// finalize deletes every object made for sr (including those that garbage
// collection cannot reach through owner references) and drops the finalizer.
func (r *Reconciler) finalize(ctx context.Context, sr *v1alpha1.SemanticRouter, log *slog.Logger) error {
	if !controllerutil.ContainsFinalizer(sr, finalizerName) {
		return nil
	}
	plat, err := r.Platform.Detect(ctx)
	if err != nil {
		return fmt.Errorf("detect platform: %w", err)
	}
	lists := []client.ObjectList{
		&appsv1.DeploymentList{}, &corev1.ServiceList{}, &corev1.ConfigMapList{}, &corev1.ServiceAccountList{},
		&corev1.PersistentVolumeClaimList{}, &autoscalingv2.HorizontalPodAutoscalerList{}, &networkingv1.IngressList{},
	}
	if plat.OpenShift {
		l := &unstructured.UnstructuredList{}
		l.SetAPIVersion("route.openshift.io/v1")
		l.SetKind("RouteList")
		lists = append(lists, l)
	}
	if plat.GatewayAPI {
		l := &unstructured.UnstructuredList{}
		l.SetAPIVersion("gateway.networking.k8s.io/v1")
		l.SetKind("HTTPRouteList")
		lists = append(lists, l)
	}
	for _, l := range lists {
		if err := r.Client.List(ctx, l, client.InNamespace(sr.Namespace), client.MatchingLabels(instanceLabels(sr))); err != nil {
			return fmt.Errorf("list owned objects: %w", err)
		}
		items, err := meta.ExtractList(l)
		if err != nil {
			return fmt.Errorf("read owned objects: %w", err)
		}
		for _, it := range items {
			o, ok := it.(client.Object)
			if !ok || !metav1.IsControlledBy(o, sr) {
				continue
			}
			if err := r.Client.Delete(ctx, o, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("delete %s: %w", o.GetName(), err)
			}
		}
	}
	log.Info("finalized")
	controllerutil.RemoveFinalizer(sr, finalizerName)
	if err := r.Client.Update(ctx, sr); err != nil {
		return fmt.Errorf("remove finalizer: %w", client.IgnoreNotFound(err))
	}
	return nil
}
