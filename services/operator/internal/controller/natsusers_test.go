package controller

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1alpha1 "github.com/semrouter/semrouter/services/operator/api/v1alpha1"
)

// parseNATSConf parses a nats.conf with nats-server's own parser, the
// passwords' variables set from passwords (user → password).
func parseNATSConf(t *testing.T, conf string, passwords map[string]string) *server.Options {
	t.Helper()
	for _, u := range natsUsers() {
		t.Setenv(natsPasswordVar(u), passwords[u])
	}
	path := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("parse nats.conf: %v", err)
	}
	return opts
}

// usersByName indexes the users of parsed NATS options.
func usersByName(opts *server.Options) map[string]*server.User {
	m := map[string]*server.User{}
	for _, u := range opts.Users {
		m[u.Username] = u
	}
	return m
}

// baseNATSConf is deploy/k8s/base/nats.conf.
func baseNATSConf(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "k8s", "base", "nats.conf"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestNATSConfMatchesBase keeps the operator's copy of nats.conf identical
// to deploy/k8s/base/nats.conf (go:embed cannot reach across the module).
func TestNATSConfMatchesBase(t *testing.T) {
	if base := baseNATSConf(t); natsConf != base {
		t.Fatalf("services/operator/internal/controller/nats.conf differs from deploy/k8s/base/nats.conf: " +
			"copy the base file over it (cp deploy/k8s/base/nats.conf services/operator/internal/controller/nats.conf)")
	}
	// every user of the file is one the operator gives credentials to
	opts := parseNATSConf(t, natsConf, map[string]string{"config-hub": "a", "gateway": "b", "classifier": "c", "embedder": "d", "cache": "e"})
	var names []string
	for _, u := range opts.Users {
		names = append(names, u.Username)
	}
	if strings.Join(names, " ") != strings.Join(natsUsers(), " ") {
		t.Errorf("nats.conf users %v, the operator's %v", names, natsUsers())
	}
	for component, user := range natsUserOf {
		if !containsString(natsUsers(), user) {
			t.Errorf("component %s uses NATS user %s, which nats.conf does not define", component, user)
		}
	}
}

// TestNATSUsers checks the NATS users' Secret (generated once and kept, or
// made beforehand and used as it is, or incomplete and refused), the NATS
// config the operator renders (parsed by nats-server: the base file's users
// and permissions with the Secret's passwords, served by a real server that
// refuses anonymous clients) and the env of every pod.
func TestNATSUsers(t *testing.T) {
	k := needCluster(t)
	ctx := context.Background()
	ns := k.namespace(t, "nats-users")
	ensure(t, k.client, backendService(ns, "vllm", 8000, nil))
	r := k.newReconciler(t)
	chosen := map[string]string{"config-hub": "hub-pw-0123456789", "gateway": "gw-pw-0123456789",
		"classifier": "cls-pw-0123456789", "embedder": "emb-pw-0123456789", "cache": "cache-pw-0123456789"}
	tests := []struct {
		name     string
		existing map[string]string // a Secret made beforehand
		wantErr  string            // the reconcile fails with this
	}{
		{name: "generated"},
		{name: "made beforehand", existing: chosen},
		{name: "made beforehand without the cache's password", existing: map[string]string{
			"config-hub": "a", "gateway": "b", "classifier": "c", "embedder": "d"}, wantErr: "no password for the NATS users cache"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sr := newRouter(ns, "nu-"+string(rune('a'+i)))
			if tc.existing != nil {
				s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: natsUsersSecretName(sr), Namespace: ns}, StringData: tc.existing}
				ensure(t, k.client, s)
			}
			if err := k.client.Create(ctx, sr); err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" {
				_, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: sr.Name}})
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("reconcile error %v, want %q", err, tc.wantErr)
				}
				if err := k.client.Get(ctx, types.NamespacedName{Namespace: ns, Name: componentName(sr, componentNATS)}, &appsv1.Deployment{}); err == nil {
					t.Errorf("NATS Deployment written although its Secret lacks a password")
				}
				return
			}
			reconcileOnce(t, r, sr)

			s := &corev1.Secret{}
			get(t, k, ns, natsUsersSecretName(sr), s)
			passwords := map[string]string{}
			for key, v := range s.Data {
				passwords[key] = string(v)
			}
			if tc.existing != nil {
				if !reflect.DeepEqual(passwords, tc.existing) {
					t.Errorf("the Secret made beforehand was changed: %v", passwords)
				}
				if metav1.GetControllerOf(s) != nil {
					t.Errorf("the Secret made beforehand got a controller: %+v", s.OwnerReferences)
				}
			} else {
				ownedBy(t, s, sr)
				if len(passwords) != len(natsUsers()) {
					t.Errorf("Secret keys %v, want one per user %v", passwords, natsUsers())
				}
				seen := map[string]bool{}
				for _, u := range natsUsers() {
					pw := passwords[u]
					if len(pw) != 48 || strings.Trim(pw, "0123456789abcdef") != "" || seen[pw] {
						t.Errorf("password of %s %q: want 48 hex characters, different from the others", u, pw)
					}
					seen[pw] = true
				}
			}

			t.Run("not rotated by a reconcile", func(t *testing.T) {
				reconcileOnce(t, r, fetch(t, k, sr))
				again := &corev1.Secret{}
				get(t, k, ns, natsUsersSecretName(sr), again)
				if !equality.Semantic.DeepEqual(again.Data, s.Data) {
					t.Errorf("a reconcile changed the NATS passwords")
				}
			})
			t.Run("config has the base users and permissions", func(t *testing.T) {
				cm := &corev1.ConfigMap{}
				get(t, k, ns, natsConfigMapName(sr), cm)
				ownedBy(t, cm, sr)
				opts := parseNATSConf(t, cm.Data[natsConfKey], passwords)
				base := usersByName(parseNATSConf(t, baseNATSConf(t), passwords))
				got := usersByName(opts)
				if len(got) != len(natsUsers()) || len(base) != len(natsUsers()) {
					t.Fatalf("users %d, base %d, want %d", len(got), len(base), len(natsUsers()))
				}
				for _, u := range natsUsers() {
					g, b := got[u], base[u]
					switch {
					case g == nil:
						t.Errorf("no NATS user %s", u)
					case g.Password != passwords[u]:
						t.Errorf("user %s has not the Secret's password", u)
					case g.Permissions == nil || permissionsText(g.Permissions) != permissionsText(b.Permissions):
						t.Errorf("user %s permissions %s, deploy/k8s/base %s", u, permissionsText(g.Permissions), permissionsText(b.Permissions))
					}
				}
				checkNATSServes(t, opts, passwords)
			})
			t.Run("pods get the passwords", func(t *testing.T) {
				checkNATSPodEnv(t, k, sr)
			})
		})
	}
}

