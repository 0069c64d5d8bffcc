// Package integration holds black-box tests: they build the real binaries
// once and run them as separate OS processes.
package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// bins maps a binary name to its path, built by TestMain.
var bins = map[string]string{}

// optionalBuildErrors names the optional binaries that did not build, with
// the reason; tests that need one skip with that reason.
var optionalBuildErrors = map[string]string{}

// repoRoot is the directory holding go.work.
var repoRoot string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

// binary is one program TestMain builds from the checkout.
type binary struct {
	name, pkg string
	// optional: a build failure is recorded instead of aborting the run
	// (the service is being written; the tests that need it skip).
	optional bool
}

func binaries() []binary {
	return []binary{
		{name: "semrouter", pkg: "./cmd/semrouter"},
		{name: "config-hub", pkg: "./services/config-hub/cmd/config-hub"},
		{name: "embedder-gpu", pkg: "./services/embedder-gpu/cmd/embedder-gpu"},
		{name: "classifier", pkg: "./services/classifier/cmd/classifier"},
		{name: "gateway-extproc", pkg: "./services/gateway-extproc/cmd/gateway-extproc"},
		// The real NATS server (the pinned module of the workspace).
		{name: "nats-server", pkg: "github.com/nats-io/nats-server/v2"},
		{name: "cache", pkg: "./services/cache/cmd/cache", optional: true},
	}
}

func run(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			repoRoot = dir
			break
		}
		if dir == filepath.Dir(dir) {
			fmt.Fprintln(os.Stderr, "integration: go.work not found above", wd)
			return 1
		}
	}
	out, err := os.MkdirTemp("", "semrouter-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(out)
	// One go build for the required binaries (it links them in parallel),
	// then each optional one on its own so that its failure is contained.
	var required []string
	for _, b := range binaries() {
		if !b.optional {
			required = append(required, b.pkg)
		}
	}
	if msg, err := goBuild(out+string(filepath.Separator), required...); err != nil {
		fmt.Fprintf(os.Stderr, "integration: build %v: %v\n%s", required, err, msg)
		return 1
	}
	for _, b := range binaries() {
		path := filepath.Join(out, b.name)
		if !b.optional {
			if _, err := os.Stat(path); err != nil {
				fmt.Fprintf(os.Stderr, "integration: %s was not built: %v\n", b.name, err)
				return 1
			}
			bins[b.name] = path
			continue
		}
		if _, err := os.Stat(filepath.Join(repoRoot, b.pkg, "main.go")); err != nil {
			optionalBuildErrors[b.name] = fmt.Sprintf("%s has no main.go yet", b.pkg)
			fmt.Fprintf(os.Stderr, "integration: %s: %s; the tests that need it skip\n", b.name, optionalBuildErrors[b.name])
			continue
		}
		if msg, err := goBuild(path, b.pkg); err != nil {
			optionalBuildErrors[b.name] = fmt.Sprintf("go build %s: %v\n%s", b.pkg, err, msg)
			fmt.Fprintf(os.Stderr, "integration: %s does not build; the tests that need it skip:\n%s", b.name, msg)
			continue
		}
		bins[b.name] = path
	}
	return m.Run()
}

// goBuild runs go build -o out pkgs... in the repository root.
func goBuild(out string, pkgs ...string) (string, error) {
	cmd := exec.Command("go", append([]string{"build", "-o", out}, pkgs...)...)
	cmd.Dir = repoRoot
	var msg strings.Builder
	cmd.Stdout, cmd.Stderr = &msg, &msg
	err := cmd.Run()
	return msg.String(), err
}

// needBinary returns the path of an optional binary, or skips the test
// with the reason it was not built.
func needBinary(t *testing.T, name string) string {
	t.Helper()
	if p, ok := bins[name]; ok {
		return p
	}
	t.Skipf("%s binary unavailable: %s", name, optionalBuildErrors[name])
	return ""
}

// sharedDir is ../shared beside the checkout (fixtures and datasets).
func sharedDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(filepath.Dir(repoRoot), "shared")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared folder missing at %s", dir)
		}
		t.Skipf("shared folder missing at %s", dir)
	}
	return dir
}
