package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Phases of a SemanticRouter.
const (
	PhasePending     = "Pending"
	PhaseProgressing = "Progressing"
	PhaseRunning     = "Running"
	PhaseFailed      = "Failed"
)

// Condition types.
const (
	ConditionAvailable   = "Available"
	ConditionProgressing = "Progressing"
	ConditionDegraded    = "Degraded"
)

// Gateway modes.
const (
	GatewayModeStandalone  = "standalone"
	GatewayModeIntegration = "gateway-integration"
)

// SemanticRouterStatus is the observed state.
type SemanticRouterStatus struct {
	// Phase is Pending (no router pod yet), Progressing, Running (every
	// Deployment ready) or Failed (the latest spec was rejected as invalid;
	// the objects of the last valid spec keep running).
	// +optional
	Phase string `json:"phase,omitempty"`
	// Conditions: Available, Progressing, Degraded.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the generation last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Replicas of the router Deployment.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`
	// ReadyReplicas of the router Deployment.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// GatewayMode is standalone (Envoy in the pods) or gateway-integration.
	// +optional
	GatewayMode string `json:"gatewayMode,omitempty"`
	// OpenShiftFeatures reports the OpenShift features in use.
	// +optional
	OpenShiftFeatures *OpenShiftFeatures `json:"openshiftFeatures,omitempty"`
	// ConfigHash is the hash of the rendered configuration the pods run.
	// +optional
	ConfigHash string `json:"configHash,omitempty"`
}

// OpenShiftFeatures reports the OpenShift features in use.
type OpenShiftFeatures struct {
	// RoutesEnabled is true when a Route was created.
	RoutesEnabled bool `json:"routesEnabled"`
	// RouteHostname is the Route's host.
	// +optional
	RouteHostname string `json:"routeHostname,omitempty"`
}
