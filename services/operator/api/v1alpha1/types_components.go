package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
)

// ComponentsSpec tunes the semrouter services other than the gateway, which
// keeps the top-level args, env, resources and probes, and the embedder pool,
// which keeps spec.embedder. Every field is optional: left out, a component
// runs like its Deployment in deploy/k8s/base.
type ComponentsSpec struct {
	// ConfigHub is the config-hub container.
	// +optional
	ConfigHub ComponentSpec `json:"configHub,omitempty"`
	// Classifier is the classifier container.
	// +optional
	Classifier ClassifierSpec `json:"classifier,omitempty"`
	// Cache is the response-cache container.
	// +optional
	Cache ComponentSpec `json:"cache,omitempty"`
	// NATS is the NATS server with JetStream that the services talk over.
	// +optional
	NATS NATSSpec `json:"nats,omitempty"`
}

// ComponentSpec is the container of one semrouter service.
type ComponentSpec struct {
	// Args are appended to the arguments the operator passes; a flag given
	// here overrides the operator's value of it (the last occurrence wins).
	// +optional
	Args []string `json:"args,omitempty"`
	// Env is added after spec.env; a variable named in both takes this value.
	// +optional
	Env []corev1.EnvVar `json:"env,omitempty"`
	// Resources of the container. Left out: the requests and limits of
	// deploy/k8s/base.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
}

// ClassifierSpec is the classifier container.
type ClassifierSpec struct {
	ComponentSpec `json:",inline"`
	// EmbedModel is the embedding model the classifier and the gateway ask the
	// embedder pool for (--embed-model). Default use-lite, which the embedder
	// image carries; without it the embedding, domain and complexity signals
	// never match. When unset and SEMROUTER_EMBED_MODEL is in the container's
	// env, the variable decides instead.
	// +optional
	EmbedModel string `json:"embedModel,omitempty"`
	// GuardDir is the prompt-guard package (llm_guardrail) inside the
	// classifier image (--guard-dir). Default /opt/semrouter/guard, where the
	// image has it; pass args ["--guard-dir="] for pattern-only jailbreak
	// rules. When unset and SEMROUTER_GUARD_DIR is in the container's env,
	// the variable decides instead.
	// +optional
	GuardDir string `json:"guardDir,omitempty"`
}

// NATSSpec is the NATS server.
type NATSSpec struct {
	// Resources of the NATS container. Left out: the requests and limits of
	// deploy/k8s/base.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
	// Storage keeps JetStream's data (config history, KV buckets, the cache's
	// write stream) on a PersistentVolumeClaim, so a NATS restart keeps it.
	// Left out, JetStream stores in an emptyDir that a restart empties.
	// Removing it later leaves the claim in place (it is deleted with the router).
	// +optional
	Storage *NATSStorageSpec `json:"storage,omitempty"`
}

// NATSStorageSpec is the claim that holds JetStream's data.
type NATSStorageSpec struct {
	// Size of the claim.
	// +kubebuilder:default="5Gi"
	// +optional
	Size string `json:"size,omitempty"`
	// StorageClassName of the claim; it must exist. Empty uses the cluster default.
	// +optional
	StorageClassName *string `json:"storageClassName,omitempty"`
	// Annotations of the claim.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}
