package controller

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/semrouter/semrouter/services/operator/api/v1alpha1"
)

// staticWorkload reads the Deployment or StatefulSet name from a file of deploy/k8s/base.
func staticWorkload(t *testing.T, file, name string) corev1.PodSpec {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "deploy", "k8s", "base", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec struct {
				Template corev1.PodTemplateSpec `json:"template"`
			} `json:"spec"`
		}
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("decode %s: %v", file, err)
		}
		if (obj.Kind == "Deployment" || obj.Kind == "StatefulSet") && obj.Metadata.Name == name {
			return obj.Spec.Template.Spec
		}
	}
	t.Fatalf("%s has no workload %s", file, name)
	return corev1.PodSpec{}
}

// staticService returns the Service name of deploy/k8s/base/file.
func staticService(t *testing.T, file, name string) *corev1.Service {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "deploy", "k8s", "base", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec json.RawMessage `json:"spec"`
		}
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("decode %s: %v", file, err)
		}
		if obj.Kind == "Service" && obj.Metadata.Name == name {
			svc := &corev1.Service{}
			if err := json.Unmarshal(obj.Spec, &svc.Spec); err != nil {
				t.Fatalf("decode Service %s of %s: %v", name, file, err)
			}
			return svc
		}
	}
	t.Fatalf("%s has no Service %s", file, name)
	return nil
}

// namedServicePort returns svc's port called name.
func namedServicePort(svc *corev1.Service, name string) (corev1.ServicePort, bool) {
	for _, p := range svc.Spec.Ports {
		if p.Name == name {
			return p, true
		}
	}
	return corev1.ServicePort{}, false
}

func containerNamed(t *testing.T, spec corev1.PodSpec, name string) corev1.Container {
	t.Helper()
	for _, c := range spec.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %s in %+v", name, spec.Containers)
	return corev1.Container{}
}

// flagNames are the --flag parts of args.
func flagNames(args []string) []string {
	var out []string
	for _, a := range args {
		if strings.HasPrefix(a, "--") {
			out = append(out, strings.SplitN(a, "=", 2)[0])
		}
	}
	return out
}

