package manifests

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/semrouter/semrouter/services/operator/api/v1alpha1"
	"github.com/semrouter/semrouter/services/operator/internal/controller"
	"github.com/semrouter/semrouter/services/operator/internal/kubetest"
)

// invocation is one way a manifest runs one of our binaries: the binary, its
// arguments after the program name and the container's environment.
type invocation struct {
	binary string
	args   []string
	// env holds the variables with a literal value (Dockerfile ENV, then the
	// manifest's); names also lists those set from Secrets and the like.
	env   map[string]string
	names []string
	// where says which manifest and workload; files are where a flag it
	// passes may be written, to name them in a failure.
	where string
	files []string
}

// TestManifestFlagsMatchBinaries runs every binary the deployment manifests
// start (docker compose, every kustomization of deploy/k8s and the operator's
// Deployments) with the manifest's arguments and a trailing -h: each flag must
// be one the binary defines, with a value it accepts, so that the run ends as
// a help request. Every SEMROUTER_* variable a manifest or Dockerfile sets
// must be read by code built into that binary.
func TestManifestFlagsMatchBinaries(t *testing.T) {
	root, err := kubetest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	imgs := readImages(t, root)
	var invs []invocation
	invs = append(invs, composeInvocations(t, root, imgs)...)
	invs = append(invs, kustomizeInvocations(t, imgs)...)
	invs = append(invs, operatorInvocations(t, root, imgs)...)

	pkgs := map[string]string{}
	for _, inv := range invs {
		pkgs[inv.binary] = imgs.pkg(t, root, inv.binary)
	}
	for _, want := range []string{"config-hub", "gateway-extproc", "classifier", "cache", "embedder-gpu", "operator", "semrouter"} {
		if _, ok := pkgs[want]; !ok {
			t.Errorf("no manifest runs %s: the collection of invocations is broken", want)
		}
	}
	bins := buildBinaries(t, root, pkgs)
	envRead := envLiterals(t, root, pkgs)

	seen := map[string]bool{}
	for _, inv := range invs {
		key := inv.binary + "\x00" + strings.Join(inv.args, "\x00") + "\x00" + fmt.Sprint(inv.env) + fmt.Sprint(inv.names)
		if seen[key] {
			continue
		}
		seen[key] = true
		if testing.Verbose() {
			t.Logf("%s: %s %s (env %s)", inv.where, inv.binary, strings.Join(inv.args, " "), strings.Join(inv.names, ","))
		}
		checkFlags(t, root, bins[inv.binary], inv)
		for _, name := range inv.names {
			if strings.HasPrefix(name, "SEMROUTER_") && !envRead[inv.binary][name] {
				t.Errorf("%s: sets %s, which %s never reads (no %q in the Go code it is built from)", inv.where, name, inv.binary, name)
			}
		}
	}
	t.Logf("checked %d distinct invocations of %d binaries", len(seen), len(bins))
}

var (
	unknownFlag = regexp.MustCompile(`flag provided but not defined: -+(\S+)`)
	badValue    = regexp.MustCompile(`invalid (?:boolean )?value "([^"]*)" for flag -+([^:\s]+)`)
	missingArg  = regexp.MustCompile(`flag needs an argument: -+(\S+)`)
)

