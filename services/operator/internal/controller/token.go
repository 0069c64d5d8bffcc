package controller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	v1alpha1 "github.com/semrouter/semrouter/services/operator/api/v1alpha1"
)

// config-hub refuses to serve its management API beyond loopback without
// authentication; the operator gives it an admin bearer token from a Secret,
// as deploy/k8s/base does.
const (
	envManagementToken = "SEMROUTER_MANAGEMENT_TOKEN"
	managementTokenKey = "token"
)

func managementTokenSecretName(sr *v1alpha1.SemanticRouter) string {
	return sr.Name + "-management-token"
}

// ownManagementToken is false when config-hub's env (spec.env and
// spec.components.configHub.env) already names SEMROUTER_MANAGEMENT_TOKEN.
func ownManagementToken(sr *v1alpha1.SemanticRouter) bool {
	return !hasEnv(sr.Spec.Env, envManagementToken) && !hasEnv(sr.Spec.Components.ConfigHub.Env, envManagementToken)
}

// managementTokenEnv is config-hub's token variable, from the operator's Secret.
func managementTokenEnv(sr *v1alpha1.SemanticRouter) corev1.EnvVar {
	return corev1.EnvVar{Name: envManagementToken, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: managementTokenSecretName(sr)}, Key: managementTokenKey}}}
}

// ensureManagementToken creates the token Secret with a random token when it
// does not exist. An existing Secret (one made by hand beforehand, to choose
// the token) is never changed.
func (r *Reconciler) ensureManagementToken(ctx context.Context, sr *v1alpha1.SemanticRouter) error {
	if !ownManagementToken(sr) {
		return nil
	}
	reader := r.Reader
	if reader == nil {
		reader = r.Client
	}
	key := types.NamespacedName{Namespace: sr.Namespace, Name: managementTokenSecretName(sr)}
	err := reader.Get(ctx, key, &corev1.Secret{})
	switch {
	case err == nil:
		return nil
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("read secret %s: %w", key.Name, err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("generate management token: %w", err)
	}
	s := &corev1.Secret{
		ObjectMeta: objectMeta(sr, key.Name, componentConfigHub),
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{managementTokenKey: []byte(hex.EncodeToString(raw))},
	}
	if err := controllerutil.SetControllerReference(sr, s, r.Scheme); err != nil {
		return fmt.Errorf("set owner of %s: %w", key.Name, err)
	}
	if err := r.Client.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create secret %s: %w", key.Name, err)
	}
	return nil
}
