// Package manifests holds the tests of the Kubernetes manifests under
// deploy/k8s: every kustomization renders, the rendered objects meet the
// security and wiring rules, and a real API server accepts them (server-side
// dry-run). It also runs every binary that these manifests, docker compose
// (deploy/compose) and the operator's Deployments start with their arguments
// and -h, so that a flag a binary does not define fails here and not in a
// crash-looping pod.
package manifests
