//! `driftless run`: the controller, until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

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
}

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let system = actix::System::new();
    system.block_on(async move {
        let client = client(args.kubeconfig.as_deref()).await?;
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
            },
        )
        .await?;
        wait_for_signal().await;
        tracing::info!("stopping");
        drop(controller);
        anyhow::Ok(())
    })
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
