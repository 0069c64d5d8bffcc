package integration

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/pkg/subjects"
)

// natsPods is the rendered NATS StatefulSet of an overlay, ready to be run
// as in-process servers.
type natsPods struct {
	set       *k8sObject
	container k8sContainer
	// configMaps holds the data of every ConfigMap the container mounts,
	// by mount path.
	configMaps map[string]map[string]string
	// secrets are the values the test gives the Secrets (name, key).
	secrets map[string]map[string]string
	// clusterPorts are the loopback route ports that stand for each pod's
	// port 6222, by pod name.
	clusterPorts map[string]int
}

// podNameRef matches a StatefulSet pod's DNS name with a port (the pods
// are <set>-<ordinal>.<service>, optionally namespace-qualified).
func (p *natsPods) podNameRef() *regexp.Regexp {
	return regexp.MustCompile(`\b(` + regexp.QuoteMeta(p.set.Metadata.Name) + `-\d+)\.` +
		regexp.QuoteMeta(p.set.Spec.ServiceName) + `(?:\.[A-Za-z0-9.-]+)?:(\d+)\b`)
}

// podEnv is the container environment of one pod, as the kubelet builds
// it: literal values (expanded against the earlier variables), the pod's
// name, and Secret keys (a missing key keeps the pod from starting).
func (p *natsPods) podEnv(pod string) (map[string]string, error) {
	env := map[string]string{}
	for _, e := range p.container.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = kubeletExpand(e.Value, env)
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = pod
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			v, ok := p.secrets[ref.Name][ref.Key]
			if !ok {
				return nil, fmt.Errorf("env %s: Secret %s has no key %q", e.Name, ref.Name, ref.Key)
			}
			env[e.Name] = v
		default:
			return nil, fmt.Errorf("env %s: a source this test cannot provide", e.Name)
		}
	}
	return env, nil
}