// checkFlags runs bin with inv's arguments and -h and asserts a help request:
// exit status 0 and the usage printed.
func checkFlags(t *testing.T, root, bin string, inv invocation) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(slices.Clone(inv.args), "-h")...)
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"HOME=" + cmd.Dir, "PATH=" + os.Getenv("PATH")}
	for k, v := range inv.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	argv := inv.binary + " " + strings.Join(inv.args, " ")
	if ctx.Err() != nil {
		t.Errorf("%s: `%s -h` still ran after a minute: -h was not taken as a help request (after a positional argument?)", inv.where, argv)
		return
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Errorf("%s: run %s: %v", inv.where, inv.binary, err)
		return
	}
	if err == nil {
		if !strings.Contains(string(out), "Usage") {
			t.Errorf("%s: `%s -h` exited 0 without printing its usage: -h was not taken as a help request\n%s", inv.where, argv, tail(out))
		}
		return
	}
	// needles are what the flag looks like in the manifests, most precise first.
	var problem string
	var needles []string
	if m := unknownFlag.FindSubmatch(out); m != nil {
		problem = fmt.Sprintf("passes --%s, which %s does not define", m[1], inv.binary)
		needles = []string{"--" + string(m[1]), `"` + string(m[1]) + `"`}
	} else if m := badValue.FindSubmatch(out); m != nil {
		problem = fmt.Sprintf("passes --%s=%q, which %s refuses: %s", m[2], m[1], inv.binary, m[0])
		needles = []string{"--" + string(m[2]) + "=" + string(m[1]), "--" + string(m[2]), `"` + string(m[2]) + `"`}
	} else if m := missingArg.FindSubmatch(out); m != nil {
		problem = fmt.Sprintf("passes --%s without a value", m[1])
		needles = []string{"--" + string(m[1]), `"` + string(m[1]) + `"`}
	} else {
		t.Errorf("%s: `%s -h` is no help request for %s (%v)\n%s", inv.where, argv, inv.binary, err, tail(out))
		return
	}
	if files := mentions(root, inv.files, needles); len(files) > 0 {
		problem += " (written in " + strings.Join(files, ", ") + ")"
	}
	t.Errorf("%s: %s", inv.where, problem)
}

// mentions are the files (relative to root) holding the first of needles
// that any of them holds.
func mentions(root string, files, needles []string) []string {
	for _, needle := range needles {
		var out []string
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err == nil && strings.Contains(string(data), needle) {
				rel, _ := filepath.Rel(root, f)
				out = append(out, rel)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}

func tail(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > 8 {
		lines = append([]string{"..."}, lines[len(lines)-8:]...)
	}
	return "\t" + strings.Join(lines, "\n\t")
}

// images maps image repositories to the binaries they run, from the
// Dockerfiles docker-compose.yaml builds.
type images struct {
	byRepo   map[string]string   // ghcr.io/semrouter/cache → cache
	prefixes map[string]bool     // ghcr.io/semrouter/
	pkgs     map[string]string   // cache → ./services/cache/cmd/cache
	env      map[string][]string // cache → the ENV of its Dockerfile, "K=V"
}

// binary is what an image runs: its Dockerfile's ENTRYPOINT, else (an image
// of ours that compose does not build, such as the operator's) its name.
func (im images) binary(image string) (string, bool) {
	repo := image
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	if b, ok := im.byRepo[repo]; ok {
		return b, true
	}
	return path.Base(repo), im.prefixes[path.Dir(repo)+"/"]
}

// pkg is the main package that builds binary: the Dockerfile's, else
// services/*/cmd/<binary> or cmd/<binary>.
func (im images) pkg(t *testing.T, root, binary string) string {
	t.Helper()
	if p, ok := im.pkgs[binary]; ok {
		return p
	}
	found, _ := filepath.Glob(filepath.Join(root, "services", "*", "cmd", binary))
	if _, err := os.Stat(filepath.Join(root, "cmd", binary)); err == nil {
		found = append(found, filepath.Join(root, "cmd", binary))
	}
	if len(found) != 1 {
		t.Fatalf("binary %s: want one of services/*/cmd/%[1]s and cmd/%[1]s, found %v", binary, found)
	}
	rel, _ := filepath.Rel(root, found[0])
	return "./" + filepath.ToSlash(rel)
}

// argv is a compose command or entrypoint: a list, or a string split on spaces.
type argv []string

func (a *argv) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*a = strings.Fields(n.Value)
		return nil
	}
	return n.Decode((*[]string)(a))
}