// checkNATSServes runs nats-server with the rendered options: each user
// gets in with its password, anonymous clients and wrong passwords do not.
func checkNATSServes(t *testing.T, opts *server.Options, passwords map[string]string) {
	t.Helper()
	opts.Host, opts.Port, opts.HTTPPort, opts.NoSigs, opts.NoLog = "127.0.0.1", server.RANDOM_PORT, 0, true, true
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("nats-server with the rendered config: %v", err)
	}
	go srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	url := srv.ClientURL()
	for _, u := range natsUsers() {
		nc, err := nats.Connect(url, nats.UserInfo(u, passwords[u]))
		if err != nil {
			t.Errorf("user %s with its password: %v", u, err)
			continue
		}
		nc.Close()
		if nc, err := nats.Connect(url, nats.UserInfo(u, passwords[u]+"x")); err == nil {
			nc.Close()
			t.Errorf("user %s got in with a wrong password", u)
		}
	}
	if nc, err := nats.Connect(url); err == nil {
		nc.Close()
		t.Errorf("an anonymous client got in")
	}
}

// checkNATSPodEnv asserts the NATS pod reads nats.conf and every password
// from the Secret, and each service its own user and password.
func checkNATSPodEnv(t *testing.T, k *kube, sr *v1alpha1.SemanticRouter) {
	t.Helper()
	ref := func(key string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: natsUsersSecretName(sr)}, Key: key}}
	}
	envOf := func(c corev1.Container, name string) (corev1.EnvVar, int) {
		var found corev1.EnvVar
		n := 0
		for _, e := range c.Env {
			if e.Name == name {
				found, n = e, n+1
			}
		}
		return found, n
	}

	d := &appsv1.Deployment{}
	get(t, k, sr.Namespace, componentName(sr, componentNATS), d)
	c := containerNamed(t, d.Spec.Template.Spec, "nats")
	if !containsString(c.Args, "--config=/etc/nats/nats.conf") {
		t.Errorf("nats args %v lack --config=/etc/nats/nats.conf", c.Args)
	}
	for _, u := range natsUsers() {
		e, n := envOf(c, natsPasswordVar(u))
		if n != 1 || !equality.Semantic.DeepEqual(e.ValueFrom, ref(u)) {
			t.Errorf("nats env %s = %+v (%d times), want key %s of %s", natsPasswordVar(u), e, n, u, natsUsersSecretName(sr))
		}
	}
	var mounted bool
	for _, m := range c.VolumeMounts {
		for _, v := range d.Spec.Template.Spec.Volumes {
			if m.Name == v.Name && m.MountPath == "/etc/nats" && m.ReadOnly && v.ConfigMap != nil && v.ConfigMap.Name == natsConfigMapName(sr) {
				mounted = true
			}
		}
	}
	if !mounted {
		t.Errorf("ConfigMap %s is not mounted read-only at /etc/nats: %+v %+v", natsConfigMapName(sr), c.VolumeMounts, d.Spec.Template.Spec.Volumes)
	}
	if d.Spec.Template.Annotations[annotationNATSConfig] != natsConfHash() {
		t.Errorf("NATS pod annotations %v lack the nats.conf hash", d.Spec.Template.Annotations)
	}

	for _, tc := range []struct{ component, container, user string }{
		{componentGateway, "gateway-extproc", "gateway"},
		{componentConfigHub, "config-hub", "config-hub"},
		{componentClassifier, "classifier", "classifier"},
		{componentCache, "cache", "cache"},
		{componentEmbedder, "embedder-gpu", "embedder"},
	} {
		d := &appsv1.Deployment{}
		get(t, k, sr.Namespace, componentName(sr, tc.component), d)
		c := containerNamed(t, d.Spec.Template.Spec, tc.container)
		if e, n := envOf(c, envNATSUser); n != 1 || e.Value != tc.user || e.ValueFrom != nil {
			t.Errorf("%s: %s = %+v (%d times), want %s", tc.container, envNATSUser, e, n, tc.user)
		}
		if e, n := envOf(c, envNATSPassword); n != 1 || e.Value != "" || !equality.Semantic.DeepEqual(e.ValueFrom, ref(tc.user)) {
			t.Errorf("%s: %s = %+v (%d times), want key %s of %s", tc.container, envNATSPassword, e, n, tc.user, natsUsersSecretName(sr))
		}
	}
}

