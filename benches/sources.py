#!/usr/bin/env python3
"""Sources benchmark: driftless's Git fetch + artifact against `git clone --depth 1`, side by
side against the same local server, then 200 GitRepositories polling that server.

    python3 benches/sources.py [--runs 5] [--window 180] [--sources 200] [--kubeconfig PATH]
                               [--driftless target/release/driftless] [--bench-bin PATH]
                               [--clone-dir DIR] [--skip-fetch] [--skip-controller]

1. Builds a repository with git fast-import in a temporary directory: 5,000 small YAML files
   (20 teams x 25 apps x 10 files), 200 commits (each adds 25 files, all but the first edit 5
   earlier ones), repacked as a server's would be; serves it with `git daemon` on 127.0.0.1
   (git://) and with `git http-backend` behind a small HTTP server (smart HTTP, Nagle off as
   in production web servers); file:// reads the same bare repository.
2. For each transport, median of --runs: `git clone --depth 1` (which checks the files out)
   against the `sources` bench binary (`cargo bench --bench sources`): `git::fetch` into a
   fresh work directory, `Artifact::from_commit`, and the tarball written as the store
   writes it. Then incremental: one new commit pushed to the served repository, fetched into
   the same work directory, artifact built (and git's own `fetch --depth 1` of such a
   commit); and a poll with no new commit. --clone-dir puts git's clones and driftless's
   work directories elsewhere (/dev/shm takes a slow disk out of git's checkout).
3. Starts `driftless testenv` (unless --kubeconfig), applies the CRDs, creates --sources
   GitRepositories (interval 1m, git://, branch main) in a fresh namespace, starts
   `driftless run` on that namespace and waits until all are Ready; then samples the
   controller's CPU time (/proc/PID/stat) and memory (/proc/PID/status VmRSS, VmHWM) for
   --window seconds.
"""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TEAMS, APPS, FILES_PER_APP = 20, 25, 10
COMMITS = 200
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def log(message):
    print(message, flush=True)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def file_text(path, version):
    name = path.replace("/", "-").removesuffix(".yaml")
    return (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  labels:\n"
            f"    app.kubernetes.io/part-of: bench\ndata:\n  version: \"{version}\"\n"
            f"  setting: value-{zlib.crc32(name.encode()) % 1000}\n")


def all_paths():
    return [f"teams/team{t:02}/app{a:02}/config{f}.yaml"
            for t in range(TEAMS) for a in range(APPS) for f in range(FILES_PER_APP)]


def fast_import(repository, commits, parent, label="commit"):
    """Writes `commits` (lists of (path, text)) on top of `parent` (a ref or None) into the
    bare repository with `git fast-import`, the quickest way to make history of this size."""
    stream = []
    for index, changes in enumerate(commits):
        message = f"{label} {index}\n".encode()
        stream.append(b"commit refs/heads/main\n")
        stamp = 1_700_000_000 + index
        stream.append(f"committer Bench <bench@example.com> {stamp} +0000\n".encode())
        stream.append(b"data %d\n%s" % (len(message), message))
        if index == 0 and parent:
            stream.append(f"from {parent}^0\n".encode())
        for path, text in changes:
            data = text.encode()
            stream.append(f"M 100644 inline {path}\n".encode())
            stream.append(b"data %d\n%s\n" % (len(data), data))
        stream.append(b"\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repository, input=b"".join(stream),
                   check=True)


