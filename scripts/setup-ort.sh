#!/usr/bin/env bash
# Installs the ONNX Runtime shared library into .cache/onnxruntime/ (idempotent, cached)
# and makes sure the en_US.UTF-8 locale ONNX Runtime expects exists.
#
# The library comes from the npm package onnxruntime-node, fetched with `npm pack`
# (a plain `npm install` would run its postinstall, which downloads from the internet).
set -euo pipefail

ORT_VERSION="${ORT_VERSION:-1.24.1}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache"
DEST="$CACHE/onnxruntime"
STAMP="$DEST/.version"
PKGDIR="$CACHE/npm/onnxruntime-node@$ORT_VERSION"

log() { printf '[setup-ort] %s\n' "$*" >&2; }

ensure_locale() {
	if locale -a 2>/dev/null | grep -qi '^en_US\.utf-\?8$'; then
		return
	fi
	if [ "$(id -u)" != "0" ]; then
		log "warning: en_US.UTF-8 locale missing and not root; run as root to generate it"
		return
	fi
	log "generating en_US.UTF-8 locale"
	if [ ! -f /etc/locale.gen ] || ! command -v locale-gen >/dev/null 2>&1; then
		apt-get install -y -q locales >/dev/null
	fi
	sed -i 's/^# *en_US.UTF-8/en_US.UTF-8/' /etc/locale.gen
	grep -q '^en_US.UTF-8' /etc/locale.gen || echo 'en_US.UTF-8 UTF-8' >>/etc/locale.gen
	locale-gen >/dev/null
}

install_ort() {
	if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$ORT_VERSION" ] && [ -f "$DEST/libonnxruntime.so.1" ]; then
		log "onnxruntime $ORT_VERSION already installed in $DEST"
		return
	fi
	command -v npm >/dev/null || { log "npm is required"; exit 1; }
	if [ ! -f "$PKGDIR/package/package.json" ]; then
		log "fetching onnxruntime-node@$ORT_VERSION with npm pack"
		tmp="$(mktemp -d "$CACHE/.ort.XXXXXX")"
		trap 'rm -rf "$tmp"' EXIT
		(cd "$tmp" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null 2>&1)
		mkdir -p "$tmp/x"
		tar -xzf "$tmp"/onnxruntime-node-*.tgz -C "$tmp/x"
		rm -rf "$PKGDIR"
		mkdir -p "$(dirname "$PKGDIR")"
		mv "$tmp/x" "$PKGDIR"
	fi
	src="$PKGDIR/package/bin/napi-v6/linux/x64/libonnxruntime.so.1"
	[ -f "$src" ] || { log "missing $src in the npm package"; exit 1; }
	mkdir -p "$DEST"
	cp "$src" "$DEST/libonnxruntime.so.1.tmp"
	mv "$DEST/libonnxruntime.so.1.tmp" "$DEST/libonnxruntime.so.1"
	ln -sf libonnxruntime.so.1 "$DEST/libonnxruntime.so"
	echo "$ORT_VERSION" >"$STAMP"
	log "installed $DEST/libonnxruntime.so.1 ($ORT_VERSION)"
}

mkdir -p "$CACHE"
ensure_locale
install_ort
