package integration

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Rendering deploy/k8s with the kustomize binary, and the kubelet's
// $(VAR) expansion, for tests that run what the manifests describe.

// k8sObject holds the fields of a rendered manifest that the tests read.
type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		Replicas    *int   `yaml:"replicas"`
		ServiceName string `yaml:"serviceName"`
		Template    struct {
			Spec struct {
				Containers []k8sContainer `yaml:"containers"`
				Volumes    []struct {
					Name      string `yaml:"name"`
					ConfigMap *struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type k8sContainer struct {
	Name         string   `yaml:"name"`
	Args         []string `yaml:"args"`
	Env          []k8sEnv `yaml:"env"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type k8sEnv struct {
	Name      string `yaml:"name"`
	Value     string `yaml:"value"`
	ValueFrom *struct {
		SecretKeyRef *struct {
			Name string `yaml:"name"`
			Key  string `yaml:"key"`
		} `yaml:"secretKeyRef"`
		FieldRef *struct {
			FieldPath string `yaml:"fieldPath"`
		} `yaml:"fieldRef"`
	} `yaml:"valueFrom"`
}

// kustomizeBuild renders a kustomization with the kustomize binary that
// make setup installs into .cache/bin.
func kustomizeBuild(t *testing.T, rel string) []k8sObject {
	t.Helper()
	bin := filepath.Join(repoRoot, ".cache", "bin", "kustomize")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kustomize missing at %s (make setup installs it)", bin)
		}
		t.Skipf("kustomize missing at %s; run make setup", bin)
	}
	cmd := exec.Command(bin, "build", rel)
	cmd.Dir = repoRoot
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kustomize build %s: %v\n%s", rel, err, stderr.String())
	}
	return decodeObjects(t, rel, out)
}

func decodeObjects(t *testing.T, what string, data []byte) []k8sObject {
	t.Helper()
	var objs []k8sObject
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var o k8sObject
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("decode %s: %v", what, err)
		}
		objs = append(objs, o)
	}
}

func findObject(objs []k8sObject, kind, name string) *k8sObject {
	for i := range objs {
		if objs[i].Kind == kind && objs[i].Metadata.Name == name {
			return &objs[i]
		}
	}
	return nil
}

// kubeletExpand expands $(NAME) references the way the kubelet does in a
// container's command, args and env values: a defined variable is replaced,
// an undefined reference stays as written, and $$ is a literal $.
func kubeletExpand(s string, env map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := env[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

func TestKubeletExpand(t *testing.T) {
	env := map[string]string{"A": "x", "PW": "s3cret"}
	for _, tc := range []struct{ name, in, want string }{
		{"defined", "--name=$(A)", "--name=x"},
		{"in a URL", "nats://route:$(PW)@h:1,nats://route:$(PW)@g:1", "nats://route:s3cret@h:1,nats://route:s3cret@g:1"},
		{"undefined stays", "$(NOPE)-$(A)", "$(NOPE)-x"},
		{"escaped", "$$(A) $$", "$(A) $"},
		{"lone dollar", "a$b$", "a$b$"},
		{"unterminated", "$(A", "$(A"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := kubeletExpand(tc.in, env); got != tc.want {
				t.Errorf("kubeletExpand(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