// TestNATSUserReplacesSpecEnv checks that a service's NATS credentials
// from spec.env give way to the operator's, which NATS accepts.
func TestNATSUserReplacesSpecEnv(t *testing.T) {
	sr := &v1alpha1.SemanticRouter{Spec: v1alpha1.SemanticRouterSpec{Env: []corev1.EnvVar{
		{Name: envNATSUser, Value: "someone"}, {Name: "KEEP", Value: "1"}, {Name: envNATSPassword, Value: "pw"}}}}
	sr.Name = "x"
	for name, c := range map[string]corev1.Container{"gateway": gatewayContainer(sr), "cache": cacheContainer(sr)} {
		var got []string
		for _, e := range c.Env {
			v := e.Value
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				v = "secret:" + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
			}
			got = append(got, e.Name+"="+v)
		}
		want := "SEMROUTER_NATS_USER=" + name + " KEEP=1 SEMROUTER_NATS_PASSWORD=secret:x-nats-users/" + name
		if strings.Join(got, " ") != want {
			t.Errorf("%s env %v, want %s", name, got, want)
		}
	}
}

func BenchmarkWithNATSUser(b *testing.B) {
	sr := newRouter("ns", "bench")
	env := []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}
	b.ReportAllocs()
	for b.Loop() {
		if len(withNATSUser(sr, componentCache, env)) != 4 {
			b.Fatal("want 4 variables")
		}
	}
}

// permissionsText prints permissions for a failure message.
func permissionsText(p *server.Permissions) string {
	if p == nil {
		return "none"
	}
	sp := func(s *server.SubjectPermission) string {
		if s == nil {
			return "-"
		}
		return fmt.Sprintf("allow %v deny %v", s.Allow, s.Deny)
	}
	rp := "-"
	if p.Response != nil {
		rp = fmt.Sprintf("%+v", *p.Response)
	}
	return fmt.Sprintf("publish(%s) subscribe(%s) responses(%s)", sp(p.Publish), sp(p.Subscribe), rp)
}