func portNumber(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

// checkProbe asserts that a probe exists and checks a port the container declares.
func checkProbe(t *testing.T, what string, c corev1.Container, p *corev1.Probe) {
	t.Helper()
	if p == nil {
		t.Errorf("%s: no %s probe", c.Name, what)
		return
	}
	var port string
	switch {
	case p.TCPSocket != nil:
		port = p.TCPSocket.Port.String()
	case p.HTTPGet != nil:
		port = p.HTTPGet.Port.String()
	default:
		t.Errorf("%s: %s probe has neither tcpSocket nor httpGet: %+v", c.Name, what, p.ProbeHandler)
		return
	}
	if portNumber(c, port) == 0 && !strings.ContainsFunc(port, func(r rune) bool { return r >= '0' && r <= '9' }) {
		t.Errorf("%s: %s probe checks port %q, which the container does not declare", c.Name, what, port)
	}
}

// TestWorkloadsMatchStaticManifests reconciles a default router against the
// real API server and compares every service container with its counterpart
// in deploy/k8s/base: the flags (each flag the static manifest passes is
// passed, with the operator's own addresses), the ports, the probes and the
// resources.
func TestWorkloadsMatchStaticManifests(t *testing.T) {
	k := needCluster(t)
	ctx := context.Background()
	ns := k.namespace(t, "workloads")
	ensure(t, k.client, backendService(ns, "vllm", 8000, nil))
	r := k.newReconciler(t)
	sr := newRouter(ns, "wl")
	if err := k.client.Create(ctx, sr); err != nil {
		t.Fatal(err)
	}
	reconcileOnce(t, r, sr)
	nats := "--nats-url=nats://wl-nats:4222"

	tests := []struct {
		name, component, container string
		staticFile, staticName     string
		args                       []string
		// flags of the static manifest the operator passes differently
		otherFlags map[string]string
		// ports of the static manifest that serve nothing in the operator's pods
		otherPorts map[string]string
		// env of the static manifest the operator does without
		otherEnv map[string]string
		// resources come from spec.resources (empty by default) instead
		ownResources bool
	}{
		{
			name: "gateway", component: componentGateway, container: "gateway-extproc",
			staticFile: "gateway-extproc.yaml", staticName: "gateway-extproc",
			args:         []string{nats, "--extproc-addr=:50051", "--api-addr=:8080", "--metrics-addr=:9190", "--embed-model=use-lite"},
			otherFlags:   map[string]string{"--api": "--api-addr implies it"},
			otherPorts:   map[string]string{"api": "spec.service.api.targetPort, default 8080 as in the upstream CRD"},
			ownResources: true,
		},
		{
			name: "config-hub", component: componentConfigHub, container: "config-hub",
			staticFile: "config-hub.yaml", staticName: "config-hub",
			args: []string{"--config=/etc/semrouter/config.yaml", nats, "--management-addr=:8080", "--xds-addr=:18000",
				"--extproc-addr=127.0.0.1:50051", "--metrics-addr=:9190"},
		},
		{
			name: "classifier", component: componentClassifier, container: "classifier",
			staticFile: "classifier.yaml", staticName: "classifier",
			args:       []string{nats, "--metrics-addr=:9190", "--embed-model=use-lite", "--guard-dir=/opt/semrouter/guard"},
			otherFlags: map[string]string{"--http-addr": "the operator keeps the default; nothing in the router calls it"},
		},
		{
			name: "cache", component: componentCache, container: "cache",
			staticFile: "cache.yaml", staticName: "cache",
			args: []string{nats, "--metrics-addr=:9190"},
		},
		{
			name: "embedder", component: componentEmbedder, container: "embedder-gpu",
			staticFile: "embedder-gpu.yaml", staticName: "embedder-gpu",
			args: []string{nats, "--metrics-addr=:9190"},
		},
		{
			name: "nats", component: componentNATS, container: "nats",
			staticFile: "nats.yaml", staticName: "nats",
			args:       []string{"--config=/etc/nats/nats.conf", "--jetstream", "--store_dir=/data", "--http_port=8222"},
			otherFlags: map[string]string{"--name": "one server, no cluster"},
			otherPorts: map[string]string{"cluster": "one server, no cluster"},
			otherEnv:   map[string]string{"POD_NAME": "feeds --name"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &appsv1.Deployment{}
			get(t, k, ns, componentName(sr, tc.component), d)
			c := containerNamed(t, d.Spec.Template.Spec, tc.container)
			want := containerNamed(t, staticWorkload(t, tc.staticFile, tc.staticName), tc.staticName)

			if strings.Join(c.Args, " ") != strings.Join(tc.args, " ") {
				t.Errorf("args\n got %v\nwant %v", c.Args, tc.args)
			}
			got := flagNames(c.Args)
			for _, f := range flagNames(want.Args) {
				if _, ok := tc.otherFlags[f]; !ok && !containsString(got, f) {
					t.Errorf("deploy/k8s/base passes %s, the operator does not: %v", f, c.Args)
				}
			}
			for _, p := range want.Ports {
				if _, ok := tc.otherPorts[p.Name]; ok {
					continue
				}
				if n := portNumber(c, p.Name); n != p.ContainerPort {
					t.Errorf("port %s = %d, deploy/k8s/base %d", p.Name, n, p.ContainerPort)
				}
			}
			// a listening flag and its declared port agree
			for flag, port := range map[string]string{"--metrics-addr=:": "metrics", "--http_port=": "monitor"} {
				for _, a := range c.Args {
					if v, ok := strings.CutPrefix(a, flag); ok && v != strconv.Itoa(int(portNumber(c, port))) {
						t.Errorf("%s, but port %s is %d", a, port, portNumber(c, port))
					}
				}
			}
			for _, e := range want.Env {
				if _, ok := tc.otherEnv[e.Name]; !ok && !hasEnv(c.Env, e.Name) {
					t.Errorf("deploy/k8s/base sets env %s, the operator does not: %+v", e.Name, c.Env)
				}
			}
			if (want.ReadinessProbe != nil) != (c.ReadinessProbe != nil) || (want.LivenessProbe != nil) != (c.LivenessProbe != nil) {
				t.Errorf("probes readiness=%v liveness=%v, deploy/k8s/base readiness=%v liveness=%v",
					c.ReadinessProbe != nil, c.LivenessProbe != nil, want.ReadinessProbe != nil, want.LivenessProbe != nil)
			}
			if want.ReadinessProbe != nil {
				checkProbe(t, "readiness", c, c.ReadinessProbe)
				checkProbe(t, "liveness", c, c.LivenessProbe)
			}
			if want.ReadinessProbe != nil && want.ReadinessProbe.HTTPGet != nil &&
				(c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != want.ReadinessProbe.HTTPGet.Path) {
				t.Errorf("readiness probe %+v, deploy/k8s/base %+v", c.ReadinessProbe.ProbeHandler, want.ReadinessProbe.ProbeHandler)
			}
			if !tc.ownResources && !equality.Semantic.DeepEqual(c.Resources, want.Resources) {
				t.Errorf("resources %+v, deploy/k8s/base %+v", c.Resources, want.Resources)
			}
		})
	}
	t.Run("config-hub service serves its metrics port", func(t *testing.T) {
		svc := &corev1.Service{}
		get(t, k, ns, hubName(sr), svc)
		want := staticService(t, "config-hub.yaml", "config-hub")
		for _, name := range []string{"metrics", "xds", "management"} {
			got, ok := namedServicePort(svc, name)
			if !ok {
				t.Errorf("config-hub Service has no %s port: %+v", name, svc.Spec.Ports)
				continue
			}
			if w, ok := namedServicePort(want, name); !ok || w.Port != got.Port {
				t.Errorf("config-hub Service port %s = %d, deploy/k8s/base %+v", name, got.Port, w)
			}
		}
	})
}

// TestComponentArgsAndEnv checks that spec.args and spec.env, the
// per-component args, env and resources, and the classifier's embedding model
// and prompt-guard folder reach the right containers, and only those.
func TestComponentArgsAndEnv(t *testing.T) {
	k := needCluster(t)
	ctx := context.Background()
	ns := k.namespace(t, "component-args")
	ensure(t, k.client, backendService(ns, "vllm", 8000, nil))
	r := k.newReconciler(t)
	sr := newRouter(ns, "ca")
	sr.Spec.Args = []string{"--stage-timeout=300ms"}
	sr.Spec.Env = []corev1.EnvVar{{Name: "EVERYWHERE", Value: "1"}, {Name: "SHARED", Value: "top"}}
	sr.Spec.Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("300m")}}
	sr.Spec.Components = v1alpha1.ComponentsSpec{
		ConfigHub: v1alpha1.ComponentSpec{Args: []string{"--log-level=debug"}, Env: []corev1.EnvVar{{Name: "HUB", Value: "1"}}},
		Classifier: v1alpha1.ClassifierSpec{
			ComponentSpec: v1alpha1.ComponentSpec{
				Args:      []string{"--language-high-accuracy"},
				Env:       []corev1.EnvVar{{Name: "SHARED", Value: "classifier"}},
				Resources: &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}},
			},
			EmbedModel: "glove-sif-100d",
			GuardDir:   "/guard",
		},
		Cache: v1alpha1.ComponentSpec{Args: []string{"--log-format=json"}},
	}
	sr.Spec.Embedder.Args = []string{"--max-batch=64"}
	sr.Spec.Embedder.Env = []corev1.EnvVar{{Name: "SEMROUTER_ORT_LIB", Value: "/opt/ort/libonnxruntime.so.1"}}
	if err := k.client.Create(ctx, sr); err != nil {
		t.Fatal(err)
	}
	reconcileOnce(t, r, sr)
	nats := "--nats-url=nats://ca-nats:4222"

	tests := []struct {
		name, component, container string
		args                       []string
		env                        []string // NAME=value, in order
		cpu                        string   // CPU request
	}{
		{
			name: "gateway takes spec.args and the classifier's model", component: componentGateway, container: "gateway-extproc",
			args: []string{nats, "--extproc-addr=:50051", "--api-addr=:8080", "--metrics-addr=:9190", "--embed-model=glove-sif-100d", "--stage-timeout=300ms"},
			env:  []string{"EVERYWHERE=1", "SHARED=top", "SEMROUTER_NATS_USER=gateway", "SEMROUTER_NATS_PASSWORD="},
			cpu:  "300m",
		},
		{
			name: "config-hub", component: componentConfigHub, container: "config-hub",
			args: []string{"--config=/etc/semrouter/config.yaml", nats, "--management-addr=:8080", "--xds-addr=:18000",
				"--extproc-addr=127.0.0.1:50051", "--metrics-addr=:9190", "--log-level=debug"},
			// the password and the token from Secrets
			env: []string{"EVERYWHERE=1", "SHARED=top", "HUB=1", "SEMROUTER_NATS_USER=config-hub", "SEMROUTER_NATS_PASSWORD=", "SEMROUTER_MANAGEMENT_TOKEN="},
			cpu: "50m",
		},
		{
			name: "classifier overrides an env of spec.env", component: componentClassifier, container: "classifier",
			args: []string{nats, "--metrics-addr=:9190", "--embed-model=glove-sif-100d", "--guard-dir=/guard", "--language-high-accuracy"},
			env:  []string{"EVERYWHERE=1", "SHARED=classifier", "SEMROUTER_NATS_USER=classifier", "SEMROUTER_NATS_PASSWORD="},
			cpu:  "2",
		},
		{
			name: "cache", component: componentCache, container: "cache",
			args: []string{nats, "--metrics-addr=:9190", "--log-format=json"},
			env:  []string{"EVERYWHERE=1", "SHARED=top", "SEMROUTER_NATS_USER=cache", "SEMROUTER_NATS_PASSWORD="},
			cpu:  "250m",
		},
		{
			name: "embedder takes spec.embedder args and env", component: componentEmbedder, container: "embedder-gpu",
			args: []string{nats, "--metrics-addr=:9190", "--max-batch=64"},
			env: []string{"EVERYWHERE=1", "SHARED=top", "SEMROUTER_ORT_LIB=/opt/ort/libonnxruntime.so.1",
				"SEMROUTER_NATS_USER=embedder", "SEMROUTER_NATS_PASSWORD="},
			cpu: "1",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &appsv1.Deployment{}
			get(t, k, ns, componentName(sr, tc.component), d)
			c := containerNamed(t, d.Spec.Template.Spec, tc.container)
			if strings.Join(c.Args, " ") != strings.Join(tc.args, " ") {
				t.Errorf("args\n got %v\nwant %v", c.Args, tc.args)
			}
			var env []string
			for _, e := range c.Env {
				env = append(env, e.Name+"="+e.Value)
			}
			if strings.Join(env, " ") != strings.Join(tc.env, " ") {
				t.Errorf("env %v, want %v", env, tc.env)
			}
			if got := c.Resources.Requests.Cpu(); got.Cmp(resource.MustParse(tc.cpu)) != 0 {
				t.Errorf("CPU request %s, want %s", got, tc.cpu)
			}
		})
	}
	t.Run("nats takes none of them", func(t *testing.T) {
		d := &appsv1.Deployment{}
		get(t, k, ns, componentName(sr, componentNATS), d)
		c := containerNamed(t, d.Spec.Template.Spec, "nats")
		if hasEnv(c.Env, "EVERYWHERE") || hasEnv(c.Env, "HUB") || len(c.Env) != len(natsUsers()) ||
			strings.Join(c.Args, " ") != "--config=/etc/nats/nats.conf --jetstream --store_dir=/data --http_port=8222" {
			t.Errorf("nats args %v env %v", c.Args, c.Env)
		}
	})
}

