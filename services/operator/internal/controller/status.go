package controller

import (
	"context"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/semrouter/semrouter/services/operator/api/v1alpha1"
)

// setDegraded records a rejected spec; nothing else is changed. An invalid
// spec is permanent until the spec changes, so the phase is Failed; missing
// backends may appear (discovery is retried), so the phase stays.
func (r *Reconciler) setDegraded(ctx context.Context, sr *v1alpha1.SemanticRouter, plat Platform, reason string, problems []string) error {
	st := sr.Status.DeepCopy()
	msg := strings.Join(problems, "; ")
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionDegraded, Status: metav1.ConditionTrue,
		Reason: reason, Message: truncate(msg), ObservedGeneration: sr.Generation})
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionProgressing, Status: metav1.ConditionFalse,
		Reason: reason, Message: "the spec is rejected; the running objects are unchanged", ObservedGeneration: sr.Generation})
	if meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionAvailable) == nil {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionAvailable, Status: metav1.ConditionFalse,
			Reason: reason, Message: "nothing deployed yet", ObservedGeneration: sr.Generation})
	}
	switch {
	case reason == reasonInvalidSpec:
		st.Phase = v1alpha1.PhaseFailed
	case st.Phase == "" || st.Phase == v1alpha1.PhaseFailed:
		st.Phase = v1alpha1.PhasePending
	}
	st.ObservedGeneration = sr.Generation
	st.GatewayMode = gatewayMode(sr)
	st.OpenShiftFeatures = openShiftFeatures(sr, plat)
	return r.writeStatus(ctx, sr, st)
}

// updateStatus derives phase and conditions from the Deployments.
func (r *Reconciler) updateStatus(ctx context.Context, sr *v1alpha1.SemanticRouter, plat Platform, hash string) error {
	st := sr.Status.DeepCopy()
	var front appsv1.Deployment
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: sr.Namespace, Name: sr.Name}, &front); err != nil {
		return fmt.Errorf("read deployment: %w", err)
	}
	desired := int32(1)
	if front.Spec.Replicas != nil {
		desired = *front.Spec.Replicas
	}
	st.Replicas = front.Status.Replicas
	st.ReadyReplicas = front.Status.ReadyReplicas

	var all appsv1.DeploymentList
	if err := r.Client.List(ctx, &all, client.InNamespace(sr.Namespace), client.MatchingLabels(instanceLabels(sr))); err != nil {
		return fmt.Errorf("list deployments: %w", err)
	}
	var waiting []string
	for _, d := range all.Items {
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		if d.Status.ObservedGeneration < d.Generation || d.Status.UpdatedReplicas < want || d.Status.ReadyReplicas < want {
			waiting = append(waiting, fmt.Sprintf("%s %d/%d ready", d.Name, d.Status.ReadyReplicas, want))
		}
	}
	gen := sr.Generation
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionDegraded, Status: metav1.ConditionFalse,
		Reason: "SpecValid", Message: "config rendered and validated", ObservedGeneration: gen})
	switch {
	case len(waiting) == 0 && desired > 0:
		st.Phase = v1alpha1.PhaseRunning
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionProgressing, Status: metav1.ConditionFalse,
			Reason: "RolloutComplete", Message: "every deployment is ready", ObservedGeneration: gen})
	default:
		st.Phase = v1alpha1.PhaseProgressing
		if front.Status.ReadyReplicas == 0 && front.Status.Replicas == 0 {
			st.Phase = v1alpha1.PhasePending
		}
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionProgressing, Status: metav1.ConditionTrue,
			Reason: "RollingOut", Message: truncate("waiting for " + strings.Join(waiting, ", ")), ObservedGeneration: gen})
	}
	if front.Status.ReadyReplicas > 0 {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionAvailable, Status: metav1.ConditionTrue,
			Reason: "MinimumReplicasReady", Message: fmt.Sprintf("%d/%d router pods ready", front.Status.ReadyReplicas, desired), ObservedGeneration: gen})
	} else {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionAvailable, Status: metav1.ConditionFalse,
			Reason: "NoReadyReplicas", Message: "no router pod is ready", ObservedGeneration: gen})
	}
	st.ObservedGeneration = gen
	st.GatewayMode = gatewayMode(sr)
	st.OpenShiftFeatures = openShiftFeatures(sr, plat)
	st.ConfigHash = hash
	return r.writeStatus(ctx, sr, st)
}

func (r *Reconciler) writeStatus(ctx context.Context, sr *v1alpha1.SemanticRouter, st *v1alpha1.SemanticRouterStatus) error {
	sr.Status = *st
	if err := r.Client.Status().Update(ctx, sr); err != nil {
		return fmt.Errorf("update status: %w", err)
	}
	return nil
}

func openShiftFeatures(sr *v1alpha1.SemanticRouter, plat Platform) *v1alpha1.OpenShiftFeatures {
	if !plat.OpenShift {
		return nil
	}
	f := &v1alpha1.OpenShiftFeatures{}
	if sr.Spec.OpenShift != nil && sr.Spec.OpenShift.Routes.Enabled {
		f.RoutesEnabled = true
		f.RouteHostname = sr.Spec.OpenShift.Routes.Hostname
	}
	return f
}

// truncate keeps a condition message under the API's 32 KiB limit.
func truncate(s string) string {
	const limit = 32000
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "…"
}
