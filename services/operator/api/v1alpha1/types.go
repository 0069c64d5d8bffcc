package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SemanticRouter deploys the semrouter microsystem (gateway, classifier, cache,
// config-hub, an embedder pool and, in standalone mode, Envoy) with a canonical
// v0.3 configuration rendered from spec.config and the discovered backends.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=sr
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.spec.replicas`
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.status.gatewayMode`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SemanticRouter struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   SemanticRouterSpec   `json:"spec,omitempty"`
	Status SemanticRouterStatus `json:"status,omitempty"`
}

// SemanticRouterList is a list of SemanticRouter resources.
//
// +kubebuilder:object:root=true
type SemanticRouterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SemanticRouter `json:"items"`
}

// SemanticRouterSpec is the desired state of a router deployment.
type SemanticRouterSpec struct {
	// Replicas is the number of router pods (gateway, classifier, cache, config-hub
	// and, in standalone mode, Envoy). Ignored while autoscaling is enabled.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=1
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// Image selects the container images.
	// +optional
	Image ImageSpec `json:"image,omitempty"`

	// ImagePullSecrets for private registries.
	// +optional
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`

	// Service configures the router Service (ports grpc, api, metrics).
	// +optional
	Service ServiceSpec `json:"service,omitempty"`

	// ServiceAccount configures the pods' service account.
	// +optional
	ServiceAccount ServiceAccountSpec `json:"serviceAccount,omitempty"`

	// Resources of the gateway container.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// Persistence is the volume that holds the models.
	// +optional
	Persistence PersistenceSpec `json:"persistence,omitempty"`

	// Config is the router configuration: the canonical v0.3 sections (providers,
	// routing, global, listeners) and the legacy flat keys of the upstream operator,
	// which are migrated to v0.3. Backends discovered from vllmEndpoints are added
	// to providers.models and routing.modelCards.
	// +optional
	Config ConfigSpec `json:"config,omitempty"`

	// VLLMEndpoints are the model backends, discovered in the cluster.
	// +optional
	VLLMEndpoints []VLLMEndpointSpec `json:"vllmEndpoints,omitempty"`

	// Embedder configures the embedding worker pool, a Deployment that scales on its own.
	// +optional
	Embedder EmbedderSpec `json:"embedder,omitempty"`

	// Autoscaling creates a HorizontalPodAutoscaler for the router pods.
	// +optional
	Autoscaling AutoscalingSpec `json:"autoscaling,omitempty"`

	// LivenessProbe of the gateway container.
	// +optional
	LivenessProbe *ProbeSpec `json:"livenessProbe,omitempty"`
	// ReadinessProbe of the gateway container.
	// +optional
	ReadinessProbe *ProbeSpec `json:"readinessProbe,omitempty"`
	// StartupProbe of the gateway container.
	// +optional
	StartupProbe *ProbeSpec `json:"startupProbe,omitempty"`

	// SecurityContext of every container. Defaults: no privilege escalation, all
	// capabilities dropped, read-only root filesystem, non-root.
	// +optional
	SecurityContext *corev1.SecurityContext `json:"securityContext,omitempty"`
	// PodSecurityContext of the pods. Defaults to runAsNonRoot, and on clusters other
	// than OpenShift runAsUser 1000 and fsGroup 1000.
	// +optional
	PodSecurityContext *corev1.PodSecurityContext `json:"podSecurityContext,omitempty"`

	// Gateway selects gateway-integration mode: with existingRef set no Envoy runs
	// in the pods and an HTTPRoute attaches the router to the named Gateway.
	// +optional
	Gateway *GatewaySpec `json:"gateway,omitempty"`

	// OpenShift features.
	// +optional
	OpenShift *OpenShiftSpec `json:"openshift,omitempty"`

	// Ingress exposes the router through an Ingress.
	// +optional
	Ingress IngressSpec `json:"ingress,omitempty"`

	// ToolsDb is the tool catalogue written next to the config (tools_db.json).
	// +optional
	ToolsDb []ToolEntry `json:"toolsDb,omitempty"`

	// NodeSelector of the router pods.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// Tolerations of the router pods.
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
	// Affinity of the router pods.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`
	// Env is added to every semrouter container (spec.components.*.env and
	// spec.embedder.env add to it per component).
	// +optional
	Env []corev1.EnvVar `json:"env,omitempty"`
	// Args are appended to the gateway container's arguments (the other
	// services take theirs from spec.components.*.args and spec.embedder.args).
	// +optional
	Args []string `json:"args,omitempty"`
	// Components tunes config-hub, the classifier, the cache and NATS:
	// extra args and env, resources, the classifier's embedding model and
	// prompt-guard folder, and JetStream storage.
	// +optional
	Components ComponentsSpec `json:"components,omitempty"`
	// PodAnnotations are added to the router pods.
	// +optional
	PodAnnotations map[string]string `json:"podAnnotations,omitempty"`
}

