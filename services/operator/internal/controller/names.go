package controller

import (
	v1alpha1 "github.com/semrouter/semrouter/services/operator/api/v1alpha1"
)

// Components of a router deployment.
const (
	componentGateway    = "gateway"
	componentConfigHub  = "config-hub"
	componentClassifier = "classifier"
	componentCache      = "cache"
	componentEmbedder   = "embedder"
	componentNATS       = "nats"
)

// Ports inside the pods.
const (
	portMetrics    = 9190
	portXDS        = 18000
	portManagement = 8080
	portEnvoyHTTP  = 8801
	portEnvoyAdmin = 9901
	portNATS       = 4222
	defaultGRPC    = 50051
	defaultAPI     = 8080
	defaultMetrics = 9190
)

// Labels and annotations.
const (
	labelName          = "app.kubernetes.io/name"
	labelInstance      = "app.kubernetes.io/instance"
	labelComponent     = "app.kubernetes.io/component"
	labelManagedBy     = "app.kubernetes.io/managed-by"
	managedBy          = "semrouter-operator"
	annotationConfig   = "semrouter.io/config-hash"
	finalizerName      = "vllm.ai/semanticrouter-finalizer"
	fieldOwner         = "semrouter-operator"
	defaultRegistry    = "ghcr.io/semrouter"
	upstreamRepository = "ghcr.io/vllm-project/semantic-router/extproc"
	envoyImage         = "docker.io/envoyproxy/envoy:v1.36-latest"
	natsImage          = "docker.io/library/nats:2.12-alpine"
	configMountPath    = "/etc/semrouter"
	modelsMountPath    = "/models"
)

func labels(sr *v1alpha1.SemanticRouter, component string) map[string]string {
	l := selector(sr, component)
	l[labelName] = "semrouter"
	l[labelManagedBy] = managedBy
	return l
}

func selector(sr *v1alpha1.SemanticRouter, component string) map[string]string {
	return map[string]string{labelInstance: sr.Name, labelComponent: component}
}

// instanceLabels select every object the operator made for sr.
func instanceLabels(sr *v1alpha1.SemanticRouter) map[string]string {
	return map[string]string{labelInstance: sr.Name, labelManagedBy: managedBy}
}

func configMapName(sr *v1alpha1.SemanticRouter) string { return sr.Name + "-config" }
func pvcName(sr *v1alpha1.SemanticRouter) string       { return sr.Name + "-models" }
func natsName(sr *v1alpha1.SemanticRouter) string      { return sr.Name + "-nats" }
func natsPVCName(sr *v1alpha1.SemanticRouter) string   { return sr.Name + "-nats-data" }
func hubName(sr *v1alpha1.SemanticRouter) string       { return sr.Name + "-config-hub" }
func natsURL(sr *v1alpha1.SemanticRouter) string {
	return "nats://" + natsName(sr) + ":4222"
}

func componentName(sr *v1alpha1.SemanticRouter, component string) string {
	if component == componentGateway {
		return sr.Name
	}
	return sr.Name + "-" + component
}

func serviceAccountName(sr *v1alpha1.SemanticRouter) string {
	if sr.Spec.ServiceAccount.Name != "" {
		return sr.Spec.ServiceAccount.Name
	}
	if sr.Spec.ServiceAccount.Create != nil && !*sr.Spec.ServiceAccount.Create {
		return "default"
	}
	return sr.Name
}

func image(sr *v1alpha1.SemanticRouter, service string) string {
	tag := sr.Spec.Image.Tag
	if tag == "" {
		tag = "latest"
	}
	if service == "gateway-extproc" && sr.Spec.Image.Repository != "" && sr.Spec.Image.Repository != upstreamRepository {
		return sr.Spec.Image.Repository + ":" + tag
	}
	registry := sr.Spec.Image.ImageRegistry
	if registry == "" {
		registry = defaultRegistry
	}
	return registry + "/" + service + ":" + tag
}

type ports struct {
	grpc, grpcTarget, api, apiTarget, metrics, metricsTarget int32
	metricsEnabled                                           bool
}

func servicePorts(sr *v1alpha1.SemanticRouter) ports {
	p := ports{grpc: defaultGRPC, api: defaultAPI, metrics: defaultMetrics, metricsEnabled: true}
	s := sr.Spec.Service
	if s.GRPC != nil && s.GRPC.Port != 0 {
		p.grpc = s.GRPC.Port
	}
	if s.API != nil && s.API.Port != 0 {
		p.api = s.API.Port
	}
	if s.Metrics != nil {
		if s.Metrics.Port != 0 {
			p.metrics = s.Metrics.Port
		}
		if s.Metrics.Enabled != nil {
			p.metricsEnabled = *s.Metrics.Enabled
		}
	}
	p.grpcTarget, p.apiTarget, p.metricsTarget = p.grpc, p.api, defaultMetrics
	if s.GRPC != nil && s.GRPC.TargetPort != 0 {
		p.grpcTarget = s.GRPC.TargetPort
	}
	if s.API != nil && s.API.TargetPort != 0 {
		p.apiTarget = s.API.TargetPort
	}
	if s.Metrics != nil && s.Metrics.TargetPort != 0 {
		p.metricsTarget = s.Metrics.TargetPort
	}
	return p
}

func standalone(sr *v1alpha1.SemanticRouter) bool {
	return sr.Spec.Gateway == nil || sr.Spec.Gateway.ExistingRef == nil
}

func gatewayMode(sr *v1alpha1.SemanticRouter) string {
	if standalone(sr) {
		return v1alpha1.GatewayModeStandalone
	}
	return v1alpha1.GatewayModeIntegration
}
