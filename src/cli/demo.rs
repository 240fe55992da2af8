//! `driftless demo`: the whole GitOps loop on one machine, until SIGINT or SIGTERM.
//!
//! A local control plane (unless `--kubeconfig` names a cluster), the example repository
//! of `examples/` served over `git://` by a `git daemon` on 127.0.0.1, the CRDs, a
//! GitRepository and the seed's Kustomization, and the controller. The seed's example 1 is
//! the first commit; once it is applied, example 2's overlay is committed on top, so the
//! user watches a commit roll out (3 replicas, then 5).

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::json;

use super::run::{config, wait_for_signal};
use crate::api::git_repository::v1::GitRepository;
use crate::api::kustomization::v1::Kustomization;
use crate::controller::source_actor::REQUESTED_AT;
use crate::controller::{Controller, ControllerError, ControllerOptions};
use crate::testenv::process::ManagedProcess;
use crate::testenv::{ControlPlane, ControlPlaneOptions, free_port, install_crds};

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Run the demo in this cluster instead of a local control plane. Only this flag names
    /// one: `KUBECONFIG` and `~/.kube/config` are ignored, so the demo never lands in a
    /// cluster by accident.
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Where `/metrics` and `/healthz` are served; a free port when this one is taken.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub metrics_addr: SocketAddr,
    /// Where the example repository, artifacts and fetched Git objects are kept.
    #[arg(long, value_name = "DIR", default_value = "./driftless-demo")]
    pub storage: PathBuf,
}

/// One commit of the example repository: the whole tree, as `examples/<step>/` holds it.
struct Step {
    message: &'static str,
    files: &'static [(&'static str, &'static str)],
}

const STEP_1: Step = Step {
    message: "my-app: the seed's example 1, a plain directory with 3 replicas",
    files: &[(
        "apps/my-app/overlays/production/deployment.yaml",
        include_str!(
            "../../examples/step-1-plain-directory/apps/my-app/overlays/production/deployment.yaml"
        ),
    )],
};

const STEP_2: Step = Step {
    message: "my-app: the seed's example 2, a base and a production overlay with 5 replicas",
    files: &[
        (
            "apps/my-app/base/deployment.yaml",
            include_str!("../../examples/step-2-overlay/apps/my-app/base/deployment.yaml"),
        ),
        (
            "apps/my-app/overlays/production/kustomization.yaml",
            include_str!(
                "../../examples/step-2-overlay/apps/my-app/overlays/production/kustomization.yaml"
            ),
        ),
        (
            "apps/my-app/overlays/production/replicas.yaml",
            include_str!(
                "../../examples/step-2-overlay/apps/my-app/overlays/production/replicas.yaml"
            ),
        ),
    ],
};

const EXAMPLE_KUSTOMIZATION: &str = include_str!("../../examples/seed-kustomization.yaml");
const DEMO_KUBECONFIG: &str = "driftless-testenv.kubeconfig";
const DEMO_FIELD_MANAGER: &str = "driftless-demo";
/// The repository's name under the daemon's base path, and so in the `git://` URL.
const REPOSITORY: &str = "example";
const NAMESPACE: &str = "flux-system";
const SOURCE: &str = "flux-system";
const KUSTOMIZATION: &str = "my-app-deployment";
const PAUSE_BEFORE_SECOND_COMMIT: Duration = Duration::from_secs(10);

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let (plane, kubeconfig) = match args.kubeconfig.clone() {
        Some(path) => (None, path),
        None => {
            let plane = start_plane()?;
            (Some(plane), PathBuf::from(DEMO_KUBECONFIG))
        }
    };
    let kubeconfig = std::fs::canonicalize(&kubeconfig)
        .with_context(|| format!("kubeconfig {}", kubeconfig.display()))?;
    std::fs::create_dir_all(&args.storage)
        .with_context(|| format!("failed to create {}", args.storage.display()))?;
    let storage = std::fs::canonicalize(&args.storage)?;
    let repositories = storage.join("demo-git");
    let repository = repositories.join(REPOSITORY);
    // Each demo tells the story from its first commit.
    if repository.exists() {
        std::fs::remove_dir_all(&repository)
            .with_context(|| format!("failed to remove {}", repository.display()))?;
    }
    std::fs::create_dir_all(&repository)?;
    git(&repository, &["init", "-q", "-b", "main"])?;
    let first = commit(&repository, &STEP_1)?;
    println!("commit 1 ({}): {}", short(&first), STEP_1.message);
    let (daemon, url) = match GitDaemon::start(&repositories) {
        Ok(daemon) => {
            let url = format!("git://127.0.0.1:{}/{REPOSITORY}", daemon.port);
            println!("git daemon: serving {} at {url}", repository.display());
            (Some(daemon), url)
        }
        Err(error) => {
            let url = format!("file://{}", repository.display());
            println!("git daemon could not start ({error:#}); the GitRepository reads {url}");
            (None, url)
        }
    };

    let system = actix::System::new();
    let outcome = system.block_on(async move {
        let config = config(Some(&kubeconfig)).await?;
        let client = kube::Client::try_from(config.clone())
            .context("failed to create the Kubernetes client")?;
        publish(&client, &url).await?;
        let controller = start_controller(client.clone(), config, &args, &storage).await?;
        print_guide(&kubeconfig, controller.http_addr);
        let story = actix::spawn(roll_out_second_commit(client, repository, first));
        wait_for_signal().await;
        tracing::info!("stopping");
        story.abort();
        drop(controller);
        anyhow::Ok(())
    });
    drop(daemon);
    if let Some(plane) = plane {
        println!("stopping the local control plane");
        plane.stop();
    }
    outcome
}

