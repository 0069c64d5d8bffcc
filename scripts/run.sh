#!/usr/bin/env bash
# `make run`: start the router with its default configuration.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
config=${1:-$root/config/quickstart.yaml}
bin="$root/bin/semrouter"
if "$bin" help 2>/dev/null | grep -q '^  serve'; then
	exec "$bin" serve --config "$config" --data-dir "$root/.cache/run"
fi
# Until the all-in-one server lands, show what the router would load.
echo "==> validating $config"
"$bin" validate "$config"
echo "==> canonical form"
"$bin" config migrate --config "$config"