// TestNATSStorage checks that spec.components.nats.storage puts JetStream on
// a claim and that without it the store stays an emptyDir.
func TestNATSStorage(t *testing.T) {
	k := needCluster(t)
	ctx := context.Background()
	ns := k.namespace(t, "nats-storage")
	ensure(t, k.client, backendService(ns, "vllm", 8000, nil))
	r := k.newReconciler(t)
	tests := []struct {
		name    string
		storage *v1alpha1.NATSStorageSpec
		size    string // of the claim; empty: no claim
	}{
		{name: "default is an emptyDir"},
		{name: "storage with the default size", storage: &v1alpha1.NATSStorageSpec{}, size: "5Gi"},
		{name: "storage with a size and annotations", storage: &v1alpha1.NATSStorageSpec{Size: "1Gi", Annotations: map[string]string{"backup": "daily"}}, size: "1Gi"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sr := newRouter(ns, "js-"+string(rune('a'+i)))
			sr.Spec.Components.NATS.Storage = tc.storage
			if err := k.client.Create(ctx, sr); err != nil {
				t.Fatal(err)
			}
			reconcileOnce(t, r, sr)
			d := &appsv1.Deployment{}
			get(t, k, ns, componentName(sr, componentNATS), d)
			var data *corev1.Volume
			for i := range d.Spec.Template.Spec.Volumes {
				if v := &d.Spec.Template.Spec.Volumes[i]; v.Name == "data" {
					data = v
				}
			}
			if data == nil {
				t.Fatalf("no data volume: %+v", d.Spec.Template.Spec.Volumes)
			}
			claim := &corev1.PersistentVolumeClaim{}
			err := k.client.Get(ctx, types.NamespacedName{Namespace: ns, Name: natsPVCName(sr)}, claim)
			if tc.size == "" {
				if data.EmptyDir == nil || data.PersistentVolumeClaim != nil {
					t.Errorf("data volume %+v, want an emptyDir", data.VolumeSource)
				}
				if !apierrors.IsNotFound(err) {
					t.Errorf("NATS claim without storage: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NATS claim: %v", err)
			}
			ownedBy(t, claim, sr)
			if data.PersistentVolumeClaim == nil || data.PersistentVolumeClaim.ClaimName != natsPVCName(sr) || data.EmptyDir != nil {
				t.Errorf("data volume %+v, want claim %s", data.VolumeSource, natsPVCName(sr))
			}
			if got := claim.Spec.Resources.Requests[corev1.ResourceStorage]; got.Cmp(resource.MustParse(tc.size)) != 0 {
				t.Errorf("claim size %s, want %s", got.String(), tc.size)
			}
			for k, v := range tc.storage.Annotations {
				if claim.Annotations[k] != v {
					t.Errorf("claim annotations %v", claim.Annotations)
				}
			}
		})
	}
}

