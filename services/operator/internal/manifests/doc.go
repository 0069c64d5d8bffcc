// Package manifests holds the tests of the Kubernetes manifests under
// deploy/k8s: every kustomization renders, the rendered objects meet the
// security and wiring rules, and a real API server accepts them (server-side
// dry-run).
package manifests