// localArgs turns the container's args into those of an in-process
// server standing for one pod: $(VAR) expanded with the pod's environment,
// the pod DNS names and the route listener on loopback ports, mounted
// ConfigMaps written to temporary directories, other mounts replaced by
// fresh ones.
func (p *natsPods) localArgs(t *testing.T, pod string, rawArgs []string, env map[string]string) []string {
	t.Helper()
	mounts := map[string]string{}
	for _, m := range p.container.VolumeMounts {
		dir := t.TempDir()
		for name, content := range p.configMaps[m.MountPath] {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		mounts[m.MountPath] = dir
	}
	ref := p.podNameRef()
	var args []string
	for _, raw := range rawArgs {
		arg := kubeletExpand(raw, env)
		if strings.Contains(arg, "$(") {
			t.Fatalf("pod %s: arg %q keeps an undefined $(VAR) after expansion", pod, raw)
		}
		var err error
		arg = ref.ReplaceAllStringFunc(arg, func(m string) string {
			sub := ref.FindStringSubmatch(m)
			port, ok := p.clusterPorts[sub[1]]
			if !ok || sub[2] != "6222" {
				err = fmt.Errorf("pod %s: arg names %s, which is no route port of a pod of the set", pod, m)
			}
			return "127.0.0.1:" + strconv.Itoa(port)
		})
		if err != nil {
			t.Fatal(err)
		}
		arg = strings.ReplaceAll(arg, "0.0.0.0:6222", "127.0.0.1:"+strconv.Itoa(p.clusterPorts[pod]))
		if flagName, value, ok := strings.Cut(arg, "="); ok {
			for mount, dir := range mounts {
				if value == mount || strings.HasPrefix(value, mount+"/") {
					arg = flagName + "=" + dir + strings.TrimPrefix(value, mount)
				}
			}
		}
		args = append(args, arg)
	}
	return args
}

// startPod runs one in-process nats-server from a pod's local args, as
// nats-server's main does (server.ConfigureOptions). Each pod has its own
// network namespace in Kubernetes; here they share one, so the client
// listener moves to a random loopback port and monitoring is off.
func startPod(t *testing.T, pod string, args []string) (*server.Server, *natstest.Log) {
	t.Helper()
	fs := flag.NewFlagSet("nats-server", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	opts, err := server.ConfigureOptions(fs, args,
		func() { t.Errorf("pod %s: args ask for the version", pod) },
		func() { t.Errorf("pod %s: args ask for help", pod) },
		func() { t.Errorf("pod %s: args ask for TLS help", pod) })
	if err != nil {
		shown := slices.Clone(args)
		server.RedactArgs(shown)
		t.Fatalf("pod %s: nats-server refuses the args %q: %v", pod, shown, err)
	}
	opts.Host, opts.Port = "127.0.0.1", server.RANDOM_PORT
	opts.HTTPPort = 0
	opts.NoSigs = true
	log := natstest.NewLog(nil)
	return natstest.Start(t, opts, log), log
}

// loadNATSPods renders an overlay and prepares its NATS StatefulSet: the
// Secrets the container reads get random values for the keys of the
// example Secret (deploy/k8s/base/nats-users-secret.example.yaml), and each
// pod (plus extra ones beyond the replicas) a loopback route port.
func loadNATSPods(t *testing.T, overlay string, extra int) *natsPods {
	t.Helper()
	objs := kustomizeBuild(t, overlay)
	p := &natsPods{set: findObject(objs, "StatefulSet", "nats"), configMaps: map[string]map[string]string{},
		secrets: map[string]map[string]string{}, clusterPorts: map[string]int{}}
	if p.set == nil {
		t.Fatalf("%s renders no StatefulSet nats", overlay)
	}
	for _, c := range p.set.Spec.Template.Spec.Containers {
		if c.Name == "nats" {
			p.container = c
		}
	}
	if p.container.Name == "" {
		t.Fatalf("%s: StatefulSet nats has no container nats", overlay)
	}
	for _, m := range p.container.VolumeMounts {
		for _, v := range p.set.Spec.Template.Spec.Volumes {
			if v.Name != m.Name || v.ConfigMap == nil {
				continue
			}
			cm := findObject(objs, "ConfigMap", v.ConfigMap.Name)
			if cm == nil {
				t.Fatalf("%s: volume %s mounts ConfigMap %s, which it does not render", overlay, v.Name, v.ConfigMap.Name)
			}
			p.configMaps[m.MountPath] = cm.Data
		}
	}

	example := "deploy/k8s/base/nats-users-secret.example.yaml"
	raw, err := os.ReadFile(filepath.Join(repoRoot, example))
	if err != nil {
		t.Fatal(err)
	}
	secret := decodeObjects(t, example, raw)
	if len(secret) != 1 || secret[0].Kind != "Secret" {
		t.Fatalf("%s: want one Secret", example)
	}
	values := map[string]string{}
	for key := range secret[0].StringData {
		values[key] = randomSecret(t)
	}
	p.secrets[secret[0].Metadata.Name] = values
	for _, e := range p.container.Env {
		if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			continue
		}
		ref := e.ValueFrom.SecretKeyRef
		if _, ok := p.secrets[ref.Name][ref.Key]; !ok {
			t.Errorf("%s: NATS env %s reads key %q of Secret %s, which %s lacks", overlay, e.Name, ref.Key, ref.Name, example)
		}
	}
	// The documented create-secret command names the same keys.
	keys := slices.Sorted(maps.Keys(values))
	loop := regexp.MustCompile(`for u in ([a-z -]+); do`)
	for _, doc := range []string{example, "deploy/k8s/README.md"} {
		text, err := os.ReadFile(filepath.Join(repoRoot, doc))
		if err != nil {
			t.Fatal(err)
		}
		m := loop.FindSubmatch(text)
		if m == nil {
			t.Errorf("%s: no create-secret loop (for u in ...; do)", doc)
			continue
		}
		named := strings.Fields(string(m[1]))
		slices.Sort(named)
		if !slices.Equal(named, keys) {
			t.Errorf("%s: create-secret loop names %v, the example Secret has %v", doc, named, keys)
		}
	}

	replicas := 1
	if p.set.Spec.Replicas != nil {
		replicas = *p.set.Spec.Replicas
	}
	for i := range replicas + extra {
		p.clusterPorts[p.podName(i)] = freePort(t)
	}
	return p
}

func (p *natsPods) podName(ordinal int) string {
	return p.set.Metadata.Name + "-" + strconv.Itoa(ordinal)
}

// setSecretEnv puts the Secret-sourced variables of a pod's environment
// into the process environment, where the server's nats.conf reads them.
func (p *natsPods) setSecretEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for _, e := range p.container.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			t.Setenv(e.Name, env[e.Name])
		}
	}
}

// userInfo matches the credentials of a nats:// URL.
var userInfo = regexp.MustCompile(`nats://[^@/,]*@`)