fn start_plane() -> anyhow::Result<ControlPlane> {
    println!("starting a local control plane (built once per machine; minutes the first time)");
    let plane = ControlPlane::start(ControlPlaneOptions {
        dir: None,
        nodes: 3,
        kubeconfig: Some(PathBuf::from(DEMO_KUBECONFIG)),
    })
    .context("failed to start the local control plane")?;
    println!("control plane ready: {}", plane.server_url());
    Ok(plane)
}

/// `git daemon` serving every repository under a directory, dying with driftless.
struct GitDaemon {
    port: u16,
    _process: ManagedProcess,
}

impl GitDaemon {
    fn start(base: &Path) -> anyhow::Result<Self> {
        let exec_path = git(base, &["--exec-path"])?;
        // The daemon itself, not the `git` wrapper: the wrapper forks it, and the tie to
        // driftless (and a stop signal) would reach the wrapper alone.
        let program = Path::new(exec_path.trim()).join("git-daemon");
        let port = free_port()?;
        let args = [
            "--reuseaddr".to_string(),
            "--export-all".to_string(),
            "--listen=127.0.0.1".to_string(),
            format!("--port={port}"),
            format!("--base-path={}", base.display()),
            base.display().to_string(),
        ];
        let mut process =
            ManagedProcess::start("git-daemon", &program, &args, &base.join("git-daemon.log"))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            process.check_running()?;
            anyhow::ensure!(
                Instant::now() < deadline,
                "git daemon is not listening on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Self {
            port,
            _process: process,
        })
    }
}

/// Runs git in `dir`; returns its standard output.
fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=driftless demo",
            "-c",
            "user.email=demo@driftless.invalid",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .context("failed to run git (the demo serves its repository with it)")?;
    anyhow::ensure!(
        output.status.success(),
        "git {args:?} failed in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Replaces the work tree with `step`'s files and commits it; returns the commit's hash.
fn commit(repository: &Path, step: &Step) -> anyhow::Result<String> {
    let apps = repository.join("apps");
    if apps.exists() {
        std::fs::remove_dir_all(&apps)?;
    }
    for (path, text) in step.files {
        let file = repository.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&file, text)?;
    }
    git(repository, &["add", "-A"])?;
    git(repository, &["commit", "-q", "-m", step.message])?;
    Ok(git(repository, &["rev-parse", "HEAD"])?.trim().to_string())
}

fn short(commit: &str) -> &str {
    commit.get(..7).unwrap_or(commit)
}

/// Installs the CRDs and creates the GitRepository and the seed's Kustomization.
async fn publish(client: &kube::Client, url: &str) -> anyhow::Result<()> {
    install_crds(client)
        .await
        .context("failed to install the CRDs")?;
    // The demo writes these objects as a user would, under its own manager: were it the
    // controller's, the controller's own applies (the finalizer) would drop the spec.
    let params = PatchParams::apply(DEMO_FIELD_MANAGER).force();
    Api::<Namespace>::all(client.clone())
        .patch(
            NAMESPACE,
            &params,
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}),
            ),
        )
        .await
        .with_context(|| format!("failed to create namespace {NAMESPACE}"))?;
    let source = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": SOURCE, "namespace": NAMESPACE},
        "spec": {"url": url, "interval": "1m", "ref": {"branch": "main"}},
    });
    Api::<GitRepository>::namespaced(client.clone(), NAMESPACE)
        .patch(SOURCE, &params, &Patch::Apply(source))
        .await
        .context("failed to create the example GitRepository")?;
    let mut kustomization: serde_json::Value = serde_saphyr::from_str(EXAMPLE_KUSTOMIZATION)
        .context("examples/seed-kustomization.yaml")?;
    // The seed's Deployment names no namespace and its Kustomization no targetNamespace;
    // like Flux, driftless refuses to guess, so the demo says where it goes.
    kustomization["spec"]["targetNamespace"] = json!("default");
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "kustomize.toolkit.fluxcd.io",
        "v1beta2",
        "Kustomization",
    ));
    Api::<DynamicObject>::namespaced_with(client.clone(), NAMESPACE, &resource)
        .patch(KUSTOMIZATION, &params, &Patch::Apply(kustomization))
        .await
        .context("failed to create the example Kustomization")?;
    println!("GitRepository {NAMESPACE}/{SOURCE}: {url}");
    println!(
        "Kustomization {NAMESPACE}/{KUSTOMIZATION}: examples/seed-kustomization.yaml, targetNamespace default"
    );
    Ok(())
}

