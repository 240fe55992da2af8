#!/usr/bin/env bash
# krusty case adapter: the root is the case directory (the one holding SOURCE).
set -euo pipefail
: "${DRIFTLESS_BIN:=$(cd "$(dirname "$0")/.." && pwd)/target/debug/driftless}"
args=("$@"); dir="${args[-1]}"; unset 'args[-1]'
root="$dir"; while [[ ! -e "$root/SOURCE" && "$root" != / ]]; do root="$(dirname "$root")"; done
exec "$DRIFTLESS_BIN" build --root "$root" --load-restrictor root-only "${args[@]}" "$dir"
