#!/usr/bin/env bash
# Measures the local control plane: warm start-up to ready (N runs), each component's
# resident memory at idle, and with --cold the build from empty Go caches (as on a fresh
# machine: modules downloaded, every package compiled).
#
#   bash benches/testenv.sh [--runs N] [--idle SECONDS] [--cold]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=5 idle=30 cold=false
while (($#)); do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --idle) idle=$2; shift 2 ;;
    --cold) cold=true; shift ;;
    *) echo "usage: $0 [--runs N] [--idle SECONDS] [--cold]" >&2; exit 2 ;;
  esac
done
# A debug build: the figures are the Go components'; driftless only supervises them.
cargo build --quiet --bin driftless
bin=$PWD/target/debug/driftless
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

if $cold; then
  echo "== cold build (empty GOCACHE, GOMODCACHE and driftless cache)"
  start=$(date +%s.%N)
  GOCACHE=$scratch/gocache GOMODCACHE=$scratch/gomod DRIFTLESS_CACHE_DIR=$scratch/cache \
    "$bin" testenv --write-kubeconfig "$scratch/cold.kubeconfig" >"$scratch/cold.log" 2>&1 &
  pid=$!
  until [[ -s $scratch/cold.kubeconfig ]]; do
    kill -0 "$pid" 2>/dev/null || { cat "$scratch/cold.log"; exit 1; }
    sleep 1
  done
  end=$(date +%s.%N)
  kill -TERM "$pid"; wait "$pid" || true
  grep -E '^testenv: (control plane|kwok) built|built in' "$scratch/cold.log"
  printf 'cold build + first start: %.0f s\n' "$(awk -v a="$start" -v b="$end" 'BEGIN{print b-a}')"
  chmod -R u+w "$scratch/gomod" 2>/dev/null || true
fi

echo "== warm start-up to ready, $runs runs (process start to kubeconfig written)"
"$bin" testenv --write-kubeconfig "$scratch/warmup.kubeconfig" >/dev/null 2>&1 &
pid=$!
until [[ -s $scratch/warmup.kubeconfig ]]; do sleep 0.2; done
kill -TERM "$pid"; wait "$pid" || true
for i in $(seq 1 "$runs"); do
  kubeconfig=$scratch/run$i.kubeconfig
  start=$(date +%s.%N)
  "$bin" testenv --write-kubeconfig "$kubeconfig" >"$scratch/run$i.log" 2>&1 &
  pid=$!
  until [[ -s $kubeconfig ]]; do sleep 0.05; done
  end=$(date +%s.%N)
  kill -TERM "$pid"; wait "$pid" || true
  printf 'run %d: %.2f s (%s)\n' "$i" "$(awk -v a="$start" -v b="$end" 'BEGIN{print b-a}')" \
    "$(grep -o 'ready in [0-9.]*s' "$scratch/run$i.log")"
done

echo "== resident memory after ${idle}s at idle (3 nodes, nothing deployed)"
"$bin" testenv --write-kubeconfig "$scratch/idle.kubeconfig" --idle-report "$idle" >"$scratch/idle.log" 2>&1 &
pid=$!
until grep -q 'resident memory at idle' "$scratch/idle.log" 2>/dev/null && \
      [[ $(grep -c 'pid' "$scratch/idle.log") -ge 5 ]]; do sleep 1; done
sleep 1
kill -TERM "$pid"; wait "$pid" || true
sed -n '/resident memory at idle/,/^stopping/p' "$scratch/idle.log" | grep -v '^stopping'
