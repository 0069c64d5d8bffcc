package controller

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/semrouter/semrouter/services/operator/api/v1alpha1"
)

// DiscoveryError lists the endpoints whose Services could not be found.
type DiscoveryError struct {
	Problems []string
}

func (e *DiscoveryError) Error() string {
	return fmt.Sprintf("backend discovery: %v", e.Problems)
}

// discoverBackends resolves every spec.vllmEndpoints entry to Services:
//   - kserve: the Service {inferenceServiceName}-predictor in the router's namespace;
//   - llamastack: every Service in the namespace matching discoveryLabels;
//   - service: the named Service, in its namespace or the router's.
//
// The port is the explicit one for type service, else the Service's port named
// "http" or its first port. Endpoints that resolve to nothing are reported
// together in a *DiscoveryError.
func discoverBackends(ctx context.Context, c client.Reader, sr *v1alpha1.SemanticRouter) ([]Backend, error) {
	var out []Backend
	var problems []string
	for i, ep := range sr.Spec.VLLMEndpoints {
		path := fmt.Sprintf("spec.vllmEndpoints[%d]", i)
		weight := int32(1)
		if ep.Weight != nil {
			weight = *ep.Weight
		}
		base := Backend{Ref: ep.Name, Model: ep.Model, ReasoningFamily: ep.ReasoningFamily, Weight: weight, LoRAs: ep.LoRAs}
		switch ep.Backend.Type {
		case "kserve":
			if ep.Backend.InferenceServiceName == "" {
				problems = append(problems, path+".backend.inferenceServiceName: required for type kserve")
				continue
			}
			name := ep.Backend.InferenceServiceName + "-predictor"
			svc, err := getService(ctx, c, sr.Namespace, name)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: kserve predictor Service %s/%s: %v", path, sr.Namespace, name, err))
				continue
			}
			b := base
			b.Service, b.Namespace, b.Port = svc.Name, svc.Namespace, servicePort(svc)
			out = append(out, b)
		case "llamastack":
			if len(ep.Backend.DiscoveryLabels) == 0 {
				problems = append(problems, path+".backend.discoveryLabels: required for type llamastack")
				continue
			}
			var list corev1.ServiceList
			if err := c.List(ctx, &list, client.InNamespace(sr.Namespace), client.MatchingLabels(ep.Backend.DiscoveryLabels)); err != nil {
				return nil, fmt.Errorf("list llamastack services: %w", err)
			}
			if len(list.Items) == 0 {
				problems = append(problems, fmt.Sprintf("%s: no Service in %s matches labels %v", path, sr.Namespace, ep.Backend.DiscoveryLabels))
				continue
			}
			sort.Slice(list.Items, func(a, b int) bool { return list.Items[a].Name < list.Items[b].Name })
			for j := range list.Items {
				svc := &list.Items[j]
				b := base
				if len(list.Items) > 1 {
					b.Ref = fmt.Sprintf("%s-%s", ep.Name, svc.Name)
				}
				b.Service, b.Namespace, b.Port = svc.Name, svc.Namespace, servicePort(svc)
				out = append(out, b)
			}
		case "service":
			s := ep.Backend.Service
			if s == nil {
				problems = append(problems, path+".backend.service: required for type service")
				continue
			}
			ns := s.Namespace
			if ns == "" {
				ns = sr.Namespace
			}
			if _, err := getService(ctx, c, ns, s.Name); err != nil {
				problems = append(problems, fmt.Sprintf("%s: Service %s/%s: %v", path, ns, s.Name, err))
				continue
			}
			b := base
			b.Service, b.Namespace, b.Port = s.Name, ns, s.Port
			out = append(out, b)
		default:
			problems = append(problems, fmt.Sprintf("%s.backend.type: unknown type %q", path, ep.Backend.Type))
		}
	}
	if len(problems) > 0 {
		return out, &DiscoveryError{Problems: problems}
	}
	return out, nil
}

func getService(ctx context.Context, c client.Reader, namespace, name string) (*corev1.Service, error) {
	var svc corev1.Service
	err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, &svc)
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("not found")
	}
	if err != nil {
		return nil, err
	}
	return &svc, nil
}

func servicePort(svc *corev1.Service) int32 {
	for _, p := range svc.Spec.Ports {
		if p.Name == "http" {
			return p.Port
		}
	}
	if len(svc.Spec.Ports) > 0 {
		return svc.Spec.Ports[0].Port
	}
	return 80
}
