#!/usr/bin/env bash
# flux-build case adapter: turns the case's options.yaml into `driftless build` flags.
set -euo pipefail
: "${DRIFTLESS_BIN:=$(cd "$(dirname "$0")/.." && pwd)/target/debug/driftless}"
ks="$1" src="$2" vars="$3" opts="$4"
flags=()
[[ -n "$vars" ]] && flags+=(--vars "$vars")
if [[ -n "$opts" ]]; then
  while read -r flag; do [[ -n "$flag" ]] && flags+=("$flag"); done < <(python3 - "$opts" "$src" <<'PY'
import os, sys, yaml
o = yaml.safe_load(open(sys.argv[1])) or {}
if o.get("ownerLabels") is False: print("--no-owner-labels")
if o.get("strictSubstitution"): print("--strict-substitute")
if o.get("forceSubstitution"): print("--force-substitution")
if o.get("substituteAlways"): print("--substitute-always")
if o.get("sourceIgnore"): print("--source-ignore")
for p in o.get("ignorePaths") or []: print("--ignore-paths=" + p)
if o.get("recursive"): print("--recursive")
for key, path in (o.get("localSources") or {}).items():
    print("--local-sources=%s=%s" % (key, os.path.join(sys.argv[2], path)))
PY
)
fi
exec "$DRIFTLESS_BIN" build --kustomization "$ks" "${flags[@]}" "$src"
