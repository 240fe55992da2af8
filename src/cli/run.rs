//! `driftless run`: the controller, until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::json;

use crate::api::git_repository::v1::GitRepository;
use crate::controller::{Controller, ControllerOptions, FIELD_MANAGER};
use crate::testenv::{ControlPlane, ControlPlaneOptions, install_crds};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The cluster to reconcile; `KUBECONFIG`, `~/.kube/config` or the in-cluster
    /// service account when absent, as every Kubernetes tool.
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Watch only this namespace (all namespaces by default).
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Where artifacts and fetched Git objects are kept (in a cluster: an emptyDir).
    #[arg(long, value_name = "DIR", default_value = "./driftless-storage")]
    pub storage: PathBuf,
    /// How many Git fetches may run at once.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrent_fetches: usize,
    /// Where `/metrics`, `/healthz` and the artifact tarballs are served.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,
    /// The `host:port` other components reach the artifacts at, written into
    /// `status.artifact.url` (Flux's `--storage-adv-addr`); the bound address by default.
    #[arg(long, value_name = "HOST:PORT")]
    pub storage_adv_addr: Option<String>,
    /// Artifacts larger than this many bytes are refused (Ready=False, the last good one
    /// stays).
    #[arg(long, value_name = "BYTES", default_value_t = 50 * 1024 * 1024)]
    pub max_artifact_size: u64,
    /// The field manager for status (and applies); `--field-manager kustomize-controller`
    /// takes over a Flux installation's fields.
    #[arg(long, value_name = "NAME", default_value = FIELD_MANAGER)]
    pub field_manager: String,
    /// How many Kustomizations may render, apply and prune at once (Flux's `--concurrent`).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrent: usize,
    /// Refuse a Kustomization whose `sourceRef` names another namespace (Stalled,
    /// `AccessDenied`), as Flux's flag of the same name.
    #[arg(long)]
    pub no_cross_namespace_refs: bool,
    /// A field manager whose fields applies take over as they take over kubectl's (prefix
    /// match; repeatable), as Flux's flag of the same name.
    #[arg(long = "override-manager", value_name = "NAME")]
    pub override_managers: Vec<String>,
    /// Apply Flux's own `*.toolkit.fluxcd.io` CRDs found in a build (a Flux bootstrap's
    /// `gotk-components.yaml`); by default they are skipped with a Warning Event, as
    /// applying them would replace driftless's.
    #[arg(long)]
    pub allow_flux_crds: bool,
}

/// The example repository shipped in the project (`examples/repository/`), published to the
/// local control plane when `driftless run` finds no cluster.
const EXAMPLE_FILES: [(&str, &str); 3] = [
    (
        "apps/my-app/base/deployment.yaml",
        include_str!("../../examples/repository/apps/my-app/base/deployment.yaml"),
    ),
    (
        "apps/my-app/overlays/production/kustomization.yaml",
        include_str!(
            "../../examples/repository/apps/my-app/overlays/production/kustomization.yaml"
        ),
    ),
    (
        "apps/my-app/overlays/production/replicas.yaml",
        include_str!("../../examples/repository/apps/my-app/overlays/production/replicas.yaml"),
    ),
];
const EXAMPLE_KUSTOMIZATION: &str = include_str!("../../examples/seed-kustomization.yaml");
const DEMO_KUBECONFIG: &str = "driftless-testenv.kubeconfig";
const DEMO_FIELD_MANAGER: &str = "driftless-demo";

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    // No cluster at hand: a local control plane and the example repository, so that the
    // first `driftless run` on a fresh machine shows the whole loop.
    let mut demo = None;
    let mut args = args;
    if args.kubeconfig.is_none() && !cluster_configured() {
        let plane = start_demo_plane()?;
        args.kubeconfig = Some(PathBuf::from(DEMO_KUBECONFIG));
        demo = Some(plane);
    }
    let system = actix::System::new();
    let outcome = system.block_on(async move {
        let client = client(args.kubeconfig.as_deref()).await?;
        if demo.is_some() {
            publish_example(&client, &args.storage).await?;
        }
        let controller = Controller::start(
            client,
            ControllerOptions {
                namespace: args.namespace,
                storage: args.storage,
                concurrent_fetches: args.concurrent_fetches,
                http_addr: args.metrics_addr,
                advertised_addr: args.storage_adv_addr,
                max_artifact_size: args.max_artifact_size,
                field_manager: args.field_manager,
                concurrent: args.concurrent,
                no_cross_namespace_refs: args.no_cross_namespace_refs,
                override_managers: args.override_managers,
                allow_flux_crds: args.allow_flux_crds,
            },
        )
        .await?;
        wait_for_signal().await;
        tracing::info!("stopping");
        drop(controller);
        anyhow::Ok(demo)
    });
    if let Ok(Some(plane)) = outcome {
        println!("stopping the local control plane");
        plane.stop();
        return Ok(());
    }
    outcome.map(|_| ())
}

