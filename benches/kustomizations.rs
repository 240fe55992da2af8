//! Many Kustomizations against the local control plane, measured from outside the
//! controller: `driftless run` (the release binary) as its own process, the API and a Git
//! server as every user has them.
//!
//! 1. Cold start: N Kustomizations (each its own copy of the same app, told apart by
//!    `postBuild.substitute`) already exist when the controller starts; time until all
//!    are Ready at the commit, the controller's peak memory (VmHWM) and CPU.
//! 2. Drift: with all N running, `--drift-samples` Deployments are scaled through the
//!    scale subresource (what `kubectl scale` does), one at a time; time from the scale
//!    returning to the watch seeing Git's replica count again.
//! 3. One push changing every Kustomization's objects: time from the GitRepository being
//!    asked to reconcile to each Kustomization reporting the new revision applied.
//!
//! ```text
//! cargo bench --bench kustomizations -- [--kustomizations 1000] [--objects 10|4]
//!     [--drift-samples 100] [--concurrent 4] [--driftless target/release/driftless]
//!     [--state-dir /dev/shm/...] [--kubeconfig PATH]
//! ```
//!
//! `--objects 10`: 4 ConfigMaps, 2 Secrets, 2 Services, 1 ServiceAccount and 1 Deployment
//! with 1 replica; `--objects 4`: the shape of Flux's published benchmark
//! (fluxcd/flux-benchmark): a Deployment scaled to 0, a ServiceAccount, a Service and an
//! Ingress, with `wait: true`, `timeout: 1m`, `retryInterval: 2m`, `serviceAccountName`
//! (impersonation) and three substitution variables. Without `--kubeconfig` a control
//! plane is started (its state in `--state-dir`, e.g. on tmpfs).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use driftless::api::kustomization::v1::Kustomization;
use driftless::testenv::{ControlPlane, ControlPlaneOptions, config_from_kubeconfig, free_port};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;

struct Args {
    kustomizations: usize,
    objects: usize,
    drift_samples: usize,
    concurrent: usize,
    driftless: PathBuf,
    state_dir: Option<PathBuf>,
    kubeconfig: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        kustomizations: 1000,
        objects: 10,
        drift_samples: 100,
        concurrent: 4,
        driftless: Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/driftless"),
        state_dir: None,
        kubeconfig: None,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        // `cargo bench` appends `--bench` to every bench binary's arguments.
        if flag == "--bench" {
            continue;
        }
        let value = given
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<usize>()
                .map_err(|error| format!("{flag}: {error}"))
        };
        match flag.as_str() {
            "--kustomizations" => args.kustomizations = number()?,
            "--objects" => args.objects = number()?,
            "--drift-samples" => args.drift_samples = number()?,
            "--concurrent" => args.concurrent = number()?,
            "--driftless" => args.driftless = PathBuf::from(&value),
            "--state-dir" => args.state_dir = Some(PathBuf::from(&value)),
            "--kubeconfig" => args.kubeconfig = Some(PathBuf::from(&value)),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.objects != 10 && args.objects != 4 {
        return Err("--objects must be 10 or 4".into());
    }
    Ok(args)
}

fn config_map(suffix: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${{APP}}-{suffix}\ndata:\n  revision: \"1\"\n  app: ${{APP}}\n"
    )
}

fn secret(suffix: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${{APP}}-{suffix}\nstringData:\n  token: ${{APP}}-{suffix}\n"
    )
}

fn service(suffix: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: ${{APP}}-{suffix}\nspec:\n  selector:\n    app: ${{APP}}\n  ports:\n  - port: 80\n    targetPort: 8080\n"
    )
}

const INGRESS: &str = "apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${APP}
  labels:
    team: ${TEAM}
    tier: ${TIER}
spec:
  rules:
  - host: ${APP}.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: ${APP}-svc-0
            port:
              number: 80
";

const SERVICE_ACCOUNT: &str = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ${APP}\n";

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${APP}
spec:
  replicas: ${REPLICAS:=1}
  selector:
    matchLabels:
      app: ${APP}
  template:
    metadata:
      labels:
        app: ${APP}
    spec:
      serviceAccountName: ${APP}
      containers:
      - name: app
        image: nginx:1.27
        ports:
        - containerPort: 8080
