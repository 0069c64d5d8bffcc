// Package v1alpha1 holds the SemanticRouter API (group vllm.ai, version v1alpha1).
// The schema is compatible with the upstream semantic-router operator's resources:
// every upstream sample is accepted, and spec.config takes both the canonical v0.3
// sections (providers/routing/global) and the operator's legacy flat keys.
//
// +kubebuilder:object:generate=true
// +groupName=vllm.ai
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the API group and version of SemanticRouter.
var GroupVersion = schema.GroupVersion{Group: "vllm.ai", Version: "v1alpha1"}

// AddToScheme registers the SemanticRouter types with a scheme.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &SemanticRouter{}, &SemanticRouterList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