// TestEnvDecidesEmbedModelAndGuardDir covers the env variables that were
// the workaround before the operator passed --embed-model and --guard-dir:
// when the spec sets no value, a variable in the container's env decides.
func TestEnvDecidesEmbedModelAndGuardDir(t *testing.T) {
	fromSecret := &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "model"}}
	tests := []struct {
		name                string
		spec                v1alpha1.SemanticRouterSpec
		classifier, gateway []string // the flags expected; the others of the two must be absent
	}{
		{
			name:       "defaults",
			classifier: []string{"--embed-model=use-lite", "--guard-dir=/opt/semrouter/guard"},
			gateway:    []string{"--embed-model=use-lite"},
		},
		{
			name: "spec.env variables decide",
			spec: v1alpha1.SemanticRouterSpec{Env: []corev1.EnvVar{
				{Name: envEmbedModel, Value: "glove-sif-100d"}, {Name: envGuardDir, Value: "/mnt/guard"}}},
		},
		{
			name: "the classifier's variable reaches the gateway as a flag",
			spec: v1alpha1.SemanticRouterSpec{Components: v1alpha1.ComponentsSpec{Classifier: v1alpha1.ClassifierSpec{
				ComponentSpec: v1alpha1.ComponentSpec{Env: []corev1.EnvVar{{Name: envEmbedModel, Value: "glove-sif-100d"}}}}}},
			classifier: []string{"--guard-dir=/opt/semrouter/guard"},
			gateway:    []string{"--embed-model=glove-sif-100d"},
		},
		{
			name: "a variable from a Secret leaves the gateway on the pool's default",
			spec: v1alpha1.SemanticRouterSpec{Components: v1alpha1.ComponentsSpec{Classifier: v1alpha1.ClassifierSpec{
				ComponentSpec: v1alpha1.ComponentSpec{Env: []corev1.EnvVar{{Name: envEmbedModel, ValueFrom: fromSecret}}}}}},
			classifier: []string{"--guard-dir=/opt/semrouter/guard"},
		},
		{
			name: "the spec's values win over the variables",
			spec: v1alpha1.SemanticRouterSpec{
				Env:        []corev1.EnvVar{{Name: envEmbedModel, Value: "x"}, {Name: envGuardDir, Value: "/x"}},
				Components: v1alpha1.ComponentsSpec{Classifier: v1alpha1.ClassifierSpec{EmbedModel: "glove-sif-100d", GuardDir: "/guard"}},
			},
			classifier: []string{"--embed-model=glove-sif-100d", "--guard-dir=/guard"},
			gateway:    []string{"--embed-model=glove-sif-100d"},
		},
	}
	check := func(t *testing.T, what string, args, want []string) {
		t.Helper()
		for _, a := range args {
			if (strings.HasPrefix(a, "--embed-model") || strings.HasPrefix(a, "--guard-dir")) && !containsString(want, a) {
				t.Errorf("%s passes %s, want only %v", what, a, want)
			}
		}
		for _, w := range want {
			if !containsString(args, w) {
				t.Errorf("%s args %v lack %s", what, args, w)
			}
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sr := &v1alpha1.SemanticRouter{Spec: tc.spec}
			sr.Name = "e"
			check(t, "classifier", classifierContainer(sr).Args, tc.classifier)
			check(t, "gateway", gatewayContainer(sr).Args, tc.gateway)
		})
	}
}

