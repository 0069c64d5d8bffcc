#!/usr/bin/env bash
# Installs everything semrouter needs on a fresh Debian machine, idempotently.
# Everything built or downloaded lives under .cache/ (ignored by git).
# Steps are skipped when their outputs are already present.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache="$root/.cache"
mkdir -p "$cache/bin" "$cache/stamps"
export GOBIN="$cache/bin"
export PATH="$cache/bin:$PATH"

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# 1. Debian packages.
pkgs=(protobuf-compiler python3-onnx python3-numpy redis-server docker-compose locales nodejs npm ca-certificates)
missing=()
for p in "${pkgs[@]}"; do
	# node/npm may come from elsewhere on the image; only install when the command is absent.
	case "$p" in
	nodejs) command -v node >/dev/null && continue ;;
	npm) command -v npm >/dev/null && continue ;;
	esac
	have_pkg "$p" || missing+=("$p")
done
if ((${#missing[@]})); then
	step "installing Debian packages: ${missing[*]}"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. The en_US.UTF-8 locale (ONNX Runtime needs it).
if ! locale -a 2>/dev/null | grep -qi '^en_US\.utf-\?8$'; then
	step "generating the en_US.UTF-8 locale"
	sed -i 's/^# *\(en_US.UTF-8\)/\1/' /etc/locale.gen
	locale-gen >/dev/null
fi

# 3. Go code generators (pinned).
install_tool() { # name module@version
	local stamp="$cache/stamps/tool-$(echo "$2" | tr '/@' '__')"
	if [ ! -x "$cache/bin/$1" ] || [ ! -f "$stamp" ]; then
		step "installing $2"
		go install "$2"
		touch "$stamp"
	fi
}
install_tool protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
install_tool protoc-gen-connect-go connectrpc.com/connect/cmd/protoc-gen-connect-go@v1.21.1
install_tool buf github.com/bufbuild/buf/cmd/buf@v1.73.0 # a few minutes on a cold machine

# 4. Go modules of the workspace.
if [ ! -f "$cache/stamps/gomod" ] || [ -n "$(find "$root" -name go.sum -newer "$cache/stamps/gomod" -not -path '*/.cache/*' | head -1)" ]; then
	step "downloading Go modules"
	(cd "$root" && go mod download)
	touch "$cache/stamps/gomod"
fi

# 5. Per-area steps: ONNX Runtime, models, classifier assets.
for s in setup-ort.sh setup-models.sh setup-guard.sh setup-kube.sh setup-selection.sh; do
	if [ -x "$root/scripts/$s" ]; then
		"$root/scripts/$s"
	fi
done
step "setup complete"
