#!/usr/bin/env bash
# Runs the shared conformance corpora (../shared/conformance) against `driftless build` and
# prints each corpus's closing figure. Not part of `cargo test`: the corpora are data that
# nobody here wrote, run by their own check.sh.
#
#   bash tools/conformance.sh [krusty|gitops|flux ...]   (default: all three)
#   DRIFTLESS=path/to/driftless to test another binary (default: target/debug/driftless)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
shared="${SHARED:-$here/../shared}/conformance"
bin="${DRIFTLESS:-$here/target/debug/driftless}"
[[ -x "$bin" ]] || (cd "$here" && cargo build --quiet --bin driftless)
export DRIFTLESS_BIN="$bin"
corpora=("$@")
((${#corpora[@]})) || corpora=(krusty gitops flux)

for corpus in "${corpora[@]}"; do
  case "$corpus" in
    krusty)
      # Each case directory stands for kustomize's in-memory root; kustomize's default
      # restrictor (root-only) unless the case's ARGS say otherwise.
      bash "$shared/kustomize-krusty/check.sh" \
        "bash $here/tools/conformance-krusty.sh {ARGS} {}" | tail -1 ;;
    gitops)
      bash "$shared/gitops-repos/check.sh" --raw-plain-dirs \
        "bash $here/tools/conformance-gitops.sh {}" | tail -1 ;;
    flux)
      bash "$shared/flux-build/check.sh" \
        "bash $here/tools/conformance-flux.sh {ks} {src} '{vars}' '{opts}'" | tail -1 ;;
    *) echo "unknown corpus $corpus" >&2; exit 2 ;;
  esac
done