func TestMergeEnv(t *testing.T) {
	tests := []struct {
		name        string
		base, extra []corev1.EnvVar
		want        string
	}{
		{name: "both empty", want: ""},
		{name: "base only", base: []corev1.EnvVar{{Name: "A", Value: "1"}}, want: "A=1"},
		{name: "extra replaces in place", base: []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}},
			extra: []corev1.EnvVar{{Name: "A", Value: "3"}, {Name: "C", Value: "4"}}, want: "A=3 B=2 C=4"},
		{name: "duplicates in base collapse", base: []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "A", Value: "2"}}, want: "A=2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range mergeEnv(tc.base, tc.extra) {
				got = append(got, e.Name+"="+e.Value)
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("mergeEnv = %v, want %s", got, tc.want)
			}
		})
	}
}

func BenchmarkDeployments(b *testing.B) {
	sr := newRouter("ns", "bench")
	sr.Spec.Env = []corev1.EnvVar{{Name: "A", Value: "1"}}
	sr.Spec.Components.Classifier.Env = []corev1.EnvVar{{Name: "A", Value: "2"}}
	sr.Spec.Components.NATS.Storage = &v1alpha1.NATSStorageSpec{StorageClassName: ptr.To("fast")}
	b.ReportAllocs()
	for b.Loop() {
		if len(Deployments(sr, Platform{}, "sha256:x")) != 6 {
			b.Fatal("want 6 deployments")
		}
	}
}