// composeEnv is a compose environment: a map, or a list of K=V.
type composeEnv map[string]string

func (e *composeEnv) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.SequenceNode {
		var list []string
		if err := n.Decode(&list); err != nil {
			return err
		}
		*e = composeEnv{}
		for _, kv := range list {
			k, v, _ := strings.Cut(kv, "=")
			(*e)[k] = v
		}
		return nil
	}
	return n.Decode((*map[string]string)(e))
}

type composeService struct {
	Image       string     `yaml:"image"`
	Build       yaml.Node  `yaml:"build"`
	Entrypoint  argv       `yaml:"entrypoint"`
	Command     argv       `yaml:"command"`
	Environment composeEnv `yaml:"environment"`
}

func (s composeService) dockerfile() string {
	var b struct {
		Dockerfile string `yaml:"dockerfile"`
	}
	if s.Build.Kind == yaml.MappingNode && s.Build.Decode(&b) == nil && b.Dockerfile != "" {
		return b.Dockerfile
	}
	if s.Build.Kind != 0 {
		return "Dockerfile"
	}
	return ""
}

func readCompose(t *testing.T, root string) (string, map[string]composeService) {
	t.Helper()
	file := filepath.Join(root, "deploy", "compose", "docker-compose.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]composeService `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return file, doc.Services
}

func readImages(t *testing.T, root string) images {
	t.Helper()
	im := images{byRepo: map[string]string{}, prefixes: map[string]bool{}, pkgs: map[string]string{}, env: map[string][]string{}}
	_, services := readCompose(t, root)
	for name, s := range services {
		df := s.dockerfile()
		if df == "" {
			continue
		}
		// the build context is the repository root (context: ../..)
		bin, pkg, env := parseDockerfile(t, filepath.Join(root, df))
		repo := s.Image
		if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
			repo = repo[:i]
		}
		if repo == "" {
			t.Fatalf("compose service %s builds %s but names no image", name, df)
		}
		if other, ok := im.byRepo[repo]; ok && other != bin {
			t.Fatalf("image %s runs both %s and %s", repo, other, bin)
		}
		im.byRepo[repo] = bin
		im.prefixes[path.Dir(repo)+"/"] = true
		im.pkgs[bin] = pkg
		im.env[bin] = env
	}
	if len(im.byRepo) == 0 {
		t.Fatal("docker-compose.yaml builds no image")
	}
	return im
}

var goBuildOut = regexp.MustCompile(`go build [^&;]*?-o /out/(\S+) (\./\S+)`)

