package controller

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	v1alpha1 "github.com/semrouter/semrouter/services/operator/api/v1alpha1"
)

// natsConf is deploy/k8s/base/nats.conf (one NATS user per service with the
// subjects it may use; passwords from $SEMROUTER_NATS_<USER>_PASSWORD). The
// file cannot be embedded across the module boundary, so this package holds
// a byte-identical copy; TestNATSConfMatchesBase fails when they differ.
//
//go:embed nats.conf
var natsConf string

// The NATS credentials of the services (pkg/telemetry reads them).
const (
	envNATSUser     = "SEMROUTER_NATS_USER"
	envNATSPassword = "SEMROUTER_NATS_PASSWORD"
	natsConfKey     = "nats.conf"
	natsConfDir     = "/etc/nats"
	// annotationNATSConfig carries the hash of nats.conf on the NATS pods,
	// so a new operator version with other permissions restarts NATS.
	annotationNATSConfig = "semrouter.io/nats-config-hash"
)

// natsUserOf maps each service component to its user in nats.conf.
var natsUserOf = map[string]string{
	componentConfigHub:  "config-hub",
	componentGateway:    "gateway",
	componentClassifier: "classifier",
	componentEmbedder:   "embedder",
	componentCache:      "cache",
}

// natsUsers are the users of nats.conf, in its order.
func natsUsers() []string {
	return []string{"config-hub", "gateway", "classifier", "embedder", "cache"}
}

func natsUsersSecretName(sr *v1alpha1.SemanticRouter) string { return sr.Name + "-nats-users" }
func natsConfigMapName(sr *v1alpha1.SemanticRouter) string   { return sr.Name + "-nats-config" }

// natsPasswordVar is the variable nats.conf reads user's password from
// (config-hub: SEMROUTER_NATS_CONFIG_HUB_PASSWORD).
func natsPasswordVar(user string) string {
	return "SEMROUTER_NATS_" + strings.ToUpper(strings.ReplaceAll(user, "-", "_")) + "_PASSWORD"
}

func natsSecretRef(sr *v1alpha1.SemanticRouter, user string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: natsUsersSecretName(sr)}, Key: user}}
}

// natsServerEnv gives the NATS container every user's password.
func natsServerEnv(sr *v1alpha1.SemanticRouter) []corev1.EnvVar {
	var env []corev1.EnvVar
	for _, u := range natsUsers() {
		env = append(env, corev1.EnvVar{Name: natsPasswordVar(u), ValueFrom: natsSecretRef(sr, u)})
	}
	return env
}

// withNATSUser adds component's NATS user and password to env; they replace
// variables of the same names from the spec, since NATS accepts no others.
func withNATSUser(sr *v1alpha1.SemanticRouter, component string, env []corev1.EnvVar) []corev1.EnvVar {
	user := natsUserOf[component]
	return mergeEnv(env, []corev1.EnvVar{
		{Name: envNATSUser, Value: user},
		{Name: envNATSPassword, ValueFrom: natsSecretRef(sr, user)},
	})
}

// natsConfigMap holds nats.conf for the NATS pod.
func natsConfigMap(sr *v1alpha1.SemanticRouter) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: objectMeta(sr, natsConfigMapName(sr), componentNATS),
		Data:       map[string]string{natsConfKey: natsConf},
	}
}

func natsConfHash() string {
	sum := sha256.Sum256([]byte(natsConf))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ensureNATSUsers creates the Secret of the NATS users' passwords, one random
// password per user, when it does not exist. An existing Secret (one made
// beforehand, to choose the passwords) is never changed; one that lacks a
// user's password is an error, as the pods could not start.
func (r *Reconciler) ensureNATSUsers(ctx context.Context, sr *v1alpha1.SemanticRouter) error {
	reader := r.Reader
	if reader == nil {
		reader = r.Client
	}
	key := types.NamespacedName{Namespace: sr.Namespace, Name: natsUsersSecretName(sr)}
	existing := &corev1.Secret{}
	err := reader.Get(ctx, key, existing)
	switch {
	case err == nil:
		var missing []string
		for _, u := range natsUsers() {
			if len(existing.Data[u]) == 0 {
				missing = append(missing, u)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("secret %s has no password for the NATS users %s", key.Name, strings.Join(missing, ", "))
		}
		return nil
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("read secret %s: %w", key.Name, err)
	}
	data := make(map[string][]byte, len(natsUsers()))
	for _, u := range natsUsers() {
		raw := make([]byte, 24)
		if _, err := rand.Read(raw); err != nil {
			return fmt.Errorf("generate NATS password of %s: %w", u, err)
		}
		data[u] = []byte(hex.EncodeToString(raw))
	}
	s := &corev1.Secret{
		ObjectMeta: objectMeta(sr, key.Name, componentNATS),
		Type:       corev1.SecretTypeOpaque,
		Data:       data,
	}
	if err := controllerutil.SetControllerReference(sr, s, r.Scheme); err != nil {
		return fmt.Errorf("set owner of %s: %w", key.Name, err)
	}
	if err := r.Client.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create secret %s: %w", key.Name, err)
	}
	return nil
}