// TestNATSClusterRoutesAreAuthenticated runs the NATS StatefulSet of
// overlays/nats-cluster (and of overlays/production) as three in-process servers built from its rendered
// args and nats.conf, with the environment the kubelet would give each pod
// (passwords: random values for the Secret's keys). The routes must form
// and carry a 3-replica JetStream stream; a fourth server that dials the
// same route URLs without the route password, with wrong Secret values or
// with a service user's credentials must get no route.
func TestNATSClusterRoutesAreAuthenticated(t *testing.T) {
	for _, overlay := range []string{"deploy/k8s/overlays/nats-cluster", "deploy/k8s/overlays/production"} {
		t.Run(filepath.Base(overlay), func(t *testing.T) { checkNATSCluster(t, overlay) })
	}
}

func checkNATSCluster(t *testing.T, overlay string) {
	p := loadNATSPods(t, overlay, 1)
	if r := p.set.Spec.Replicas; r == nil || *r != 3 {
		t.Fatalf("%s: NATS replicas %v, want 3", overlay, r)
	}
	if !slices.ContainsFunc(p.container.Args, func(a string) bool { return userInfo.MatchString(a) }) {
		t.Errorf("%s: no route URL in the NATS args carries credentials: %q", overlay, p.container.Args)
	}

	var (
		srvs []*server.Server
		logs []*natstest.Log
		env  map[string]string
	)
	for i := range 3 {
		pod := p.podName(i)
		var err error
		if env, err = p.podEnv(pod); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			p.setSecretEnv(t, env)
		}
		srv, log := startPod(t, pod, p.localArgs(t, pod, p.container.Args, env))
		srvs, logs = append(srvs, srv), append(logs, log)
	}
	waitFor(t, 20*time.Second, "three routed NATS servers", func() error {
		for i, s := range srvs {
			if n := s.NumRemotes(); n != 2 {
				return fmt.Errorf("%s has routes to %d servers, want 2 (log: %q)", p.podName(i), n, logs[i].Tail(8))
			}
		}
		return nil
	})
	for i, s := range srvs {
		if s.NumRoutes() < 2 {
			t.Errorf("%s: %d route connections", p.podName(i), s.NumRoutes())
		}
	}

	t.Run("replicated stream", func(t *testing.T) {
		checkReplicatedStream(t, p, srvs, env)
	})

	intruders := []struct {
		name string
		// args rewrites the rendered args; secrets replaces the Secret values.
		args    func([]string) []string
		secrets bool
		// joins: the control case, a fourth pod as rendered
		joins bool
	}{
		{name: "refused/without credentials", args: func(a []string) []string {
			return mapArgs(a, func(s string) string { return userInfo.ReplaceAllString(s, "nats://") })
		}},
		{name: "refused/wrong route password", secrets: true},
		{name: "refused/service user credentials", args: func(a []string) []string {
			gw := natsUsers[1]
			return mapArgs(a, func(s string) string {
				return userInfo.ReplaceAllString(s, "nats://"+gw.user+":$("+gw.passwordEnv+")@")
			})
		}},
		// last: the refusal cases expect the three members alone
		{name: "control: as rendered", joins: true},
	}
	for _, tc := range intruders {
		t.Run(tc.name, func(t *testing.T) {
			pod := p.podName(3)
			args := p.container.Args
			if tc.args != nil {
				args = tc.args(args)
				if slices.Equal(args, p.container.Args) {
					t.Fatalf("the rewrite changed no arg: %q", args)
				}
			}
			q := *p
			if tc.secrets {
				q.secrets = map[string]map[string]string{}
				for name, kv := range p.secrets {
					q.secrets[name] = map[string]string{}
					for k := range kv {
						q.secrets[name][k] = randomSecret(t)
					}
				}
			}
			ienv, err := q.podEnv(pod)
			if err != nil {
				t.Fatal(err)
			}
			// The intruder's own nats.conf gets the cluster's environment
			// (its client users do not matter to the routes).
			refusedBefore := make([]int, len(srvs))
			for i := range srvs {
				refusedBefore[i] = logs[i].Count("authentication error")
			}
			intruder, ilog := startPod(t, pod, q.localArgs(t, pod, args, ienv))
			if tc.joins {
				waitFor(t, 20*time.Second, "a fourth member", func() error {
					for i, s := range append([]*server.Server{intruder}, srvs...) {
						if n := s.NumRemotes(); n != 3 {
							return fmt.Errorf("server %d has routes to %d servers, want 3", i, n)
						}
					}
					return nil
				})
				return
			}
			// Every member refuses the intruder's route connections, at
			// least twice each (the route pool's connections or retries).
			waitFor(t, 20*time.Second, "route refusals", func() error {
				for i := range srvs {
					if srvs[i].NumRemotes() > 2 {
						return nil // a member took the intruder: fails below
					}
					port := ":" + strconv.Itoa(p.clusterPorts[p.podName(i)])
					if n := ilog.Count("Authorization Violation", port); n < 2 {
						return fmt.Errorf("%s refused the intruder's route %d times (intruder log: %q)", p.podName(i), n, ilog.Tail(8))
					}
				}
				return nil
			})
			// No member has a route to the intruder: the accepting side
			// registers a route only once the CONNECT passed authentication.
			// (The dialing intruder registers one when the member's INFO
			// arrives, before the member checks its CONNECT, so it may
			// briefly count a route that the member is closing: the
			// members are the ones to ask.)
			for i, s := range srvs {
				names := remoteNames(t, s)
				if len(names) != 2 || slices.Contains(names, pod) {
					t.Errorf("%s has routes to %q, want its 2 peers only", p.podName(i), names)
				}
				if logs[i].Count("authentication error") == refusedBefore[i] {
					t.Errorf("%s logged no authentication error for the intruder: %q", p.podName(i), logs[i].Tail(8))
				}
			}
		})
	}
}

