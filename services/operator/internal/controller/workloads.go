package controller

import (
	"fmt"
	"strconv"

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

func metricsPort() corev1.ContainerPort {
	return corev1.ContainerPort{Name: "metrics", ContainerPort: portMetrics, Protocol: corev1.ProtocolTCP}
}

func natsArg(sr *v1alpha1.SemanticRouter) []string { return []string{"--nats-url", natsURL(sr)} }

// deployments returns every Deployment of the router.
func deployments(sr *v1alpha1.SemanticRouter, plat Platform, configHash string) []*appsv1.Deployment {
	p := servicePorts(sr)
	var out []*appsv1.Deployment

	// gateway (+ Envoy in standalone mode): the front, scaled by spec.replicas.
	gw := corev1.Container{
		Name:  "gateway-extproc",
		Image: image(sr, "gateway-extproc"),
		Args: append(append(natsArg(sr), "--extproc-addr", ":"+strconv.Itoa(int(p.grpcTarget)),
			"--api-addr", ":"+strconv.Itoa(int(p.apiTarget))), sr.Spec.Args...),
		Ports: []corev1.ContainerPort{
			{Name: "grpc", ContainerPort: p.grpcTarget, Protocol: corev1.ProtocolTCP},
			{Name: "api", ContainerPort: p.apiTarget, Protocol: corev1.ProtocolTCP},
			metricsPort(),
		},
		Env:            sr.Spec.Env,
		Resources:      sr.Spec.Resources,
		LivenessProbe:  probe(sr.Spec.LivenessProbe, p.grpcTarget, 10, 10),
		ReadinessProbe: probe(sr.Spec.ReadinessProbe, p.apiTarget, 5, 5),
		StartupProbe:   probe(sr.Spec.StartupProbe, p.grpcTarget, 0, 5),
	}
	containers := []corev1.Container{gw}
	if standalone(sr) {
		containers = append(containers, corev1.Container{
			Name:  "envoy",
			Image: envoyImage,
			Args:  []string{"-c", configMountPath + "/envoy.yaml", "--log-level", "info"},
			Ports: []corev1.ContainerPort{
				{Name: "http", ContainerPort: portEnvoyHTTP, Protocol: corev1.ProtocolTCP},
				{Name: "envoy-admin", ContainerPort: portEnvoyAdmin, Protocol: corev1.ProtocolTCP},
			},
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")}},
		})
	}
	replicas := sr.Spec.Replicas
	if replicas == nil {
		replicas = ptr.To[int32](1)
	}
	gwDep := deployment(sr, componentGateway, replicas, podTemplate(sr, plat, componentGateway, configHash, containers, nil))
	gwDep.Spec.Template.Spec.NodeSelector = sr.Spec.NodeSelector
	gwDep.Spec.Template.Spec.Tolerations = sr.Spec.Tolerations
	gwDep.Spec.Template.Spec.Affinity = sr.Spec.Affinity
	if sr.Spec.Autoscaling.Enabled {
		gwDep.Spec.Replicas = nil // the HPA owns the replica count
	}
	out = append(out, gwDep)

	// config-hub: serves the config over NATS and xDS to the Envoys.
	hub := corev1.Container{
		Name:  "config-hub",
		Image: image(sr, "config-hub"),
		Args: append([]string{"--config", configMountPath + "/config.yaml"}, append(natsArg(sr),
			"--management-addr", ":"+strconv.Itoa(portManagement), "--xds-addr", ":"+strconv.Itoa(portXDS))...),
		Ports: []corev1.ContainerPort{
			{Name: "management", ContainerPort: portManagement, Protocol: corev1.ProtocolTCP},
			{Name: "xds", ContainerPort: portXDS, Protocol: corev1.ProtocolTCP},
			metricsPort(),
		},
		Env: sr.Spec.Env,
	}
	out = append(out, deployment(sr, componentConfigHub, ptr.To[int32](1),
		podTemplate(sr, plat, componentConfigHub, configHash, []corev1.Container{hub}, nil)))

	models, modelsVolume := modelsVolume(sr)
	for _, c := range []string{componentClassifier, componentCache} {
		ctr := corev1.Container{Name: c, Image: image(sr, c), Args: natsArg(sr), Ports: []corev1.ContainerPort{metricsPort()}, Env: sr.Spec.Env}
		var vols []corev1.Volume
		if c == componentClassifier {
			ctr.VolumeMounts = []corev1.VolumeMount{models}
			vols = []corev1.Volume{modelsVolume}
		}
		d := deployment(sr, c, replicas, podTemplate(sr, plat, c, configHash, []corev1.Container{ctr}, vols))
		if c == componentCache {
			d.Spec.Replicas = ptr.To[int32](1)
		}
		d.Spec.Template.Spec.NodeSelector = sr.Spec.NodeSelector
		d.Spec.Template.Spec.Tolerations = sr.Spec.Tolerations
		d.Spec.Template.Spec.Affinity = sr.Spec.Affinity
		out = append(out, d)
	}

	// embedder pool: scales on its own (spec.embedder), optionally on GPUs.
	emb := corev1.Container{
		Name:         "embedder-gpu",
		Image:        image(sr, "embedder-gpu"),
		Args:         natsArg(sr),
		Ports:        []corev1.ContainerPort{metricsPort()},
		Env:          sr.Spec.Env,
		Resources:    sr.Spec.Embedder.Resources,
		VolumeMounts: []corev1.VolumeMount{models},
	}
	embReplicas := sr.Spec.Embedder.Replicas
	if embReplicas == nil {
		embReplicas = ptr.To[int32](1)
	}
	ed := deployment(sr, componentEmbedder, embReplicas,
		podTemplate(sr, plat, componentEmbedder, configHash, []corev1.Container{emb}, []corev1.Volume{modelsVolume}))
	ed.Spec.Template.Spec.NodeSelector = sr.Spec.Embedder.NodeSelector
	ed.Spec.Template.Spec.Tolerations = sr.Spec.Embedder.Tolerations
	out = append(out, ed)

	// NATS with JetStream: the bus between the services.
	nats := corev1.Container{
		Name:  "nats",
		Image: natsImage,
		Args:  []string{"--jetstream", "--store_dir", "/data", "--http_port", "8222"},
		Ports: []corev1.ContainerPort{
			{Name: "client", ContainerPort: portNATS, Protocol: corev1.ProtocolTCP},
			{Name: "monitor", ContainerPort: 8222, Protocol: corev1.ProtocolTCP},
		},
		VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
	}
	nd := deployment(sr, componentNATS, ptr.To[int32](1), podTemplate(sr, plat, componentNATS, configHash,
		[]corev1.Container{nats}, []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}))
	nd.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	out = append(out, nd)
	return out
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