/// Whether `KUBECONFIG`, `~/.kube/config` or an in-cluster service account names a cluster.
fn cluster_configured() -> bool {
    let in_cluster = std::env::var_os("KUBERNETES_SERVICE_HOST").is_some();
    let kubeconfig = std::env::var_os("KUBECONFIG")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".kube/config")))
        .is_some_and(|path| path.is_file());
    in_cluster || kubeconfig
}

fn start_demo_plane() -> anyhow::Result<ControlPlane> {
    println!(
        "No cluster configured (no --kubeconfig, KUBECONFIG, ~/.kube/config or service account):"
    );
    println!("starting a local control plane (built once per machine; minutes the first time).");
    let plane = ControlPlane::start(ControlPlaneOptions {
        dir: None,
        nodes: 3,
        kubeconfig: Some(PathBuf::from(DEMO_KUBECONFIG)),
    })
    .context("failed to start the local control plane")?;
    println!("control plane ready: {}", plane.server_url());
    println!("kubeconfig: {DEMO_KUBECONFIG}");
    println!(
        "try:        KUBECONFIG={DEMO_KUBECONFIG} kubectl get gitrepositories,kustomizations -A"
    );
    Ok(plane)
}

/// Installs the CRDs, writes the example repository as a Git repository under the storage
/// directory, and creates the GitRepository and the seed's Kustomization that point at it.
async fn publish_example(client: &kube::Client, storage: &Path) -> anyhow::Result<()> {
    install_crds(client)
        .await
        .context("failed to install the CRDs")?;
    std::fs::create_dir_all(storage)
        .with_context(|| format!("failed to create {}", storage.display()))?;
    let repository = std::fs::canonicalize(storage)?.join("example-repository");
    if !repository.join(".git").exists() {
        for (path, text) in EXAMPLE_FILES {
            let file = repository.join(path);
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&file, text)?;
        }
        for git_args in [
            &["init", "-q", "-b", "main"][..],
            &["add", "-A"],
            &[
                "-c",
                "user.name=driftless",
                "-c",
                "user.email=driftless@localhost",
                "commit",
                "-q",
                "-m",
                "The example repository shipped with driftless",
            ],
        ] {
            let status = std::process::Command::new("git")
                .args(git_args)
                .current_dir(&repository)
                .status()
                .context("failed to run git (needed for the example repository)")?;
            anyhow::ensure!(
                status.success(),
                "git {git_args:?} failed in {}",
                repository.display()
            );
        }
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    // The demo writes these objects as a user would, under its own manager: were it the
    // controller's, the controller's own applies (the finalizer) would drop the spec.
    let params = PatchParams::apply(DEMO_FIELD_MANAGER).force();
    namespaces
        .patch(
            "flux-system",
            &params,
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux-system"}})),
        )
        .await
        .context("failed to create namespace flux-system")?;
    let sources: Api<GitRepository> = Api::namespaced(client.clone(), "flux-system");
    let source = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "flux-system", "namespace": "flux-system"},
        "spec": {
            "url": format!("file://{}", repository.display()),
            "interval": "1m",
            "ref": {"branch": "main"},
        },
    });
    sources
        .patch("flux-system", &params, &Patch::Apply(source))
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
    let kustomizations: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "flux-system", &resource);
    kustomizations
        .patch("my-app-deployment", &params, &Patch::Apply(kustomization))
        .await
        .context("failed to create the example Kustomization")?;
    println!(
        "example: GitRepository flux-system/flux-system -> {}",
        repository.display()
    );
    println!(
        "         Kustomization flux-system/my-app-deployment (examples/seed-kustomization.yaml)"
    );
    Ok(())
}

async fn client(kubeconfig: Option<&std::path::Path>) -> anyhow::Result<kube::Client> {
    let config = match kubeconfig {
        Some(path) => {
            let file = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("failed to read kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
                .await
                .with_context(|| format!("kubeconfig {}", path.display()))?
        }
        None => kube::Config::infer().await.context(
            "no cluster configured: pass --kubeconfig, set KUBECONFIG, or run in a cluster",
        )?,
    };
    kube::Client::try_from(config).context("failed to create the Kubernetes client")
}

async fn wait_for_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
