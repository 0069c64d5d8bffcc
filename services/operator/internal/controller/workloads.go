package controller

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/semrouter/semrouter/services/operator/api/v1alpha1"
)

// Platform is what the operator found in the cluster.
type Platform struct {
	// OpenShift is true when the route.openshift.io API exists.
	OpenShift bool
	// GatewayAPI is true when gateway.networking.k8s.io/v1 HTTPRoute exists.
	GatewayAPI bool
}

// podTemplate builds the pod template shared by every component.
func podTemplate(sr *v1alpha1.SemanticRouter, plat Platform, component, configHash string, containers []corev1.Container, volumes []corev1.Volume) corev1.PodTemplateSpec {
	annotations := map[string]string{annotationConfig: configHash}
	for k, v := range sr.Spec.PodAnnotations {
		annotations[k] = v
	}
	volumes = append(volumes,
		corev1.Volume{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: configMapName(sr)}}}},
		corev1.Volume{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	)
	for i := range containers {
		containers[i].SecurityContext = containerSecurityContext(sr, plat)
		containers[i].ImagePullPolicy = pullPolicy(sr)
		containers[i].VolumeMounts = append(containers[i].VolumeMounts,
			corev1.VolumeMount{Name: "config", MountPath: configMountPath, ReadOnly: true},
			corev1.VolumeMount{Name: "tmp", MountPath: "/tmp"},
		)
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels(sr, component), Annotations: annotations},
		Spec: corev1.PodSpec{
			ServiceAccountName:           serviceAccountName(sr),
			AutomountServiceAccountToken: ptr.To(false),
			SecurityContext:              podSecurityContext(sr, plat),
			ImagePullSecrets:             sr.Spec.ImagePullSecrets,
			Containers:                   containers,
			Volumes:                      volumes,
		},
	}
}

func pullPolicy(sr *v1alpha1.SemanticRouter) corev1.PullPolicy {
	if sr.Spec.Image.PullPolicy != "" {
		return sr.Spec.Image.PullPolicy
	}
	return corev1.PullIfNotPresent
}

// podSecurityContext is non-root everywhere; outside OpenShift it also pins
// uid/gid 1000, while on OpenShift the SCC assigns them, so runAsUser,
// runAsGroup and fsGroup stay unset even when the spec sets them.
func podSecurityContext(sr *v1alpha1.SemanticRouter, plat Platform) *corev1.PodSecurityContext {
	psc := &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr.To(true),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	if !plat.OpenShift {
		psc.RunAsUser, psc.RunAsGroup, psc.FSGroup = ptr.To[int64](1000), ptr.To[int64](1000), ptr.To[int64](1000)
	}
	if u := sr.Spec.PodSecurityContext; u != nil {
		merged := u.DeepCopy()
		if merged.RunAsNonRoot == nil {
			merged.RunAsNonRoot = psc.RunAsNonRoot
		}
		if merged.SeccompProfile == nil {
			merged.SeccompProfile = psc.SeccompProfile
		}
		if plat.OpenShift {
			merged.RunAsUser, merged.RunAsGroup, merged.FSGroup = nil, nil, nil
		} else {
			if merged.RunAsUser == nil {
				merged.RunAsUser = psc.RunAsUser
			}
			if merged.RunAsGroup == nil {
				merged.RunAsGroup = psc.RunAsGroup
			}
			if merged.FSGroup == nil {
				merged.FSGroup = psc.FSGroup
			}
		}
		psc = merged
	}
	return psc
}

// containerSecurityContext drops every capability, forbids privilege
// escalation and keeps the root filesystem read-only unless the spec says otherwise.
func containerSecurityContext(sr *v1alpha1.SemanticRouter, plat Platform) *corev1.SecurityContext {
	sc := &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		ReadOnlyRootFilesystem:   ptr.To(true),
		RunAsNonRoot:             ptr.To(true),
	}
	if u := sr.Spec.SecurityContext; u != nil {
		merged := u.DeepCopy()
		if merged.AllowPrivilegeEscalation == nil {
			merged.AllowPrivilegeEscalation = sc.AllowPrivilegeEscalation
		}
		if merged.Capabilities == nil {
			merged.Capabilities = sc.Capabilities
		}
		if merged.ReadOnlyRootFilesystem == nil {
			merged.ReadOnlyRootFilesystem = sc.ReadOnlyRootFilesystem
		}
		if merged.RunAsNonRoot == nil {
			merged.RunAsNonRoot = sc.RunAsNonRoot
		}
		sc = merged
	}
	if plat.OpenShift {
		sc.RunAsUser, sc.RunAsGroup = nil, nil
	}
	return sc
}

func deployment(sr *v1alpha1.SemanticRouter, component string, replicas *int32, tmpl corev1.PodTemplateSpec) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: componentName(sr, component), Namespace: sr.Namespace, Labels: labels(sr, component)},
		Spec: appsv1.DeploymentSpec{
			Replicas: replicas,
			Selector: &metav1.LabelSelector{MatchLabels: selector(sr, component)},
			Template: tmpl,
		},
	}
}

func modelsVolume(sr *v1alpha1.SemanticRouter) (corev1.VolumeMount, corev1.Volume) {
	mount := corev1.VolumeMount{Name: "models", MountPath: modelsMountPath}
	vol := corev1.Volume{Name: "models"}
	switch {
	case !persistenceEnabled(sr):
		vol.VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
	case sr.Spec.Persistence.ExistingClaim != "":
		vol.VolumeSource = corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: sr.Spec.Persistence.ExistingClaim}}
	default:
		vol.VolumeSource = corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: pvcName(sr)}}
	}
	return mount, vol
}

func persistenceEnabled(sr *v1alpha1.SemanticRouter) bool {
	return sr.Spec.Persistence.Enabled == nil || *sr.Spec.Persistence.Enabled
}

func probe(spec *v1alpha1.ProbeSpec, port int32, delay, period int32) *corev1.Probe {
	if spec != nil && spec.Enabled != nil && !*spec.Enabled {
		return nil
	}
	p := &corev1.Probe{
		ProbeHandler:        corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(port)}},
		InitialDelaySeconds: delay,
		PeriodSeconds:       period,
		TimeoutSeconds:      3,
		FailureThreshold:    3,
	}
	if spec == nil {
		return p
	}
	if spec.HTTPGet != nil || spec.TCPSocket != nil || spec.GRPC != nil || spec.Exec != nil {
		p.ProbeHandler = *spec.ProbeHandler.DeepCopy()
	}
	if spec.SuccessThreshold != nil {
		p.SuccessThreshold = *spec.SuccessThreshold
	}
	if spec.InitialDelaySeconds != nil {
		p.InitialDelaySeconds = *spec.InitialDelaySeconds
	}
	if spec.PeriodSeconds != nil {
		p.PeriodSeconds = *spec.PeriodSeconds
	}
	if spec.TimeoutSeconds != nil {
		p.TimeoutSeconds = *spec.TimeoutSeconds
	}
	if spec.FailureThreshold != nil {
		p.FailureThreshold = *spec.FailureThreshold
	}
	return p
}

func storageSize(sr *v1alpha1.SemanticRouter) (resource.Quantity, error) {
	size := sr.Spec.Persistence.Size
	if size == "" {
		size = "10Gi"
	}
	q, err := resource.ParseQuantity(size)
	if err != nil {
		return q, fmt.Errorf("spec.persistence.size %q: %w", size, err)
	}
	return q, nil
}
