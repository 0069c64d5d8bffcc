package controller

import (
	"encoding/json"
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/semrouter/semrouter/services/operator/api/v1alpha1"
)

func objectMeta(sr *v1alpha1.SemanticRouter, name, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: sr.Namespace, Labels: labels(sr, component)}
}

// configMap holds the rendered config, the Envoy bootstrap (standalone mode)
// and the tool catalogue.
func configMap(sr *v1alpha1.SemanticRouter, rendered *RenderedConfig) (*corev1.ConfigMap, error) {
	cm := &corev1.ConfigMap{
		ObjectMeta: objectMeta(sr, configMapName(sr), componentConfigHub),
		Data:       map[string]string{"config.yaml": string(rendered.YAML)},
	}
	if standalone(sr) {
		cm.Data["envoy.yaml"] = envoyBootstrap(hubName(sr))
	}
	if len(sr.Spec.ToolsDb) > 0 {
		db, err := json.MarshalIndent(toolCatalogue(sr.Spec.ToolsDb), "", "  ")
		if err != nil {
			return nil, fmt.Errorf("encode toolsDb: %w", err)
		}
		cm.Data["tools_db.json"] = string(db)
	}
	return cm, nil
}

// envoyBootstrap points Envoy at config-hub's ADS server (cluster xds_cluster).
func envoyBootstrap(hub string) string {
	return fmt.Sprintf(`node:
  id: semrouter-envoy
  cluster: semrouter
admin:
  address:
    socket_address: {address: 127.0.0.1, port_value: %d}
dynamic_resources:
  ads_config:
    api_type: GRPC
    transport_api_version: V3
    grpc_services:
      - envoy_grpc: {cluster_name: xds_cluster}
  cds_config: {ads: {}, resource_api_version: V3}
  lds_config: {ads: {}, resource_api_version: V3}
static_resources:
  clusters:
    - name: xds_cluster
      type: STRICT_DNS
      connect_timeout: 5s
      typed_extension_protocol_options:
        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
          "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
          explicit_http_config: {http2_protocol_options: {}}
      load_assignment:
        cluster_name: xds_cluster
        endpoints:
          - lb_endpoints:
              - endpoint:
                  address:
                    socket_address: {address: %s, port_value: %d}
`, portEnvoyAdmin, hub, portXDS)
}

func services(sr *v1alpha1.SemanticRouter) []*corev1.Service {
	p := servicePorts(sr)
	typ := sr.Spec.Service.Type
	if typ == "" {
		typ = corev1.ServiceTypeClusterIP
	}
	front := &corev1.Service{
		ObjectMeta: objectMeta(sr, sr.Name, componentGateway),
		Spec: corev1.ServiceSpec{
			Type:     typ,
			Selector: selector(sr, componentGateway),
			Ports: []corev1.ServicePort{
				{Name: "grpc", Port: p.grpc, TargetPort: intstr.FromInt32(p.grpcTarget), Protocol: corev1.ProtocolTCP},
				{Name: "api", Port: p.api, TargetPort: intstr.FromInt32(p.apiTarget), Protocol: corev1.ProtocolTCP},
			},
		},
	}
	if p.metricsEnabled {
		front.Spec.Ports = append(front.Spec.Ports, corev1.ServicePort{Name: "metrics", Port: p.metrics, TargetPort: intstr.FromInt32(p.metricsTarget), Protocol: corev1.ProtocolTCP})
	}
	if standalone(sr) {
		front.Spec.Ports = append(front.Spec.Ports, corev1.ServicePort{Name: "http", Port: portEnvoyHTTP, TargetPort: intstr.FromInt32(portEnvoyHTTP), Protocol: corev1.ProtocolTCP})
	}
	hub := &corev1.Service{
		ObjectMeta: objectMeta(sr, hubName(sr), componentConfigHub),
		Spec: corev1.ServiceSpec{
			Selector: selector(sr, componentConfigHub),
			Ports: []corev1.ServicePort{
				{Name: "xds", Port: portXDS, TargetPort: intstr.FromInt32(portXDS), Protocol: corev1.ProtocolTCP},
				{Name: "management", Port: portManagement, TargetPort: intstr.FromInt32(portManagement), Protocol: corev1.ProtocolTCP},
				{Name: "metrics", Port: portMetrics, TargetPort: intstr.FromInt32(portMetrics), Protocol: corev1.ProtocolTCP},
			},
		},
	}
	nats := &corev1.Service{
		ObjectMeta: objectMeta(sr, natsName(sr), componentNATS),
		Spec: corev1.ServiceSpec{
			Selector: selector(sr, componentNATS),
			Ports:    []corev1.ServicePort{{Name: "client", Port: portNATS, TargetPort: intstr.FromInt32(portNATS), Protocol: corev1.ProtocolTCP}},
		},
	}
	return []*corev1.Service{front, hub, nats}
}

func serviceAccount(sr *v1alpha1.SemanticRouter) *corev1.ServiceAccount {
	if sr.Spec.ServiceAccount.Create != nil && !*sr.Spec.ServiceAccount.Create {
		return nil
	}
	sa := &corev1.ServiceAccount{ObjectMeta: objectMeta(sr, serviceAccountName(sr), componentGateway)}
	sa.Annotations = sr.Spec.ServiceAccount.Annotations
	sa.AutomountServiceAccountToken = ptr.To(false)
	return sa
}

