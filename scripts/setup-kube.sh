#!/usr/bin/env bash
# Builds the Kubernetes test binaries that the operator's envtest suite runs against:
#   .cache/kube/bin/kube-apiserver  (k8s.io/kubernetes v1.36.3)
#   .cache/kube/bin/etcd            (go.etcd.io/etcd/server/v3 v3.6.8)
# and the manifest tools:
#   .cache/bin/controller-gen       (sigs.k8s.io/controller-tools v0.22.0, k8s v0.36 line)
#   .cache/bin/kustomize            (sigs.k8s.io/kustomize/kustomize/v5 v5.8.2)
# Everything is built from source through the Go module proxy in scratch modules under
# .cache/kube/src/ (GOWORK=off, so the repository's go.work is not involved).
# Idempotent: a stamp per binary records the version it was built from.
# Use: KUBEBUILDER_ASSETS=$PWD/.cache/kube/bin go test ./services/operator/...
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache="$root/.cache"
kube="$cache/kube"
bin="$kube/bin"
src="$kube/src"
mkdir -p "$bin" "$src" "$cache/bin" "$cache/stamps"

K8S_VERSION=v1.36.3
K8S_STAGING_VERSION=v0.36.3
ETCD_VERSION=v3.6.8
CONTROLLER_TOOLS_VERSION=v0.22.0
KUSTOMIZE_VERSION=v5.8.2 # v5.8.3 needs go 1.27; the workspace is on go 1.26

export GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0
step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
fresh() { # binary stamp-content: true when the binary exists and was built from this version
	[ -x "$1" ] && [ -f "$1.version" ] && [ "$(cat "$1.version")" = "$2" ]
}

# kube-apiserver: a scratch module that requires k8s.io/kubernetes and points every staging
# module (which kubernetes' own go.mod replaces with ./staging/src/...) at its published tag.
if ! fresh "$bin/kube-apiserver" "$K8S_VERSION"; then
	step "building kube-apiserver $K8S_VERSION (several minutes on a cold cache)"
	d="$src/kube-apiserver"
	rm -rf "$d" && mkdir -p "$d"
	kmod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
	[ -f "$kmod" ] || { echo "setup-kube: cannot find go.mod of k8s.io/kubernetes@$K8S_VERSION" >&2; exit 1; }
	{
		echo "module semrouter.local/kube-apiserver"
		echo
		echo "go 1.26"
		echo
		echo "require k8s.io/kubernetes $K8S_VERSION"
		echo
		echo "replace ("
		sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/src/.*#\t\1 => \1 '"$K8S_STAGING_VERSION"'#p' "$kmod"
		echo ")"
	} >"$d/go.mod"
	cat >"$d/tools.go" <<'EOF'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
EOF
	(cd "$d" && go mod tidy >/dev/null &&
		go build -trimpath -ldflags "-s -w \
			-X k8s.io/component-base/version.gitVersion=$K8S_VERSION \
			-X k8s.io/component-base/version.gitMajor=1 \
			-X k8s.io/component-base/version.gitMinor=36 \
			-X k8s.io/component-base/version.gitTreeState=clean" \
			-o "$bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver)
	echo "$K8S_VERSION" >"$bin/kube-apiserver.version"
fi

# etcd: the binary's main package is the root of module go.etcd.io/etcd/server/v3 (main.go
# wraps the etcdmain library).
if ! fresh "$bin/etcd" "$ETCD_VERSION"; then
	step "building etcd $ETCD_VERSION"
	d="$src/etcd"
	rm -rf "$d" && mkdir -p "$d"
	cat >"$d/go.mod" <<EOF
module semrouter.local/etcd

go 1.26

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
EOF
	cat >"$d/tools.go" <<'EOF'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
EOF
	(cd "$d" && go mod tidy >/dev/null &&
		go build -trimpath -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3)
	echo "$ETCD_VERSION" >"$bin/etcd.version"
fi

# Generators and renderers (go install honours their own go.mod).
if ! fresh "$cache/bin/controller-gen" "$CONTROLLER_TOOLS_VERSION"; then
	step "installing controller-gen $CONTROLLER_TOOLS_VERSION"
	GOBIN="$cache/bin" go install "sigs.k8s.io/controller-tools/cmd/controller-gen@$CONTROLLER_TOOLS_VERSION"
	echo "$CONTROLLER_TOOLS_VERSION" >"$cache/bin/controller-gen.version"
fi
if ! fresh "$cache/bin/kustomize" "$KUSTOMIZE_VERSION"; then
	step "installing kustomize $KUSTOMIZE_VERSION"
	GOBIN="$cache/bin" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
	echo "$KUSTOMIZE_VERSION" >"$cache/bin/kustomize.version"
fi

"$bin/kube-apiserver" --version
"$bin/etcd" --version | head -1
