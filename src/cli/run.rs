//! `driftless run`: the controller, until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::controller::{Controller, ControllerOptions, FIELD_MANAGER};

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
    /// The ServiceAccount (in each Kustomization's namespace) that Kustomizations without
    /// `spec.serviceAccountName` apply as, as Flux's flag of the same name: tenants get
    /// only what RBAC grants that account.
    #[arg(long, value_name = "NAME")]
    pub default_service_account: Option<String>,
    /// Apply Flux's own `*.toolkit.fluxcd.io` CRDs found in a build (a Flux bootstrap's
    /// `gotk-components.yaml`); by default they are skipped with a Warning Event, as
    /// applying them would replace driftless's.
    #[arg(long)]
    pub allow_flux_crds: bool,
    /// How many threads (actix Arbiters, each with its own API connections) carry the
    /// Kustomization actors; one per core by default.
    #[arg(long, value_name = "N")]
    pub arbiters: Option<usize>,
}

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    if args.kubeconfig.is_none() && !cluster_configured() {
        anyhow::bail!(
            "no cluster configured: no --kubeconfig, KUBECONFIG, ~/.kube/config or in-cluster service account. \
             Name a cluster, or run `driftless demo` to try driftless on a local control plane"
        );
    }
    let system = actix::System::new();
    system.block_on(async move {
        let config = config(args.kubeconfig.as_deref()).await?;
        let client = kube::Client::try_from(config.clone())
            .context("failed to create the Kubernetes client")?;
        let defaults = ControllerOptions::default();
        let controller = Controller::start(
            client,
            ControllerOptions {
                arbiters: args.arbiters.unwrap_or(defaults.arbiters),
                client_config: Some(config),
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
                default_service_account: args.default_service_account,
                allow_flux_crds: args.allow_flux_crds,
            },
        )
        .await?;
        wait_for_signal().await;
        tracing::info!("stopping");
        drop(controller);
        anyhow::Ok(())
    })
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

/// The configuration of `kubeconfig`, or of the cluster the environment names.
pub(super) async fn config(kubeconfig: Option<&Path>) -> anyhow::Result<kube::Config> {
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
    Ok(config)
}

/// Returns on SIGINT (Ctrl-C) or SIGTERM.
pub(super) async fn wait_for_signal() {
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
