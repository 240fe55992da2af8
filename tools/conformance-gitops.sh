#!/usr/bin/env bash
# gitops-repos case adapter: the root is the case directory (the one holding SOURCE);
# Flux's load restriction (anywhere inside the root).
set -euo pipefail
: "${DRIFTLESS_BIN:=$(cd "$(dirname "$0")/.." && pwd)/target/debug/driftless}"
dir="$1"; root="$dir"; while [[ ! -e "$root/SOURCE" && "$root" != / ]]; do root="$(dirname "$root")"; done
exec "$DRIFTLESS_BIN" build --root "$root" "$dir"