// ImageSpec selects images. Each service runs {imageRegistry}/{service}:{tag}
// (registry default ghcr.io/semrouter); repository, when set, replaces the
// gateway's image repository.
type ImageSpec struct {
	// Repository of the gateway image (the upstream "extproc" image slot).
	// +optional
	Repository string `json:"repository,omitempty"`
	// Tag of every semrouter image.
	// +kubebuilder:default=latest
	// +optional
	Tag string `json:"tag,omitempty"`
	// PullPolicy of every container.
	// +kubebuilder:validation:Enum=Always;Never;IfNotPresent
	// +kubebuilder:default=IfNotPresent
	// +optional
	PullPolicy corev1.PullPolicy `json:"pullPolicy,omitempty"`
	// ImageRegistry replaces the registry prefix ghcr.io/semrouter.
	// +optional
	ImageRegistry string `json:"imageRegistry,omitempty"`
}

// ServiceSpec configures the router Service.
type ServiceSpec struct {
	// Type of the Service.
	// +kubebuilder:validation:Enum=ClusterIP;NodePort;LoadBalancer
	// +kubebuilder:default=ClusterIP
	// +optional
	Type corev1.ServiceType `json:"type,omitempty"`
	// GRPC is the ext_proc port (default 50051).
	// +optional
	GRPC *PortSpec `json:"grpc,omitempty"`
	// API is the HTTP API port (default 8080).
	// +optional
	API *PortSpec `json:"api,omitempty"`
	// Metrics is the Prometheus port (default 9190).
	// +optional
	Metrics *MetricsPortSpec `json:"metrics,omitempty"`
}

// PortSpec is one Service port.
type PortSpec struct {
	// Port of the Service.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port int32 `json:"port,omitempty"`
	// TargetPort is the container port (defaults to port).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	TargetPort int32 `json:"targetPort,omitempty"`
	// Protocol of the port.
	// +kubebuilder:default=TCP
	// +optional
	Protocol corev1.Protocol `json:"protocol,omitempty"`
}

// MetricsPortSpec is the metrics port.
type MetricsPortSpec struct {
	PortSpec `json:",inline"`
	// Enabled exposes the metrics port on the Service.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
}

