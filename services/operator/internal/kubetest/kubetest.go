// Package kubetest locates the repository and the kube-apiserver/etcd binaries
// that scripts/setup-kube.sh builds, for tests that run a real API server.
package kubetest

import (
	"fmt"
	"os"
	"path/filepath"
)

// RepoRoot walks up from the working directory to the directory holding go.work.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.work not found above the working directory")
		}
		dir = parent
	}
}

// Assets returns the directory holding kube-apiserver and etcd: $KUBEBUILDER_ASSETS,
// else .cache/kube/bin under root. missing is non-empty when a binary is absent.
func Assets(root string) (dir, missing string) {
	dir = os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		dir = filepath.Join(root, ".cache", "kube", "bin")
	}
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return dir, fmt.Sprintf("%s not found in %s: run scripts/setup-kube.sh (make setup)", b, dir)
		}
	}
	return dir, ""
}

// MustHave reports whether a missing prerequisite must fail the run (CI=true)
// rather than skip.
func MustHave() bool { return os.Getenv("CI") == "true" }