// parseDockerfile returns the binary ENTRYPOINT runs, the package the build
// stage compiles it from and the ENV settings (of every stage).
func parseDockerfile(t *testing.T, file string) (bin, pkg string, env []string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	built := map[string]string{}
	var instr strings.Builder
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	flush := func() {
		line := strings.TrimSpace(instr.String())
		instr.Reset()
		word, rest, _ := strings.Cut(line, " ")
		switch strings.ToUpper(word) {
		case "ENTRYPOINT":
			var ep []string
			if err := json.Unmarshal([]byte(rest), &ep); err != nil || len(ep) == 0 {
				t.Fatalf("%s: ENTRYPOINT %s: want the exec form", file, rest)
			}
			if bin != "" && bin != path.Base(ep[0]) {
				t.Fatalf("%s: ENTRYPOINTs run %s and %s", file, bin, ep[0])
			}
			bin = path.Base(ep[0])
		case "RUN":
			for _, m := range goBuildOut.FindAllStringSubmatch(rest, -1) {
				built[m[1]] = m[2]
			}
		case "ENV":
			for _, kv := range strings.Fields(rest) {
				if k, _, ok := strings.Cut(kv, "="); ok && !slices.Contains(env, kv) && k != "" {
					env = append(env, kv)
				}
			}
		}
	}
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if l, ok := strings.CutSuffix(strings.TrimRight(line, " "), `\`); ok {
			instr.WriteString(l + " ")
			continue
		}
		instr.WriteString(line)
		flush()
	}
	if bin == "" {
		t.Fatalf("%s has no ENTRYPOINT", file)
	}
	if pkg = built[bin]; pkg == "" {
		t.Fatalf("%s: ENTRYPOINT runs %s, which no `go build -o /out/%[2]s ./...` builds", file, bin)
	}
	return bin, pkg, env
}

// envOf turns Dockerfile ENV settings into a map and a name list.
func envOf(settings []string) (map[string]string, []string) {
	env := map[string]string{}
	var names []string
	for _, kv := range settings {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
		names = append(names, k)
	}
	return env, names
}

// composeDefault resolves ${VAR:-default} and ${VAR-default} to the default
// and ${VAR} to nothing, as compose does without those variables set.
var composeVar = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}`)

func composeInvocations(t *testing.T, root string, im images) []invocation {
	t.Helper()
	file, services := readCompose(t, root)
	var out []invocation
	for _, name := range slices.Sorted(maps.Keys(services)) {
		s := services[name]
		if s.dockerfile() == "" {
			continue
		}
		bin, _ := im.binary(s.Image)
		args := slices.Clone([]string(s.Command))
		if len(s.Entrypoint) > 0 {
			bin = path.Base(s.Entrypoint[0])
			args = append(slices.Clone([]string(s.Entrypoint[1:])), args...)
		}
		env, names := envOf(im.env[bin])
		for k, v := range s.Environment {
			env[k] = composeVar.ReplaceAllString(v, "$1")
			names = append(names, k)
		}
		for i, a := range args {
			args[i] = composeVar.ReplaceAllString(a, "$1")
		}
		slices.Sort(names)
		out = append(out, invocation{binary: bin, args: args, env: env, names: slices.Compact(names),
			where: fmt.Sprintf("deploy/compose/docker-compose.yaml: service %s", name), files: []string{file}})
	}
	return out
}

// kubeVar is a $(VAR) reference in a container's args.
var kubeVar = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// containerInvocation is what a pod container runs, when it is one of ours.
func containerInvocation(im images, c corev1.Container, where string, files []string) (invocation, bool) {
	bin, ours := im.binary(c.Image)
	if !ours {
		return invocation{}, false
	}
	args := slices.Clone(c.Args)
	if len(c.Command) > 0 {
		bin = path.Base(c.Command[0])
		args = append(slices.Clone(c.Command[1:]), c.Args...)
	}
	env, names := envOf(im.env[bin])
	for _, e := range c.Env {
		names = append(names, e.Name)
		if e.ValueFrom == nil {
			env[e.Name] = e.Value
		}
	}
	for i, a := range args {
		args[i] = kubeVar.ReplaceAllStringFunc(a, func(ref string) string {
			if v, ok := env[ref[2:len(ref)-1]]; ok {
				return v
			}
			return ref
		})
	}
	slices.Sort(names)
	return invocation{binary: bin, args: args, env: env, names: slices.Compact(names),
		where: where + " container " + c.Name, files: files}, true
}

func kustomizeInvocations(t *testing.T, im images) []invocation {
	t.Helper()
	dir := deployDir(t)
	var files []string
	if err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") {
			files = append(files, p)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var out []invocation
	for _, k := range kustomizations() {
		for _, u := range render(t, filepath.Join(dir, k)) {
			spec, ok := podSpec(t, u)
			if !ok {
				continue
			}
			for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
				where := fmt.Sprintf("deploy/k8s/%s: %s %s", k, u.GetKind(), u.GetName())
				if inv, ok := containerInvocation(im, c, where, files); ok {
					out = append(out, inv)
				}
			}
		}
	}
	return out
}

