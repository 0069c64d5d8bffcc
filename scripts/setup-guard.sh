#!/usr/bin/env bash
# Fetches the llm_guardrail npm package (ISC licence) into
# .cache/npm/llm_guardrail@<version>/package/ (idempotent, cached).
#
# The classifier's jailbreak scorer (services/classifier/jailbreak) reads the
# three TF-IDF + logistic-regression models of that package at run time:
#   package/model/{prompt_injection,jailbreak,malicious}_model.json
# and its JS parity test runs the package's own code under Node.
# The weights are third-party data files and are never committed.
#
# The tarball comes from `npm pack` (no install scripts run) and is checked
# against the pinned sha1 that the registry publishes for this version.
set -euo pipefail

GUARD_VERSION="${GUARD_VERSION:-2.1.2}"
GUARD_SHA1="${GUARD_SHA1:-e26347cb409e70d9fd48ded591310c5ea01f3274}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PKGDIR="$ROOT/.cache/npm/llm_guardrail@$GUARD_VERSION"
STAMP="$PKGDIR/.sha1"

log() { printf '[setup-guard] %s\n' "$*" >&2; }

complete() {
	[ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$GUARD_SHA1" ] || return 1
	for f in index.js model/tfidf.js model/logistic_regression.js \
		model/prompt_injection_model.json model/jailbreak_model.json model/malicious_model.json; do
		[ -s "$PKGDIR/package/$f" ] || return 1
	done
}

if complete; then
	log "llm_guardrail@$GUARD_VERSION already in $PKGDIR"
	exit 0
fi

command -v npm >/dev/null || { log "npm is required (make setup installs it)"; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
log "fetching llm_guardrail@$GUARD_VERSION with npm pack"
(cd "$tmp" && npm pack --silent "llm_guardrail@$GUARD_VERSION" >/dev/null)
tgz="$tmp/llm_guardrail-$GUARD_VERSION.tgz"
[ -f "$tgz" ] || { log "npm pack produced no $tgz"; exit 1; }
got="$(sha1sum "$tgz" | cut -d' ' -f1)"
if [ "$got" != "$GUARD_SHA1" ]; then
	log "checksum mismatch for llm_guardrail@$GUARD_VERSION: got sha1 $got, want $GUARD_SHA1"
	exit 1
fi
mkdir -p "$tmp/x"
tar -xzf "$tgz" -C "$tmp/x"
rm -rf "$PKGDIR"
mkdir -p "$(dirname "$PKGDIR")"
mv "$tmp/x" "$PKGDIR"
echo "$GUARD_SHA1" >"$STAMP"
log "installed llm_guardrail@$GUARD_VERSION in $PKGDIR"