";

/// The app's files for the shape asked for, as (path, content).
fn app_files(objects: usize) -> Vec<(String, String)> {
    let mut files = vec![
        (
            "app/serviceaccount.yaml".to_string(),
            SERVICE_ACCOUNT.to_string(),
        ),
        ("app/deployment.yaml".to_string(), DEPLOYMENT.to_string()),
    ];
    let (config_maps, secrets, services) = if objects == 10 { (4, 2, 2) } else { (0, 0, 1) };
    if objects == 4 {
        files.push(("app/ingress.yaml".to_string(), INGRESS.to_string()));
    }
    for index in 0..config_maps {
        files.push((
            format!("app/config-{index}.yaml"),
            config_map(&format!("config-{index}")),
        ));
    }
    for index in 0..secrets {
        files.push((
            format!("app/secret-{index}.yaml"),
            secret(&format!("secret-{index}")),
        ));
    }
    for index in 0..services {
        files.push((
            format!("app/service-{index}.yaml"),
            service(&format!("svc-{index}")),
        ));
    }
    files
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .output()
        .map_err(|error| format!("git {args:?}: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn write_files(root: &Path, files: &[(String, String)]) -> Result<(), String> {
    for (path, content) in files {
        let path = root.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|error| error.to_string())?;
        }
        std::fs::write(&path, content).map_err(|error| format!("{}: {error}", path.display()))?;
    }
    Ok(())
}

/// Commits the work tree; returns Flux's revision string.
fn commit(work: &Path, message: &str) -> Result<String, String> {
    git(work, &["add", "-A"])?;
    git(work, &["commit", "-q", "-m", message])?;
    Ok(format!("main@sha1:{}", git(work, &["rev-parse", "HEAD"])?))
}

/// A child process killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        // SIGTERM first, so the controller and git daemon stop as in production.
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        for _ in 0..50 {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(command: &mut Command, log: &Path) -> Result<Process, String> {
    let file = std::fs::File::create(log).map_err(|error| error.to_string())?;
    let stderr = file.try_clone().map_err(|error| error.to_string())?;
    command
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(stderr))
        .spawn()
        .map(Process)
        .map_err(|error| format!("{command:?}: {error}"))
}

/// (VmRSS, VmHWM) of `pid` in MiB.
fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// User + system CPU seconds of `pid`.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|value| value.parse::<f64>().ok())
    };
    // utime and stime are fields 14 and 15 of /proc/PID/stat; here 11 and 12 after ')'.
    let clock = 100.0;
    (ticks(11).unwrap_or(0.0) + ticks(12).unwrap_or(0.0)) / clock
}

