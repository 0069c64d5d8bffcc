#!/usr/bin/env bash
# Builds the knn model-selection data the classifier embeds for use-lite:
# services/classifier/engine/selection/pretrained/data/use-lite.knn, with
# `semrouter train selection` from the MMLU-Pro train split (dev sets the
# default quality gap). The file is derived from the datasets, so it is built
# here rather than committed (idempotent: a stamp of the inputs' hashes).
#
# Without the datasets ($SEMROUTER_DATASETS or ../shared/datasets) the step
# is skipped and knn decisions use their first modelRef; with CI set it fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${SEMROUTER_DATASETS:-$ROOT/../shared/datasets}"
MODEL=use-lite
OUT="$ROOT/services/classifier/engine/selection/pretrained/data/$MODEL.knn"
STAMP="$ROOT/.cache/stamps/selection-$MODEL"
MODELS="${SEMROUTER_MODELS_DIR:-$ROOT/.cache/models}"

log() { printf '[setup-selection] %s\n' "$*" >&2; }

mmlu="$DATA/mmlu_pro"
inputs=("$mmlu/questions.jsonl" "$mmlu/split.json" "$mmlu/correct_llama-3.1-8b-instruct.jsonl"
	"$mmlu/correct_gpt-4o-2024-05-13.jsonl" "$MODELS/$MODEL/model.onnx")
for f in "${inputs[@]}"; do
	if [ ! -f "$f" ]; then
		if [ -n "${CI:-}" ]; then
			log "CI is set but $f is missing"
			exit 1
		fi
		log "skipped: $f is missing (set SEMROUTER_DATASETS); knn decisions will use their first modelRef"
		exit 0
	fi
done

# The stamp covers the inputs and the code that writes the file.
sum="$( (sha256sum "${inputs[@]}" | cut -d' ' -f1
	cat "$ROOT/cmd/semrouter/internal/cli/train_selection.go" "$ROOT/services/classifier/engine/selection/knn_bank.go" | sha256sum | cut -d' ' -f1
) | sha256sum | cut -d' ' -f1)"
if [ -s "$OUT" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$sum" ]; then
	log "$MODEL knn data up to date"
	exit 0
fi

log "building $MODEL knn data from MMLU-Pro train (embeds about 9,600 questions once; cached under .cache/eval)"
mkdir -p "$(dirname "$STAMP")"
tmp="$OUT.tmp"
(cd "$ROOT" && SEMROUTER_DATASETS="$DATA" go run ./cmd/semrouter train selection --model "$MODEL" \
	--weak llama-3.1-8b-instruct=small-chat --strong gpt-4o-2024-05-13=big-reasoner --out "$tmp" >/dev/null)
mv "$tmp" "$OUT"
echo "$sum" > "$STAMP"
log "wrote $OUT"