// TestManagementToken checks config-hub's admin token: a generated Secret
// kept across reconciles, a Secret made beforehand used as it is, and a
// variable of the spec's own that replaces both.
func TestManagementToken(t *testing.T) {
	k := needCluster(t)
	ctx := context.Background()
	ns := k.namespace(t, "mgmt-token")
	ensure(t, k.client, backendService(ns, "vllm", 8000, nil))
	r := k.newReconciler(t)
	own := corev1.EnvVar{Name: envManagementToken, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "mine"}, Key: "admin"}}}
	tests := []struct {
		name       string
		existing   string // token of a Secret made beforehand
		env        []corev1.EnvVar
		wantSecret bool
	}{
		{name: "generated", wantSecret: true},
		{name: "made beforehand", existing: "chosen-by-hand-0123456789", wantSecret: true},
		{name: "the spec's own variable", env: []corev1.EnvVar{own}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sr := newRouter(ns, "mt-"+string(rune('a'+i)))
			sr.Spec.Components.ConfigHub.Env = tc.env
			if tc.existing != "" {
				ensure(t, k.client, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: managementTokenSecretName(sr), Namespace: ns},
					Data: map[string][]byte{managementTokenKey: []byte(tc.existing)}})
			}
			if err := k.client.Create(ctx, sr); err != nil {
				t.Fatal(err)
			}
			reconcileOnce(t, r, sr)
			d := &appsv1.Deployment{}
			get(t, k, ns, componentName(sr, componentConfigHub), d)
			c := containerNamed(t, d.Spec.Template.Spec, "config-hub")
			var env []corev1.EnvVar
			for _, e := range c.Env {
				if e.Name == envManagementToken {
					env = append(env, e)
				}
			}
			want := own
			if tc.wantSecret {
				want = managementTokenEnv(sr)
			}
			if len(env) != 1 || !equality.Semantic.DeepEqual(env[0], want) {
				t.Fatalf("%s = %+v, want %+v", envManagementToken, env, want)
			}
			s := &corev1.Secret{}
			err := k.client.Get(ctx, types.NamespacedName{Namespace: ns, Name: managementTokenSecretName(sr)}, s)
			if !tc.wantSecret {
				if !apierrors.IsNotFound(err) {
					t.Errorf("token Secret made although the spec brings its own: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			token := string(s.Data[managementTokenKey])
			switch {
			case tc.existing != "" && token != tc.existing:
				t.Errorf("the Secret made beforehand was changed: %q", token)
			case tc.existing == "" && (len(token) != 64 || strings.Trim(token, "0123456789abcdef") != ""):
				t.Errorf("generated token %q, want 64 hex characters", token)
			case tc.existing == "":
				ownedBy(t, s, sr)
			}
			reconcileOnce(t, r, fetch(t, k, sr))
			again := &corev1.Secret{}
			get(t, k, ns, managementTokenSecretName(sr), again)
			if string(again.Data[managementTokenKey]) != token {
				t.Errorf("a reconcile changed the token")
			}
		})
	}
}