def build_repository(root):
    repository = os.path.join(root, "repo.git")
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", repository], check=True)
    paths = all_paths()
    batch = len(paths) // COMMITS
    commits = []
    for index in range(COMMITS):
        changes = [(path, file_text(path, index)) for path in paths[index * batch:(index + 1) * batch]]
        # Edits to earlier files give the history the churn a real repository has.
        for step in range(5 if index else 0):
            path = paths[(index * 37 + step * 101) % (index * batch)]
            changes.append((path, file_text(path, f"{index}.{step}")))
        commits.append(changes)
    fast_import(repository, commits, None)
    subprocess.run(["git", "repack", "-a", "-d", "-q"], cwd=repository, check=True)
    count = subprocess.run(["git", "rev-list", "--count", "main"], cwd=repository, check=True,
                           capture_output=True, text=True).stdout.strip()
    files = subprocess.run(["git", "ls-tree", "-r", "--name-only", "main"], cwd=repository, check=True,
                           capture_output=True, text=True).stdout.count("\n")
    log(f"repository: {files} files, {count} commits, {du(repository) / 1024:.0f} KiB packed")
    return repository


def push_commit(repository, counter):
    path = all_paths()[counter * 7 % (TEAMS * APPS * FILES_PER_APP)]
    fast_import(repository, [[(path, file_text(path, f"push-{counter}"))]], "refs/heads/main", f"push {counter}")


def du(path):
    total = 0
    for base, _, names in os.walk(path):
        for name in names:
            total += os.lstat(os.path.join(base, name)).st_size
    return total


def start_daemon(root):
    port = free_port()
    daemon = os.path.join(subprocess.run(["git", "--exec-path"], capture_output=True, text=True,
                                         check=True).stdout.strip(), "git-daemon")
    proc = subprocess.Popen([daemon, "--reuseaddr", "--export-all", f"--base-path={root}",
                             "--listen=127.0.0.1", f"--port={port}", root],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("git daemon did not start listening")


def start_http(root):
    """Serves `root` over smart HTTP with `git http-backend`, as a web server runs it (CGI),
    with Nagle off as production HTTP servers have it (nginx's tcp_nodelay)."""
    import http.server
    import threading

    backend = os.path.join(subprocess.run(["git", "--exec-path"], capture_output=True, text=True,
                                          check=True).stdout.strip(), "git-http-backend")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *_):
            pass

        def run_backend(self):
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            env = dict(os.environ, GIT_PROJECT_ROOT=root, GIT_HTTP_EXPORT_ALL="1", PATH_INFO=path,
                       QUERY_STRING=query, REQUEST_METHOD=self.command,
                       CONTENT_TYPE=self.headers.get("Content-Type", ""), CONTENT_LENGTH=str(len(body)))
            if self.headers.get("Git-Protocol"):
                env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
            output = subprocess.run([backend], input=body, env=env, capture_output=True).stdout
            head, _, payload = output.partition(b"\r\n\r\n")
            status = 200
            headers = []
            for line in head.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.strip().split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = run_backend
        do_POST = run_backend

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def bench_binary():
    out = subprocess.run(["cargo", "bench", "--bench", "sources", "--no-run", "--message-format=json"],
                         cwd=REPO, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        message = json.loads(line)
        if message.get("reason") == "compiler-artifact" and message["target"]["name"] == "sources" \
                and message.get("executable"):
            return message["executable"]
    raise RuntimeError("cargo did not report the sources bench executable")


def timed(cmd, **kwargs):
    start = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs).stdout
    return time.perf_counter() - start, out


def driftless_fetch(binary, url, work_dir):
    start = time.perf_counter()
    proc = subprocess.Popen([binary, "--url", url, "--work-dir", work_dir], stdout=subprocess.PIPE)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"{binary} failed with status {status}")
    result = json.loads(out)
    result["process_ms"] = elapsed * 1000
    # CPU beside wall time: on git:// most of a small fetch's wall time is waiting.
    result["cpu_ms"] = (usage.ru_utime + usage.ru_stime) * 1000
    result["total_ms"] = result["fetch_ms"] + result["artifact_ms"] + result["tarball_ms"]
    return result


def medians(results):
    return {key: statistics.median(r[key] for r in results)
            for key in ("fetch_ms", "artifact_ms", "tarball_ms", "total_ms", "process_ms", "cpu_ms")}