/// The controller, on `--metrics-addr` or, when that port is taken, on a free one.
async fn start_controller(
    client: kube::Client,
    config: kube::Config,
    args: &DemoArgs,
    storage: &Path,
) -> anyhow::Result<Controller> {
    let options = |http_addr| ControllerOptions {
        namespace: None,
        storage: storage.to_path_buf(),
        http_addr,
        client_config: Some(config.clone()),
        ..ControllerOptions::default()
    };
    match Controller::start(client.clone(), options(args.metrics_addr)).await {
        Ok(controller) => Ok(controller),
        Err(error @ ControllerError::Listen { .. }) => {
            let fallback = SocketAddr::new(args.metrics_addr.ip(), 0);
            println!("{error}; serving metrics on a free port instead");
            Ok(Controller::start(client, options(fallback)).await?)
        }
        Err(error) => Err(error.into()),
    }
}

fn print_guide(kubeconfig: &Path, metrics: SocketAddr) {
    let kubeconfig = kubeconfig.display();
    println!(
        "
driftless is running. In another terminal:

  export KUBECONFIG={kubeconfig}
  kubectl get gitrepositories,kustomizations -A
  kubectl -n default get deployment my-app          # 3 replicas, then 5 after commit 2
  kubectl -n default scale deployment my-app --replicas=10
  kubectl -n default get deployment my-app -w       # and watch it revert to Git's value

kubeconfig: {kubeconfig}
metrics:    http://{metrics}/metrics

Ctrl-C stops everything.
"
    );
}

/// Waits for the first commit to roll out, commits the overlay on top and asks for a fetch
/// at once, then reports the second commit rolled out.
async fn roll_out_second_commit(client: kube::Client, repository: PathBuf, first: String) {
    let kustomizations: Api<Kustomization> = Api::namespaced(client.clone(), NAMESPACE);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    applied(&kustomizations, &first).await;
    println!("commit 1 applied: Deployment default/my-app, 3 replicas");
    ready_replicas(&deployments, 3).await;
    println!(
        "commit 1 rolled out: 3/3 ready; committing example 2 in {} s",
        PAUSE_BEFORE_SECOND_COMMIT.as_secs()
    );
    // Long enough to look at the first state with kubectl before it changes.
    tokio::time::sleep(PAUSE_BEFORE_SECOND_COMMIT).await;
    let second = match commit(&repository, &STEP_2) {
        Ok(second) => second,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "failed to commit example 2");
            return;
        }
    };
    let sources: Api<GitRepository> = Api::namespaced(client, NAMESPACE);
    let request = json!({"metadata": {"annotations": {REQUESTED_AT: second.clone()}}});
    if let Err(error) = sources
        .patch(SOURCE, &PatchParams::default(), &Patch::Merge(&request))
        .await
    {
        // The GitRepository's interval fetches it anyway, a minute later at most.
        tracing::warn!(%error, "failed to ask for a fetch now");
    }
    println!(
        "commit 2 pushed ({}): replicas 3 → 5 ({})",
        short(&second),
        STEP_2.message
    );
    applied(&kustomizations, &second).await;
    println!("commit 2 applied: Deployment default/my-app, 5 replicas");
    ready_replicas(&deployments, 5).await;
    println!("commit 2 rolled out: 5/5 ready");
}

/// Returns once Deployment `my-app` has `count` ready replicas, or after a minute without
/// them (the demo goes on; the cluster may simply be slow).
async fn ready_replicas(deployments: &Api<Deployment>, count: i32) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::time::Instant::now() < deadline {
        if let Ok(deployment) = deployments.get("my-app").await
            && deployment.status.and_then(|status| status.ready_replicas) == Some(count)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tracing::warn!(
        count,
        "Deployment default/my-app is not ready yet; going on"
    );
}

/// Returns once the seed's Kustomization is Ready at `commit`.
async fn applied(kustomizations: &Api<Kustomization>, commit: &str) {
    let revision = format!("main@sha1:{commit}");
    loop {
        if let Ok(object) = kustomizations.get(KUSTOMIZATION).await
            && let Some(status) = object.status
            && status.last_applied_revision.as_deref() == Some(revision.as_str())
            && status
                .conditions
                .iter()
                .any(|condition| condition.type_ == "Ready" && condition.status == "True")
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