// ServiceAccountSpec configures the service account.
type ServiceAccountSpec struct {
	// Create a service account named name (default: the router's name).
	// +kubebuilder:default=true
	// +optional
	Create *bool `json:"create,omitempty"`
	// Name of the service account to use.
	// +optional
	Name string `json:"name,omitempty"`
	// Annotations of the created service account.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// PersistenceSpec is the models volume.
type PersistenceSpec struct {
	// Enabled mounts a PersistentVolumeClaim at /models (an emptyDir otherwise).
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// ExistingClaim uses this claim instead of creating one.
	// +optional
	ExistingClaim string `json:"existingClaim,omitempty"`
	// StorageClassName of the created claim; it must exist. Empty uses the cluster default.
	// +optional
	StorageClassName *string `json:"storageClassName,omitempty"`
	// AccessMode of the created claim.
	// +kubebuilder:default=ReadWriteOnce
	// +optional
	AccessMode corev1.PersistentVolumeAccessMode `json:"accessMode,omitempty"`
	// Size of the created claim.
	// +kubebuilder:default="10Gi"
	// +optional
	Size string `json:"size,omitempty"`
	// Annotations of the created claim.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// EmbedderSpec is the embedding worker pool.
type EmbedderSpec struct {
	// Replicas of the embedder Deployment.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=1
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`
	// Resources of the embedder container (add nvidia.com/gpu to run on GPUs).
	// Left out: the requests and limits of deploy/k8s/base.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`
	// NodeSelector of the embedder pods.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// Tolerations of the embedder pods.
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
	// Args are appended to the embedder's arguments; a flag given here
	// overrides the operator's value of it (the last occurrence wins).
	// +optional
	Args []string `json:"args,omitempty"`
	// Env is added to the embedder container after spec.env; a variable named
	// in both takes this value.
	// +optional
	Env []corev1.EnvVar `json:"env,omitempty"`
}

// AutoscalingSpec configures the HorizontalPodAutoscaler of the router pods.
type AutoscalingSpec struct {
	// Enabled creates the autoscaler.
	// +kubebuilder:default=false
	// +optional
	Enabled bool `json:"enabled,omitempty"`
	// MinReplicas of the autoscaler.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:default=1
	// +optional
	MinReplicas *int32 `json:"minReplicas,omitempty"`
	// MaxReplicas of the autoscaler.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:default=10
	// +optional
	MaxReplicas int32 `json:"maxReplicas,omitempty"`
	// TargetCPUUtilizationPercentage of the autoscaler.
	// +kubebuilder:default=80
	// +optional
	TargetCPUUtilizationPercentage *int32 `json:"targetCPUUtilizationPercentage,omitempty"`
	// TargetMemoryUtilizationPercentage of the autoscaler.
	// +optional
	TargetMemoryUtilizationPercentage *int32 `json:"targetMemoryUtilizationPercentage,omitempty"`
}

// ProbeSpec configures a probe of the gateway container. Without a handler
// (httpGet, tcpSocket, grpc, exec) the operator probes the gateway's TCP ports.
type ProbeSpec struct {
	// Handler overrides the operator's default TCP check.
	corev1.ProbeHandler `json:",inline"`
	// Enabled turns the probe on.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// InitialDelaySeconds before the first probe.
	// +optional
	InitialDelaySeconds *int32 `json:"initialDelaySeconds,omitempty"`
	// PeriodSeconds between probes.
	// +optional
	PeriodSeconds *int32 `json:"periodSeconds,omitempty"`
	// TimeoutSeconds of one probe.
	// +optional
	TimeoutSeconds *int32 `json:"timeoutSeconds,omitempty"`
	// FailureThreshold before the probe fails.
	// +optional
	FailureThreshold *int32 `json:"failureThreshold,omitempty"`
	// SuccessThreshold before the probe passes again.
	// +optional
	SuccessThreshold *int32 `json:"successThreshold,omitempty"`
}

// GatewaySpec selects gateway-integration mode.
type GatewaySpec struct {
	// ExistingRef is the Gateway (gateway.networking.k8s.io) to attach to.
	// +optional
	ExistingRef *GatewayRef `json:"existingRef,omitempty"`
}

// GatewayRef names a Gateway.
type GatewayRef struct {
	// Name of the Gateway.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Namespace of the Gateway.
	// +kubebuilder:validation:MinLength=1
	Namespace string `json:"namespace"`
}

// OpenShiftSpec holds OpenShift features.
type OpenShiftSpec struct {
	// Routes creates an OpenShift Route when the route.openshift.io API exists.
	// +optional
	Routes RoutesSpec `json:"routes,omitempty"`
}

// RoutesSpec configures the OpenShift Route.
type RoutesSpec struct {
	// Enabled creates the Route.
	// +kubebuilder:default=false
	// +optional
	Enabled bool `json:"enabled,omitempty"`
	// Hostname of the Route (generated by OpenShift when empty).
	// +optional
	Hostname string `json:"hostname,omitempty"`
	// TLS of the Route.
	// +optional
	TLS *RouteTLSSpec `json:"tls,omitempty"`
}

// RouteTLSSpec is the Route's TLS.
type RouteTLSSpec struct {
	// Termination type.
	// +kubebuilder:validation:Enum=edge;passthrough;reencrypt
	// +kubebuilder:default=edge
	// +optional
	Termination string `json:"termination,omitempty"`
	// InsecureEdgeTerminationPolicy for plain HTTP.
	// +kubebuilder:validation:Enum=Allow;Redirect;None
	// +kubebuilder:default=Redirect
	// +optional
	InsecureEdgeTerminationPolicy string `json:"insecureEdgeTerminationPolicy,omitempty"`
}

// IngressSpec configures the Ingress.
type IngressSpec struct {
	// Enabled creates the Ingress.
	// +kubebuilder:default=false
	// +optional
	Enabled bool `json:"enabled,omitempty"`
	// ClassName of the Ingress.
	// +optional
	ClassName *string `json:"className,omitempty"`
	// Annotations of the Ingress.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
	// Hosts and paths.
	// +optional
	Hosts []IngressHost `json:"hosts,omitempty"`
	// TLS of the Ingress.
	// +optional
	TLS []IngressTLS `json:"tls,omitempty"`
}

// IngressHost is one host of the Ingress.
type IngressHost struct {
	// Host name.
	// +optional
	Host string `json:"host,omitempty"`
	// Paths of the host.
	// +optional
	Paths []IngressPath `json:"paths,omitempty"`
}

// IngressPath routes a path to a Service port.
type IngressPath struct {
	// Path prefix.
	// +optional
	Path string `json:"path,omitempty"`
	// PathType (Prefix, Exact or ImplementationSpecific).
	// +optional
	PathType string `json:"pathType,omitempty"`
	// ServicePort of the router Service (default: the api port).
	// +optional
	ServicePort int32 `json:"servicePort,omitempty"`
}

// IngressTLS is one TLS block of the Ingress.
type IngressTLS struct {
	// Hosts covered by the secret.
	// +optional
	Hosts []string `json:"hosts,omitempty"`
	// SecretName of the certificate.
	// +optional
	SecretName string `json:"secretName,omitempty"`
}
