#!/usr/bin/env python3
"""Side-by-side render benchmark: `driftless build` against `kubectl kustomize` (kustomize
v5.5.0 inside kubectl 1.32), whole processes, one after the other on the same input.

    python3 benches/render.py [--driftless target/release/driftless] [--runs 5] [--installed]

Measures, per input, the median wall time over --runs and the peak resident memory of each
process (from wait4), on:
  1. the seed's overlay (tests/fixtures/kustomize/seed-overlay-production),
  2. a generated large overlay: 3 levels of overlays, >= 300 resources, >= 50 patches,
     >= 10 generators (written to a temporary directory),
  3. every root of ../shared/conformance/gitops-repos (when present).
Outputs must be identical for the figures to count; a difference is printed.

--installed runs a copy of the binary written as `cp` or a package manager writes it. The
file the linker leaves behind is written through a memory map, so the page cache holds it in
4 KiB pages, and each process then starts ≈ 0.13 ms slower than from a copy (BENCHMARKS.md);
kubectl is always an installed file.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
KUBECTL = os.environ.get("DRIFTLESS_KUSTOMIZE_REFERENCE", "/usr/lib/google-cloud-sdk/bin/kubectl.1.32")


def run(cmd):
    """Runs cmd, returning (seconds, peak RSS in KiB, stdout)."""
    start = time.perf_counter()
    # close_fds=False lets Python use posix_spawn, keeping its own overhead out of the figures.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=False,
                            env=dict(os.environ, KUBECONFIG="/dev/null"))
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"{cmd} failed with status {status}")
    return elapsed, usage.ru_maxrss, out


def measure(cmd, runs):
    times, peak, out = [], 0, b""
    for _ in range(runs):
        elapsed, rss, out = run(cmd)
        times.append(elapsed)
        peak = max(peak, rss)
    return statistics.median(times), peak, out


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def large_overlay(root):
    """Three levels (base, team overlay, production overlay), 320 resources, 60 patches,
    12 generators."""
    base = os.path.join(root, "base")
    resources = []
    for i in range(80):
        write(os.path.join(base, f"app{i}.yaml"), f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: app{i}
  labels: {{app: app{i}}}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: app{i}}}
  template:
    metadata:
      labels: {{app: app{i}}}
    spec:
      containers:
      - name: main
        image: registry.example.com/team/app{i}:1.0.{i}
        ports:
        - containerPort: 8080
        envFrom:
        - configMapRef: {{name: settings{i % 6}}}
---
apiVersion: v1
kind: Service
metadata:
  name: app{i}
spec:
  selector: {{app: app{i}}}
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: app{i}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: app{i}
spec:
  minAvailable: 1
  selector:
    matchLabels: {{app: app{i}}}
""")
        resources.append(f"app{i}.yaml")
    generators = "\n".join(f"- name: settings{g}\n  literals:\n  - LEVEL=base\n  - INDEX={g}" for g in range(6))
    write(os.path.join(base, "kustomization.yaml"),
          "resources:\n" + "".join(f"- {r}\n" for r in resources)
          + "commonLabels:\n  tier: backend\nconfigMapGenerator:\n" + generators + "\n")
    team = os.path.join(root, "team")
    patches = "".join(
        f"- target:\n    kind: Deployment\n    name: app{i}\n  patch: |-\n"
        f"    - op: replace\n      path: /spec/replicas\n      value: {i % 5 + 2}\n"
        for i in range(30))
    generators = "\n".join(f"- name: team{g}\n  literals:\n  - TEAM=payments\n  - G={g}" for g in range(3))
    write(os.path.join(team, "kustomization.yaml"),
          "resources:\n- ../base\nnamePrefix: payments-\nnamespace: payments\npatches:\n" + patches
          + "configMapGenerator:\n" + generators + "\n")
    prod = os.path.join(root, "production")
    patches = "".join(
        f"- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: app{i}\n"
        f"    spec:\n      template:\n        spec:\n          containers:\n          - name: main\n"
        f"            resources:\n              limits: {{memory: 256Mi}}\n"
        for i in range(30, 60))
    generators = "\n".join(f"- name: prod{g}\n  literals:\n  - ENV=production\n  - G={g}" for g in range(3))
    write(os.path.join(prod, "kustomization.yaml"),
          "resources:\n- ../team\nimages:\n- name: registry.example.com/team/app1\n  newTag: 2.0.0\n"
          "commonAnnotations:\n  owner: payments\npatches:\n" + patches
          + "configMapGenerator:\n" + generators + "\n")
    return prod


