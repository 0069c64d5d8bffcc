#!/usr/bin/env bash
# `make run`: the router in one process (embedded NATS, all services) with the
# quickstart config, in front of a local development backend (devllm). Prints
# three example requests and their routing, then serves until Ctrl-C.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
config=${1:-$root/config/quickstart.yaml}
bin="$root/bin/semrouter"
data="$root/.cache/run"
api=http://127.0.0.1:8801
mkdir -p "$data"

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$bin" devllm --addr 127.0.0.1:8809 --models small-chat,code-expert,big-reasoner >"$data/devllm.log" 2>&1 &
pids+=($!)
"$bin" serve --config "$config" --data-dir "$data" 2>"$data/serve.log" &
pids+=($!)

echo "==> waiting for the router on $api (logs: $data/serve.log)"
for _ in $(seq 1 120); do
	if curl -fs "$api/v1/models" >/dev/null 2>&1; then break; fi
	sleep 1
done
curl -fs "$api/v1/models" >/dev/null || { echo "the router did not start; see $data/serve.log" >&2; exit 1; }

example() { # title, prompt
	local body="{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"$2\"}]}"
	printf '\n\033[1m# %s\033[0m\n' "$1"
	printf "curl -s -D - %s/v1/chat/completions -H 'content-type: application/json' \\\\\n  -d '%s'\n" "$api" "$body"
	curl -s -D - -o /tmp/semrouter-example.json "$api/v1/chat/completions" -H 'content-type: application/json' -d "$body" |
		grep -iE '^x-vsr-(selected-decision|selected-model|selected-reasoning|cache-hit|cache-similarity)' || true
	sed -e 's/^/  /' /tmp/semrouter-example.json | cut -c1-160
	echo
}
example "a coding question goes to the code model" "Please debug this function, it does not compile"
example "a proof goes to the big model with reasoning on" "Prove that the square root of 2 is irrational, step by step"
example "a paraphrase of the first question is answered from the semantic cache" "Please debug this function; it will not compile"

printf '\nThe router is serving on %s (management API http://127.0.0.1:8080, metrics http://127.0.0.1:9190/metrics). Ctrl-C stops it.\n' "$api"
wait "${pids[1]}"