/// CPU seconds of each process whose command line names `dir` (the control plane's
/// components all read their certificates or data from its directory), by program name.
fn control_plane_cpu(dir: &Path) -> Vec<(String, f64)> {
    let needle = dir.to_string_lossy().into_owned();
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if !cmdline.contains(&needle) {
            continue;
        }
        let program = cmdline
            .split_whitespace()
            .next()
            .and_then(|path| path.rsplit('/').next())
            .unwrap_or_default()
            .to_string();
        found.push((program, cpu_seconds(pid)));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (fraction * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn describe(name: &str, mut samples: Vec<f64>) -> String {
    samples.sort_by(f64::total_cmp);
    format!(
        "{name}: n={} p50={:.3}s p90={:.3}s p99={:.3}s max={:.3}s",
        samples.len(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.9),
        percentile(&samples, 0.99),
        samples.last().copied().unwrap_or(f64::NAN)
    )
}

fn ready_at(object: &Kustomization, revision: &str) -> bool {
    object.status.as_ref().is_some_and(|status| {
        status.last_applied_revision.as_deref() == Some(revision)
            && status
                .conditions
                .iter()
                .any(|condition| condition.type_ == "Ready" && condition.status == "True")
    })
}

/// Watches the Kustomizations until every one is Ready at `revision` or `limit` passes;
/// returns when each got there, measured from `since`.
async fn until_all_ready(
    api: &Api<Kustomization>,
    count: usize,
    revision: &str,
    since: Instant,
    limit: Duration,
) -> Result<HashMap<String, f64>, String> {
    let mut done = HashMap::new();
    let stream = watcher(api.clone(), watcher::Config::default()).applied_objects();
    let mut stream = std::pin::pin!(stream);
    let deadline = tokio::time::Instant::now() + limit;
    while done.len() < count {
        let next = tokio::time::timeout_at(deadline, stream.try_next()).await;
        match next {
            Err(_) => {
                return Err(format!(
                    "only {} of {count} Ready at {revision} after {limit:?}",
                    done.len()
                ));
            }
            Ok(Err(error)) => return Err(format!("watch failed: {error}")),
            Ok(Ok(None)) => return Err("the watch ended".into()),
            Ok(Ok(Some(object))) => {
                if ready_at(&object, revision) {
                    let name = object.metadata.name.clone().unwrap_or_default();
                    done.entry(name)
                        .or_insert_with(|| since.elapsed().as_secs_f64());
                }
            }
        }
    }
    Ok(done)
}

/// Server-side applies a GitRepository or a Kustomization in `namespace`.
async fn server_apply(
    client: &kube::Client,
    namespace: &str,
    object: serde_json::Value,
) -> Result<(), String> {
    let kind = object["kind"].as_str().unwrap_or_default().to_string();
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let params = PatchParams::apply("bench").force();
    let result = if kind == "GitRepository" {
        let api: Api<driftless::api::git_repository::v1::GitRepository> =
            Api::namespaced(client.clone(), namespace);
        api.patch(&name, &params, &Patch::Apply(&object))
            .await
            .map(|_| ())
    } else {
        let api: Api<Kustomization> = Api::namespaced(client.clone(), namespace);
        api.patch(&name, &params, &Patch::Apply(&object))
            .await
            .map(|_| ())
    };
    result.map_err(|error| format!("{kind}/{name}: {error}"))
}

async fn scenario(args: &Args, kubeconfig: &Path, scratch: &Path) -> Result<(), String> {
    let config = config_from_kubeconfig(kubeconfig)
        .await
        .map_err(|error| error.to_string())?;
    let client = kube::Client::try_from(config).map_err(|error| error.to_string())?;
    driftless::testenv::install_crds(&client)
        .await
        .map_err(|error| error.to_string())?;

    // The repository, served by git daemon.
    let served = scratch.join("served");
    let work = served.join("app.git");
    std::fs::create_dir_all(&work).map_err(|error| error.to_string())?;
    git(&work, &["init", "-q", "-b", "main"])?;
    write_files(&work, &app_files(args.objects))?;
    let first = commit(&work, "the app")?;
    let port = free_port().map_err(|error| error.to_string())?;
    let _daemon = spawn(
        Command::new("git")
            .args([
                "daemon",
                "--reuseaddr",
                "--export-all",
                "--listen=127.0.0.1",
            ])
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", served.display()))
            .arg(&served),
        &scratch.join("git-daemon.log"),
    )?;

    let namespace = format!("bench-ks-{}", std::process::id());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": namespace}}))
                .map_err(|error| error.to_string())?,
        )
        .await
        .map_err(|error| error.to_string())?;
    let dynamic = |object| server_apply(&client, &namespace, object);
    dynamic(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "app", "namespace": namespace},
        "spec": {"url": format!("git://127.0.0.1:{port}/app.git"), "interval": "1h",
                 "ref": {"branch": "main"}},
    }))
    .await?;
    let created = Instant::now();
    let flux_shape = args.objects == 4;
    if flux_shape {
        // The tenant account Flux's benchmark applies as.
        for object in [
            json!({"apiVersion": "v1", "kind": "ServiceAccount",
                   "metadata": {"name": "tenant", "namespace": namespace}}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                   "metadata": {"name": "tenant-admin", "namespace": namespace},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                               "name": "admin"},
                   "subjects": [{"kind": "ServiceAccount", "name": "tenant",
                                 "namespace": namespace}]}),
        ] {
            let resource = if object["kind"] == "ServiceAccount" {
                kube::api::ApiResource::erase::<k8s_openapi::api::core::v1::ServiceAccount>(&())
            } else {
                kube::api::ApiResource::erase::<k8s_openapi::api::rbac::v1::RoleBinding>(&())
            };
            let api: Api<kube::api::DynamicObject> =
                Api::namespaced_with(client.clone(), &namespace, &resource);
            let name = object["metadata"]["name"].as_str().unwrap_or_default();
            api.patch(
                name,
                &PatchParams::apply("bench").force(),
                &Patch::Apply(&object),
            )
            .await
            .map_err(|error| format!("{name}: {error}"))?;
        }
    }
    futures::stream::iter(0..args.kustomizations)
        .map(|index| {
            let app = format!("app-{index:04}");
            let mut spec = json!({"interval": "1h", "prune": true, "path": "./app",
                     "targetNamespace": namespace,
                     "sourceRef": {"kind": "GitRepository", "name": "app"},
                     "postBuild": {"substitute": {"APP": app, "TEAM": "bench", "TIER": "web"}}});
            if flux_shape {
                spec["wait"] = json!(true);
                spec["timeout"] = json!("1m");
                spec["retryInterval"] = json!("2m");
                spec["serviceAccountName"] = json!("tenant");
                spec["postBuild"]["substitute"]["REPLICAS"] = json!("0");
            }
            dynamic(json!({
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                "metadata": {"name": app, "namespace": namespace},
                "spec": spec,
            }))
        })
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await?;
    println!(
        "created {} Kustomizations ({} objects each) in {:.1}s",
        args.kustomizations,
        args.objects,
        created.elapsed().as_secs_f64()
    );

    // 1. Cold start.
    let metrics_port = free_port().map_err(|error| error.to_string())?;
    let started = Instant::now();
    let controller = spawn(
        Command::new(&args.driftless)
            .arg("run")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["--namespace", &namespace])
            .arg("--storage")
            .arg(scratch.join("storage"))
            .arg("--metrics-addr")
            .arg(format!("127.0.0.1:{metrics_port}"))
            .args(["--concurrent", &args.concurrent.to_string()])
            .env("RUST_LOG", "warn"),
        &scratch.join("controller.log"),
    )?;
    let pid = controller.0.id();
    let kustomizations: Api<Kustomization> = Api::namespaced(client.clone(), &namespace);
    let limit = Duration::from_secs(1200);
    let ready =
        until_all_ready(&kustomizations, args.kustomizations, &first, started, limit).await?;
    let all_ready = ready.values().copied().fold(0.0, f64::max);
    let (rss, hwm) = memory_mib(pid);
    println!(
        "cold start: all {} Ready after {all_ready:.1}s; controller RSS now {rss:.1} MiB, peak (VmHWM) {hwm:.1} MiB, CPU {:.1}s",
        args.kustomizations,
        cpu_seconds(pid)
    );
    println!(
        "{}",
        describe("  Ready after start", ready.into_values().collect())
    );
    if let Some(dir) = kubeconfig.parent() {
        let components = control_plane_cpu(dir);
        if !components.is_empty() {
            let listed: Vec<String> = components
                .iter()
                .map(|(program, seconds)| format!("{program} {seconds:.1}s"))
                .collect();
            println!(
                "  control plane CPU since it started (when this bench started it): {}",
                listed.join(", ")
            );
        }
    }

    // 2. Drift, one Deployment at a time, with everything running.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    let step = (args.kustomizations / args.drift_samples.max(1)).max(1);
    let mut reverts = Vec::new();
    let git_replicas = if flux_shape { 0 } else { 1 };
    for index in (0..args.kustomizations)
        .step_by(step)
        .take(args.drift_samples)
    {
        let name = format!("app-{index:04}");
        let watch = watcher(
            deployments.clone(),
            watcher::Config::default().fields(&format!("metadata.name={name}")),
        )
        .applied_objects();
        let mut watch = std::pin::pin!(watch);
        // The first event is the current object: the watch is live before the scale.
        let _ = watch.try_next().await;
        let scaled = deployments
            .patch_scale(
                &name,
                &PatchParams::default(),
                &Patch::Merge(&json!({"spec": {"replicas": 3}})),
            )
            .await
            .map_err(|error| format!("scale {name}: {error}"))?;
        let at = Instant::now();
        let scaled_version = scaled.metadata.resource_version.unwrap_or_default();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let next = tokio::time::timeout_at(deadline, watch.try_next())
                .await
                .map_err(|_| format!("{name} not reverted within 60 s"))?
                .map_err(|error| error.to_string())?;
            let Some(deployment) = next else {
                return Err("the watch ended".into());
            };
            let replicas = deployment.spec.as_ref().and_then(|spec| spec.replicas);
            let version = deployment.metadata.resource_version.unwrap_or_default();
            if replicas == Some(git_replicas) && version != scaled_version {
                reverts.push(at.elapsed().as_secs_f64());
                break;
            }
        }
    }
    println!(
        "{}",
        describe(
            &format!(
                "drift revert (kubectl scale → Git's replicas, {} running)",
                args.kustomizations
            ),
            reverts
        )
    );

    // 3. One push that changes every Kustomization's objects.
    let mut files = app_files(args.objects);
    for (path, content) in &mut files {
        if path.starts_with("app/config-0") {
            *content = content.replace("revision: \"1\"", "revision: \"2\"");
        }
        if path.starts_with("app/service-0") {
            *content = content.replace("targetPort: 8080", "targetPort: 8081");
        }
    }
    write_files(&work, &files)?;
    let second = commit(&work, "a change for every app")?;
    let pushed = Instant::now();
    dynamic(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "app", "namespace": namespace,
                     "annotations": {"reconcile.fluxcd.io/requestedAt": second.clone()}},
        "spec": {"url": format!("git://127.0.0.1:{port}/app.git"), "interval": "1h",
                 "ref": {"branch": "main"}},
    }))
    .await?;
    let applied =
        until_all_ready(&kustomizations, args.kustomizations, &second, pushed, limit).await?;
    let (rss, hwm) = memory_mib(pid);
    println!(
        "{}",
        describe(
            "one push, every Kustomization applied",
            applied.into_values().collect()
        )
    );
    println!(
        "controller at the end: RSS {rss:.1} MiB, peak (VmHWM) {hwm:.1} MiB, CPU {:.1}s",
        cpu_seconds(pid)
    );
    drop(controller);
    let _ = namespaces.delete(&namespace, &Default::default()).await;
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("kustomizations bench: {error}");
            return ExitCode::from(2);
        }
    };
    if !args.driftless.is_file() {
        eprintln!(
            "kustomizations bench: {} is missing; run `cargo build --release` first",
            args.driftless.display()
        );
        return ExitCode::from(2);
    }
    let scratch = match tempfile::Builder::new()
        .prefix("driftless-bench-ks-")
        .tempdir()
    {
        Ok(scratch) => scratch,
        Err(error) => {
            eprintln!("kustomizations bench: {error}");
            return ExitCode::FAILURE;
        }
    };
    let (plane, kubeconfig) = match &args.kubeconfig {
        Some(path) => (None, path.clone()),
        None => {
            let options = ControlPlaneOptions {
                dir: args.state_dir.clone(),
                nodes: 3,
                kubeconfig: None,
            };
            match ControlPlane::start(options) {
                Ok(plane) => {
                    let path = plane.kubeconfig_path().to_path_buf();
                    (Some(plane), path)
                }
                Err(error) => {
                    eprintln!("kustomizations bench: the control plane did not start: {error}");
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("kustomizations bench: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(scenario(&args, &kubeconfig, scratch.path()));
    drop(runtime);
    if let Some(plane) = plane {
        plane.stop();
    }
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!(
                "kustomizations bench: {error} (logs in {})",
                scratch.keep().display()
            );
            ExitCode::FAILURE
        }
    }
}