def compare(label, driftless_cmd, kubectl_cmd, runs):
    d_time, d_rss, d_out = measure(driftless_cmd, runs)
    k_time, k_rss, k_out = measure(kubectl_cmd, runs)
    same = "same output" if d_out == k_out else "OUTPUT DIFFERS"
    print(f"{label}: driftless {d_time * 1000:.1f} ms / {d_rss / 1024:.1f} MiB, "
          f"kubectl {k_time * 1000:.1f} ms / {k_rss / 1024:.1f} MiB, "
          f"{k_time / d_time:.1f}x faster, {d_rss / k_rss:.2f} of kubectl's memory, {same}")
    return d_time, k_time, d_rss, k_rss, d_out == k_out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--driftless", default=os.path.join(REPO, "target/release/driftless"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--installed", action="store_true",
                        help="measure a copy of --driftless, as an installation writes it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as bin_dir:
        dl = args.driftless
        if args.installed:
            dl = os.path.join(bin_dir, "driftless")
            shutil.copy2(args.driftless, dl)
        benchmark(dl, args.runs)


def benchmark(dl, runs):
    """The three comparisons, driftless being the binary at `dl`."""
    seed = os.path.join(REPO, "tests/fixtures/kustomize/seed-overlay-production/input")
    seed_dir = os.path.join(seed, "apps/my-app/overlays/production")
    compare("seed overlay", [dl, "build", "--root", seed, seed_dir],
            [KUBECTL, "kustomize", "--load-restrictor", "LoadRestrictionsNone", seed_dir], runs)

    with tempfile.TemporaryDirectory() as tmp:
        prod = large_overlay(tmp)
        _, _, _, _, _ = compare("large overlay (320 resources, 60 patches, 12 generators, 3 levels)",
                                [dl, "build", "--root", tmp, prod],
                                [KUBECTL, "kustomize", "--load-restrictor", "LoadRestrictionsNone", prod], runs)

    corpus = os.path.join(REPO, "..", "shared", "conformance", "gitops-repos", "cases")
    if not os.path.isdir(corpus):
        print("gitops-repos corpus not found; skipped")
        return
    ratios, d_total, k_total, d_peak, k_peak, roots, differing = [], 0.0, 0.0, 0, 0, 0, 0
    for case in sorted(os.listdir(corpus)):
        case_dir = os.path.join(corpus, case)
        if os.path.exists(os.path.join(case_dir, "FLUX_PLAIN_DIR")):
            continue  # kubectl needs the generated kustomization written first
        with open(os.path.join(case_dir, "RUN_DIR")) as f:
            run_dir = os.path.normpath(os.path.join(case_dir, f.read().strip()))
        d_time, d_rss, d_out = measure([dl, "build", "--root", case_dir, run_dir], runs)
        k_time, k_rss, k_out = measure([KUBECTL, "kustomize", "--load-restrictor", "LoadRestrictionsNone", run_dir],
                                       runs)
        roots += 1
        differing += d_out != k_out
        ratios.append(k_time / d_time)
        d_total += d_time
        k_total += k_time
        d_peak, k_peak = max(d_peak, d_rss), max(k_peak, k_rss)
    print(f"gitops-repos, {roots} kustomization roots, one process each (median of {runs} runs per root): driftless {d_total:.2f} s, "
          f"kubectl {k_total:.2f} s ({k_total / d_total:.1f}x overall); per-root speed-up median "
          f"{statistics.median(ratios):.1f}x (min {min(ratios):.1f}x); peak memory driftless "
          f"{d_peak / 1024:.1f} MiB vs kubectl {k_peak / 1024:.1f} MiB ({d_peak / k_peak:.2f}); "
          f"{differing} roots with different output")


if __name__ == "__main__":
    sys.exit(main())