func pvc(sr *v1alpha1.SemanticRouter) (*corev1.PersistentVolumeClaim, error) {
	if !persistenceEnabled(sr) || sr.Spec.Persistence.ExistingClaim != "" {
		return nil, nil
	}
	size, err := storageSize(sr)
	if err != nil {
		return nil, err
	}
	mode := sr.Spec.Persistence.AccessMode
	if mode == "" {
		mode = corev1.ReadWriteOnce
	}
	c := &corev1.PersistentVolumeClaim{
		ObjectMeta: objectMeta(sr, pvcName(sr), componentEmbedder),
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{mode},
			StorageClassName: sr.Spec.Persistence.StorageClassName,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
		},
	}
	c.Annotations = sr.Spec.Persistence.Annotations
	return c, nil
}

func hpa(sr *v1alpha1.SemanticRouter) *autoscalingv2.HorizontalPodAutoscaler {
	a := sr.Spec.Autoscaling
	if !a.Enabled {
		return nil
	}
	maxR := a.MaxReplicas
	if maxR == 0 {
		maxR = 10
	}
	cpu := ptr.To[int32](80)
	if a.TargetCPUUtilizationPercentage != nil {
		cpu = a.TargetCPUUtilizationPercentage
	}
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: objectMeta(sr, sr.Name, componentGateway),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: sr.Name},
			MinReplicas:    a.MinReplicas,
			MaxReplicas:    maxR,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: cpu}}}},
		},
	}
	if a.TargetMemoryUtilizationPercentage != nil {
		h.Spec.Metrics = append(h.Spec.Metrics, autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: a.TargetMemoryUtilizationPercentage}}})
	}
	return h
}

func ingress(sr *v1alpha1.SemanticRouter) *networkingv1.Ingress {
	in := sr.Spec.Ingress
	if !in.Enabled {
		return nil
	}
	p := servicePorts(sr)
	ing := &networkingv1.Ingress{ObjectMeta: objectMeta(sr, sr.Name, componentGateway)}
	ing.Annotations = in.Annotations
	ing.Spec.IngressClassName = in.ClassName
	for _, h := range in.Hosts {
		rule := networkingv1.IngressRule{Host: h.Host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{}}}
		paths := h.Paths
		if len(paths) == 0 {
			paths = []v1alpha1.IngressPath{{Path: "/"}}
		}
		for _, path := range paths {
			pt := networkingv1.PathType(path.PathType)
			if pt == "" {
				pt = networkingv1.PathTypePrefix
			}
			port := path.ServicePort
			if port == 0 {
				port = p.api
			}
			pathValue := path.Path
			if pathValue == "" {
				pathValue = "/"
			}
			rule.HTTP.Paths = append(rule.HTTP.Paths, networkingv1.HTTPIngressPath{
				Path: pathValue, PathType: &pt,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: sr.Name, Port: networkingv1.ServiceBackendPort{Number: port}}},
			})
		}
		ing.Spec.Rules = append(ing.Spec.Rules, rule)
	}
	for _, t := range in.TLS {
		ing.Spec.TLS = append(ing.Spec.TLS, networkingv1.IngressTLS{Hosts: t.Hosts, SecretName: t.SecretName})
	}
	return ing
}

// route is the OpenShift Route (route.openshift.io/v1) to the front Service.
func route(sr *v1alpha1.SemanticRouter) *unstructured.Unstructured {
	if sr.Spec.OpenShift == nil || !sr.Spec.OpenShift.Routes.Enabled {
		return nil
	}
	rs := sr.Spec.OpenShift.Routes
	port := "api"
	if standalone(sr) {
		port = "http"
	}
	spec := map[string]any{
		"to":   map[string]any{"kind": "Service", "name": sr.Name, "weight": int64(100)},
		"port": map[string]any{"targetPort": port},
	}
	if rs.Hostname != "" {
		spec["host"] = rs.Hostname
	}
	tls := map[string]any{"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}
	if rs.TLS != nil {
		if rs.TLS.Termination != "" {
			tls["termination"] = rs.TLS.Termination
		}
		if rs.TLS.InsecureEdgeTerminationPolicy != "" {
			tls["insecureEdgeTerminationPolicy"] = rs.TLS.InsecureEdgeTerminationPolicy
		}
	}
	spec["tls"] = tls
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion("route.openshift.io/v1")
	u.SetKind("Route")
	u.SetName(sr.Name)
	u.SetNamespace(sr.Namespace)
	u.SetLabels(labels(sr, componentGateway))
	return u
}

// httpRoute attaches the router's API to the existing Gateway
// (gateway-integration mode).
func httpRoute(sr *v1alpha1.SemanticRouter) *unstructured.Unstructured {
	if standalone(sr) {
		return nil
	}
	ref := sr.Spec.Gateway.ExistingRef
	p := servicePorts(sr)
	u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
		"parentRefs": []any{map[string]any{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": ref.Name, "namespace": ref.Namespace}},
		"rules": []any{map[string]any{
			"matches":     []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/"}}},
			"backendRefs": []any{map[string]any{"name": sr.Name, "port": int64(p.api)}},
		}},
	}}}
	u.SetAPIVersion("gateway.networking.k8s.io/v1")
	u.SetKind("HTTPRoute")
	u.SetName(sr.Name)
	u.SetNamespace(sr.Namespace)
	u.SetLabels(labels(sr, componentGateway))
	return u
}

// toolCatalogue writes every entry in the full form ({tool: {type, function}}).
func toolCatalogue(entries []v1alpha1.ToolEntry) []v1alpha1.ToolEntry {
	out := make([]v1alpha1.ToolEntry, 0, len(entries))
	for _, e := range entries {
		e = *e.DeepCopy()
		if e.Tool == nil {
			e.Tool = &v1alpha1.Tool{Type: "function", Function: v1alpha1.ToolFunction{Name: e.Name, Description: e.Description, Parameters: e.Parameters}}
		}
		if e.Tool.Type == "" {
			e.Tool.Type = "function"
		}
		e.Name, e.Parameters = "", nil
		out = append(out, e)
	}
	return out
}