// remoteNames is the server names of a server's routes.
func remoteNames(t *testing.T, s *server.Server) []string {
	t.Helper()
	rz, err := s.Routez(nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rz.Routes {
		if !slices.Contains(names, r.RemoteName) {
			names = append(names, r.RemoteName)
		}
	}
	slices.Sort(names)
	return names
}

func mapArgs(args []string, f func(string) string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = f(a)
	}
	return out
}

// checkReplicatedStream creates the cache's write stream with 3 replicas as
// the cache user (its nats.conf permissions), publishes into it through one
// server and reads the message back through another.
func checkReplicatedStream(t *testing.T, p *natsPods, srvs []*server.Server, env map[string]string) {
	waitFor(t, 20*time.Second, "a JetStream meta leader", func() error {
		for _, s := range srvs {
			if s.JetStreamIsLeader() {
				return nil
			}
		}
		return errors.New("no server leads the JetStream meta group")
	})
	cache := natsUsers[4]
	connect := func(s *server.Server) jetstream.JetStream {
		nc, err := nats.Connect(s.ClientURL(), nats.UserInfo(cache.user, env[cache.passwordEnv]),
			nats.CustomInboxPrefix(inboxPrefix(cache.user)))
		if err != nil {
			t.Fatalf("connect as %s: %v", cache.user, err)
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		return js
	}
	ctx := testContext(t, 30*time.Second)
	js := connect(srvs[0])
	var stream jetstream.Stream
	waitFor(t, 20*time.Second, "a 3-replica stream", func() error {
		var err error
		stream, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: subjects.CacheWritesStream(),
			Subjects: []string{subjects.CacheWritesAll()}, Replicas: 3})
		return err
	})
	payload := []byte("replicated over authenticated routes")
	if _, err := js.Publish(ctx, subjects.CacheWrite("cluster-test"), payload); err != nil {
		t.Fatalf("publish: %v", err)
	}
	waitFor(t, 20*time.Second, "the replicas to catch up", func() error {
		info, err := stream.Info(ctx)
		if err != nil {
			return err
		}
		if info.Cluster == nil || info.Cluster.Leader == "" || len(info.Cluster.Replicas) != 2 {
			return fmt.Errorf("cluster info %+v", info.Cluster)
		}
		for _, r := range info.Cluster.Replicas {
			if !r.Current {
				return fmt.Errorf("replica %s is not current", r.Name)
			}
		}
		if info.State.Msgs != 1 {
			return fmt.Errorf("%d messages", info.State.Msgs)
		}
		return nil
	})
	other, err := connect(srvs[2]).Stream(ctx, subjects.CacheWritesStream())
	if err != nil {
		t.Fatalf("stream through %s: %v", p.podName(2), err)
	}
	msg, err := other.GetMsg(ctx, 1)
	if err != nil {
		t.Fatalf("get the message through %s: %v", p.podName(2), err)
	}
	if !bytes.Equal(msg.Data, payload) {
		t.Errorf("message %q, want %q", msg.Data, payload)
	}
}
