#!/usr/bin/env bash
# Lints proto/ with buf (STANDARD rules, buf.yaml) when .cache/bin/buf or a buf
# on PATH exists; otherwise checks that every file compiles with protoc and
# says that the lint rules were not run (SEMROUTER_REQUIRE_BUF=1 makes a
# missing buf an error; install it with
# GOBIN=.cache/bin go install github.com/bufbuild/buf/cmd/buf@v1.73.0).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
buf=""
if [ -x "$root/.cache/bin/buf" ]; then
	buf="$root/.cache/bin/buf"
elif command -v buf >/dev/null; then
	buf=$(command -v buf)
fi
if [ -n "$buf" ]; then
	"$buf" lint
	"$buf" format --diff --exit-code
	echo "buf lint: ok"
	exit 0
fi
if [ -n "${SEMROUTER_REQUIRE_BUF:-}" ]; then
	echo "buf not installed (go install github.com/bufbuild/buf/cmd/buf@v1.73.0 with GOBIN=.cache/bin)" >&2
	exit 1
fi
echo "buf not installed: compiling with protoc only (lint rules not checked)" >&2
includes=(-I proto)
[ -f /usr/include/google/protobuf/descriptor.proto ] && includes+=(-I /usr/include)
mapfile -t files < <(cd proto && find semrouter -name '*.proto' | LC_ALL=C sort)
protoc "${includes[@]}" -o /dev/null "${files[@]}"
echo "protoc: ok"