def show(label, m):
    log(f"  {label}: fetch {m['fetch_ms']:.1f} ms + artifact {m['artifact_ms']:.1f} ms + tarball "
        f"{m['tarball_ms']:.1f} ms = {m['total_ms']:.1f} ms (whole process {m['process_ms']:.1f} ms, "
        f"CPU {m['cpu_ms']:.1f} ms)")


def compare_fetches(binary, repository, urls, runs, scratch, clone_dir):
    pushes = 0
    clone_dir = tempfile.mkdtemp(prefix="driftless-sources-", dir=clone_dir)
    for transport, url in urls:
        log(f"== {transport}: {url}, median of {runs} runs, clones and work directories in {clone_dir}")
        clones = []
        for run in range(runs):
            target = os.path.join(clone_dir, f"clone-{transport}-{run}")
            elapsed, _ = timed(["git", "clone", "--quiet", "--depth", "1", url, target])
            clones.append(elapsed * 1000)
            subprocess.run(["rm", "-rf", target], check=True)
        git_ms = statistics.median(clones)
        log(f"  git clone --depth 1 + checkout: {git_ms:.1f} ms (runs: "
            + ", ".join(f"{c:.0f}" for c in clones) + ")")
        # Writing 5,000 files can dominate a clone on a slow disk; the transfer alone shows
        # how the two Git implementations compare.
        transfers = []
        for run in range(runs):
            target = os.path.join(clone_dir, f"bare-{transport}-{run}")
            elapsed, _ = timed(["git", "clone", "--quiet", "--no-checkout", "--depth", "1", url, target])
            transfers.append(elapsed * 1000)
            subprocess.run(["rm", "-rf", target], check=True)
        log(f"  git clone --depth 1 --no-checkout: {statistics.median(transfers):.1f} ms (runs: "
            + ", ".join(f"{c:.0f}" for c in transfers) + ")")

        cold = []
        for run in range(runs):
            work = os.path.join(clone_dir, f"work-{transport}-{run}")
            cold.append(driftless_fetch(binary, url, work))
            subprocess.run(["rm", "-rf", work], check=True)
        m = medians(cold)
        show("driftless cold", m)
        log(f"  driftless cold runs (total ms): " + ", ".join(f"{r['total_ms']:.0f}" for r in cold))
        log(f"  files in artifact: {cold[0]['files']}, tarball {cold[0]['size'] / 1024:.0f} KiB; "
            f"driftless / git: {m['total_ms'] / git_ms:.2f} (in-process), "
            f"{m['process_ms'] / git_ms:.2f} (whole process)")

        work = os.path.join(clone_dir, f"work-{transport}-incremental")
        driftless_fetch(binary, url, work)
        incremental, unchanged = [], []
        for _ in range(runs):
            pushes += 1
            push_commit(repository, pushes)
            result = driftless_fetch(binary, url, work)
            expected = subprocess.run(["git", "rev-parse", "main"], cwd=repository, check=True,
                                      capture_output=True, text=True).stdout.strip()
            if result["commit"] != expected:
                raise RuntimeError(f"fetched {result['commit']}, expected {expected}")
            incremental.append(result)
            unchanged.append(driftless_fetch(binary, url, work))
        show("driftless incremental, one new commit", medians(incremental))
        clone = os.path.join(clone_dir, f"clone-{transport}-incremental")
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", url, clone], check=True)
        fetches = []
        for _ in range(runs):
            pushes += 1
            push_commit(repository, pushes)
            elapsed, _ = timed(["git", "-C", clone, "fetch", "--quiet", "--depth", "1", "origin", "main"])
            fetches.append(elapsed * 1000)
        log(f"  git fetch --depth 1 of one new commit (no checkout): {statistics.median(fetches):.1f} ms")
        show("driftless poll, no new commit", medians(unchanged))
    subprocess.run(["rm", "-rf", clone_dir], check=True)


