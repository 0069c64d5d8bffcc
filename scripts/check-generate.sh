#!/usr/bin/env bash
# Fails (exit 1, printing the diff) when the committed gen/ is not what
# scripts/generate.sh produces from proto/.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$root/scripts/generate.sh" "$tmp" >/dev/null
if ! diff -ruN "$root/gen/semrouter" "$tmp/semrouter"; then
	echo >&2
	echo "gen/ is stale: run scripts/generate.sh (make generate) and commit the result" >&2
	exit 1
fi
echo "gen/ is up to date"