// operatorInvocations are the containers of the Deployments the operator
// writes, for routers that exercise each way it builds arguments.
func operatorInvocations(t *testing.T, root string, im images) []invocation {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "services", "operator", "internal", "controller", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return strings.HasSuffix(f, "_test.go") })
	routers := map[string]v1alpha1.SemanticRouterSpec{
		"defaults": {},
		"classifier model and guard dir": {Components: v1alpha1.ComponentsSpec{Classifier: v1alpha1.ClassifierSpec{
			EmbedModel: "glove-sif-100d", GuardDir: "/guard"}}},
		"model and guard dir from env": {Components: v1alpha1.ComponentsSpec{Classifier: v1alpha1.ClassifierSpec{
			ComponentSpec: v1alpha1.ComponentSpec{Env: []corev1.EnvVar{
				{Name: "SEMROUTER_EMBED_MODEL", Value: "glove-sif-100d"}, {Name: "SEMROUTER_GUARD_DIR", Value: "/guard"}}}}}},
	}
	var out []invocation
	for _, name := range slices.Sorted(maps.Keys(routers)) {
		spec := routers[name]
		sr := &v1alpha1.SemanticRouter{ObjectMeta: metav1.ObjectMeta{Name: "sr", Namespace: "ns"}, Spec: spec}
		for _, d := range controller.Deployments(sr, controller.Platform{}, "sha256:test") {
			for _, c := range d.Spec.Template.Spec.Containers {
				where := fmt.Sprintf("operator (services/operator/internal/controller), router %q: Deployment %s", name, d.Name)
				if inv, ok := containerInvocation(im, c, where, files); ok {
					out = append(out, inv)
				}
			}
		}
	}
	return out
}

// buildBinaries compiles each binary's main package into a temporary
// directory with one go build (the shared build cache keeps it quick).
func buildBinaries(t *testing.T, root string, pkgs map[string]string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, p := range pkgs {
		args = append(args, p)
	}
	slices.Sort(args[3:])
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	bins := map[string]string{}
	for bin, p := range pkgs {
		if path.Base(p) != bin {
			t.Fatalf("package %s builds %s, not %s", p, path.Base(p), bin)
		}
		bins[bin] = filepath.Join(dir, bin)
	}
	return bins
}

var envLiteral = regexp.MustCompile(`"(SEMROUTER_[A-Z0-9_]+)"`)

// envLiterals returns, per binary, the "SEMROUTER_*" string literals of the
// repository's Go files (tests excluded) compiled into it.
func envLiterals(t *testing.T, root string, pkgs map[string]string) map[string]map[string]bool {
	t.Helper()
	args := []string{"list", "-deps", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{join .GoFiles \",\"}},{{join .CgoFiles \",\"}}\t{{join .Deps \",\"}}"}
	for _, p := range pkgs {
		args = append(args, p)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	var stderr strings.Builder
	cmd.Stderr = &stderr
	listing, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	const module = "github.com/semrouter/semrouter/"
	literals := map[string][]string{} // import path → literals
	deps := map[string][]string{}     // package dir → import path and deps
	for _, line := range strings.Split(strings.TrimSpace(string(listing)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 || !strings.HasPrefix(f[0], module) {
			continue
		}
		deps[f[1]] = append([]string{f[0]}, strings.Split(f[3], ",")...)
		for _, name := range strings.Split(f[2], ",") {
			if name == "" {
				continue
			}
			data, err := os.ReadFile(filepath.Join(f[1], name))
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range envLiteral.FindAllStringSubmatch(string(data), -1) {
				literals[f[0]] = append(literals[f[0]], m[1])
			}
		}
	}
	out := map[string]map[string]bool{}
	for bin, p := range pkgs {
		d, ok := deps[filepath.Join(root, filepath.FromSlash(p))]
		if !ok {
			t.Fatalf("go list did not list %s", p)
		}
		out[bin] = map[string]bool{}
		for _, ip := range d {
			for _, l := range literals[ip] {
				out[bin][l] = true
			}
		}
	}
	return out
}