def kubectl(kubeconfig, *args, stdin=None):
    return subprocess.run(["kubectl", f"--kubeconfig={kubeconfig}", *args], input=stdin, check=True,
                          capture_output=True, text=True).stdout


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # Fields 14 and 15 of stat(5) (utime, stime) are at 11 and 12 once pid and comm are cut.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / CLOCK_TICKS


def memory_kib(pid):
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


def reconcile_count(metrics_port):
    try:
        with socket.create_connection(("127.0.0.1", metrics_port), timeout=5) as sock:
            sock.sendall(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    except OSError:
        return None
    total = 0
    for line in b"".join(chunks).decode(errors="replace").splitlines():
        if line.startswith("gotk_reconcile_duration_seconds_count"):
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def ready_count(kubeconfig, namespace):
    items = json.loads(kubectl(kubeconfig, "-n", namespace, "get", "gitrepositories", "-o", "json"))["items"]
    return sum(1 for item in items
               if any(c["type"] == "Ready" and c["status"] == "True"
                      for c in item.get("status", {}).get("conditions", [])))


def manifests(namespace, url, sources):
    objects = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}]
    for index in range(sources):
        objects.append({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": f"repo{index:03}", "namespace": namespace},
            "spec": {"interval": "1m", "timeout": "60s", "url": url, "ref": {"branch": "main"}},
        })
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})


def controller_scenario(args, url, daemon, scratch):
    testenv = None
    kubeconfig = args.kubeconfig
    if not kubeconfig:
        kubeconfig = os.path.join(scratch, "testenv.kubeconfig")
        testenv = subprocess.Popen([args.driftless, "testenv", "--write-kubeconfig", kubeconfig],
                                   stdout=open(os.path.join(scratch, "testenv.log"), "w"),
                                   stderr=subprocess.STDOUT)
        while not (os.path.exists(kubeconfig) and os.path.getsize(kubeconfig)):
            if testenv.poll() is not None:
                raise RuntimeError(f"driftless testenv exited; see {scratch}/testenv.log")
            time.sleep(0.2)
    controller, namespace = None, None
    try:
        crds = subprocess.run([args.driftless, "crds"], check=True, capture_output=True, text=True).stdout
        kubectl(kubeconfig, "apply", "--server-side", "-f", "-", stdin=crds)
        kubectl(kubeconfig, "wait", "--for=condition=established", "--timeout=60s",
                "crd/gitrepositories.source.toolkit.fluxcd.io")
        namespace = f"bench-sources-{os.getpid()}"
        kubectl(kubeconfig, "apply", "-f", "-", stdin=manifests(namespace, url, args.sources))
        metrics_port = free_port()
        storage = os.path.join(scratch, "storage")
        controller_log = os.path.join(scratch, "controller.log")
        started = time.monotonic()
        controller = subprocess.Popen(
            [args.driftless, "run", "--kubeconfig", kubeconfig, "--namespace", namespace,
             "--storage", storage, "--metrics-addr", f"127.0.0.1:{metrics_port}",
             "--concurrent-fetches", str(args.concurrent_fetches)],
            stdout=open(controller_log, "w"), stderr=subprocess.STDOUT)
        log(f"== {args.sources} GitRepositories on {url}, interval 1m, controller pid {controller.pid}")
        ready = 0
        while ready < args.sources:
            if controller.poll() is not None:
                raise RuntimeError(f"driftless run exited; see {controller_log}")
            if time.monotonic() - started > 600:
                raise RuntimeError(f"only {ready} of {args.sources} Ready after 600 s")
            time.sleep(1)
            ready = ready_count(kubeconfig, namespace)
        ready_after = time.monotonic() - started
        cpu_startup = cpu_seconds(controller.pid)
        log(f"  all {args.sources} Ready after {ready_after:.1f} s (controller CPU so far {cpu_startup:.1f} s, "
            f"RSS peak so far {memory_kib(controller.pid)[1] / 1024:.1f} MiB)")

        window_start = time.monotonic()
        cpu_start = cpu_seconds(controller.pid)
        daemon_start = children_cpu_seconds(daemon.pid) + cpu_seconds(daemon.pid)
        reconciles_start = reconcile_count(metrics_port)
        rss_samples = []
        while time.monotonic() - window_start < args.window:
            time.sleep(1)
            if controller.poll() is not None:
                raise RuntimeError(f"driftless run exited; see {controller_log}")
            rss_samples.append(memory_kib(controller.pid)[0])
        elapsed = time.monotonic() - window_start
        cpu = cpu_seconds(controller.pid) - cpu_start
        daemon_cpu = children_cpu_seconds(daemon.pid) + cpu_seconds(daemon.pid) - daemon_start
        reconciles_end = reconcile_count(metrics_port)
        rss, hwm = memory_kib(controller.pid)
        still_ready = ready_count(kubeconfig, namespace)
        reconciles = (reconciles_end - reconciles_start
                      if reconciles_start is not None and reconciles_end is not None else None)
        log(f"  steady state, {elapsed:.0f} s window: controller CPU {cpu:.1f} s = {100 * cpu / elapsed:.1f} % of "
            f"one core; RSS peak {max(rss_samples) / 1024:.1f} MiB, median {statistics.median(rss_samples) / 1024:.1f}"
            f" MiB, at end {rss / 1024:.1f} MiB; VmHWM (lifetime peak) {hwm / 1024:.1f} MiB")
        if reconciles is not None:
            log(f"  {reconciles} reconciles in the window ({1000 * cpu / max(reconciles, 1):.1f} ms of controller "
                f"CPU each); git daemon and its upload-packs {daemon_cpu:.1f} s CPU")
        log(f"  {still_ready} of {args.sources} Ready at the end; storage {du(storage) / 1024 / 1024:.1f} MiB")
    finally:
        if controller is not None:
            controller.send_signal(signal.SIGTERM)
            try:
                controller.wait(timeout=30)
            except subprocess.TimeoutExpired:
                controller.kill()
        # A cluster of the caller's keeps its namespaces; a testenv of ours goes entirely.
        if namespace is not None and testenv is None:
            kubectl(kubeconfig, "delete", "namespace", namespace, "--wait=false")
        if testenv is not None:
            testenv.send_signal(signal.SIGTERM)
            try:
                testenv.wait(timeout=60)
            except subprocess.TimeoutExpired:
                testenv.kill()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--driftless", default=os.path.join(REPO, "target/release/driftless"))
    parser.add_argument("--bench-bin", help="the built sources bench (default: cargo bench --no-run)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--window", type=float, default=180)
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--concurrent-fetches", type=int, default=4)
    parser.add_argument("--kubeconfig")
    parser.add_argument("--clone-dir", help="where git's clones and driftless's work directories go (default: the "
                                            "temporary directory), e.g. /dev/shm to take the disk out of git's checkout")
    parser.add_argument("--skip-fetch", action="store_true")
    parser.add_argument("--skip-controller", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="driftless-sources-") as scratch:
        served = os.path.join(scratch, "served")
        os.makedirs(served)
        repository = build_repository(served)
        daemon, port = start_daemon(served)
        web, web_port = start_http(served)
        try:
            git_url = f"git://127.0.0.1:{port}/repo.git"
            if not args.skip_fetch:
                binary = args.bench_bin or bench_binary()
                compare_fetches(binary, repository,
                                [("git", git_url), ("http", f"http://127.0.0.1:{web_port}/repo.git"),
                                 ("file", f"file://{repository}")], args.runs, scratch,
                                args.clone_dir or scratch)
            if not args.skip_controller:
                controller_scenario(args, git_url, daemon, scratch)
        finally:
            web.shutdown()
            daemon.kill()
            daemon.wait()


if __name__ == "__main__":
    sys.exit(main())
