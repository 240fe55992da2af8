//! The controller `driftless run` starts: an actix system in which a [`Supervisor`] keeps
//! one actor per GitRepository and one per Kustomization, an artifact store, the
//! subscription table through which sources reach their consumers, and an HTTP port for
//! artifacts and metrics.
//!
//! Shape: the supervisor watches the API and starts, updates and stops [`SourceActor`]s
//! and [`KustomizationActor`]s. Source actors fetch on the blocking pool (bounded by
//! `--concurrent-fetches`), store artifacts in the [`ArtifactStore`] and publish them
//! through [`Subscriptions`]; Kustomization actors subscribe, render (on the blocking pool,
//! one render per core at most), apply through `applier` and prune. Every actor writes its
//! object's status with server-side apply (`status`).
//!
//! Must not: parse YAML or decide apply order (`render` and `apply` do).

pub mod drift;
pub mod http;
pub mod impersonation;
pub mod kustomization_actor;
pub mod metrics;
pub mod source_actor;
pub mod status;
pub mod store;
pub mod subscriptions;
pub mod supervisor;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use actix::{Actor, Addr};
use kube::runtime::events::{Recorder, Reporter};

pub use kustomization_actor::KustomizationActor;
pub use source_actor::SourceActor;
pub use store::{ArtifactHandle, ArtifactStore, SourceKey, StoredArtifact};
pub use subscriptions::{SourceEvent, Subscriptions};
pub use supervisor::Supervisor;

/// The default field manager, for status and applies.
pub const FIELD_MANAGER: &str = "driftless";

/// How `driftless run` was asked to behave.
#[derive(Debug, Clone)]
pub struct ControllerOptions {
    /// Watch only this namespace; all when `None`.
    pub namespace: Option<String>,
    /// Where artifacts and Git objects are kept.
    pub storage: PathBuf,
    /// How many fetches may run at once.
    pub concurrent_fetches: usize,
    /// Where `/metrics`, `/healthz` and the artifacts are served.
    pub http_addr: SocketAddr,
    /// The `host:port` written into `status.artifact.url`; the bound address when `None`.
    pub advertised_addr: Option<String>,
    /// Artifacts larger than this (bytes) are refused.
    pub max_artifact_size: u64,
    pub field_manager: String,
    /// How many Kustomization reconciles (render, apply, prune) may run at once.
    pub concurrent: usize,
    /// Refuse Kustomizations whose `sourceRef` names another namespace.
    pub no_cross_namespace_refs: bool,
    /// Field managers whose fields applies take over, as kubectl's (prefix match).
    pub override_managers: Vec<String>,
    /// Apply Flux's own `*.toolkit.fluxcd.io` CRDs instead of skipping them.
    pub allow_flux_crds: bool,
    /// The ServiceAccount (in each Kustomization's namespace) that Kustomizations without
    /// `spec.serviceAccountName` act as; the controller itself when `None`.
    pub default_service_account: Option<String>,
    /// How many Arbiters (threads, each with its own runtime) carry the Kustomization
    /// actors; one per core by default.
    pub arbiters: usize,
    /// The configuration each Arbiter makes its own client from (a client's connections
    /// belong to the runtime that made it, so one client for all would do every request's
    /// I/O on one thread). Without it, every Arbiter shares the client given to
    /// [`Controller::start`].
    pub client_config: Option<kube::Config>,
}

impl Default for ControllerOptions {
    /// `driftless run`'s defaults, with an ephemeral HTTP port on loopback.
    fn default() -> Self {
        Self {
            namespace: None,
            storage: PathBuf::from("driftless-storage"),
            concurrent_fetches: 4,
            http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            advertised_addr: None,
            max_artifact_size: 50 * 1024 * 1024,
            field_manager: FIELD_MANAGER.to_string(),
            concurrent: 4,
            no_cross_namespace_refs: false,
            override_managers: Vec::new(),
            allow_flux_crds: false,
            default_service_account: None,
            arbiters: std::thread::available_parallelism().map_or(1, usize::from),
            client_config: None,
        }
    }
}

/// Why the controller could not start.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    #[error("failed to create the storage directory '{path}': {source}")]
    Storage {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to create a Kubernetes client for an arbiter: {0}")]
    Client(#[source] kube::Error),
    #[error("an arbiter stopped while starting")]
    Arbiter,
}

impl ControllerError {
    /// A path, a port or a configuration must change; an arbiter that died at start-up
    /// may not die again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Arbiter)
    }
}

/// A running controller.
pub struct Controller {
    pub store: Arc<ArtifactStore>,
    pub subscriptions: Subscriptions,
    /// Where the HTTP port ended up (useful when asked for port 0).
    pub http_addr: SocketAddr,
    pub supervisor: Addr<Supervisor>,
    server: tokio::task::JoinHandle<()>,
    arbiters: Vec<actix::Arbiter>,
}

impl Controller {
    /// Starts everything. Must run inside an actix system (`actix::System::new`), whose
    /// runtime the `client` must also belong to.
    pub async fn start(
        client: kube::Client,
        options: ControllerOptions,
    ) -> Result<Self, ControllerError> {
        std::fs::create_dir_all(&options.storage).map_err(|source| ControllerError::Storage {
            path: options.storage.display().to_string(),
            source,
        })?;
        let storage =
            std::fs::canonicalize(&options.storage).map_err(|source| ControllerError::Storage {
                path: options.storage.display().to_string(),
                source,
            })?;
        let store = Arc::new(ArtifactStore::new(&storage));
        let subscriptions = Subscriptions::default();
        let routes = http::Routes {
            store: Arc::clone(&store),
            metrics: metrics::install(),
        };
        let (http_addr, server) =
            http::serve(options.http_addr, routes)
                .await
                .map_err(|source| ControllerError::Listen {
                    address: options.http_addr,
                    source,
                })?;
        let advertised = options.advertised_addr.clone().unwrap_or_else(|| {
            if http_addr.ip().is_unspecified() {
                format!("localhost:{}", http_addr.port())
            } else {
                http_addr.to_string()
            }
        });
        let reporter = Reporter {
            controller: options.field_manager.clone(),
            instance: std::env::var("POD_NAME").ok(),
        };
        let recorder = Arc::new(Recorder::new(client.clone(), reporter.clone()));
        let kustomization_shared = kustomization_actor::KustomizationShared {
            client: client.clone(),
            subscriptions: subscriptions.clone(),
            recorder: Arc::clone(&recorder),
            field_manager: options.field_manager.clone(),
            renders: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, usize::from),
            )),
            reconciles: Arc::new(tokio::sync::Semaphore::new(options.concurrent.max(1))),
            no_cross_namespace_refs: options.no_cross_namespace_refs,
            discovery: crate::apply::Discovery::default(),
            override_managers: options.override_managers.clone(),
            drift: drift::DriftWatches::new(client.clone()),
            impersonation: impersonation::Impersonation::default(),
            default_service_account: options.default_service_account.clone(),
            allow_flux_crds: options.allow_flux_crds,
        };
        let shared = source_actor::SourceShared {
            client: client.clone(),
            store: Arc::clone(&store),
            subscriptions: subscriptions.clone(),
            fetches: Arc::new(tokio::sync::Semaphore::new(
                options.concurrent_fetches.max(1),
            )),
            recorder,
            field_manager: options.field_manager.clone(),
            artifact_base_url: format!("http://{advertised}"),
            max_artifact_size: options.max_artifact_size,
        };
        let mut arbiters = Vec::new();
        let mut lanes = Vec::new();
        for _ in 0..options.arbiters.max(1) {
            let arbiter = actix::Arbiter::new();
            let handle = arbiter.handle();
            arbiters.push(arbiter);
            let mut lane_shared = kustomization_shared.clone();
            if let Some(config) = &options.client_config {
                let lane_client = client_on(&handle, config.clone()).await?;
                lane_shared.recorder =
                    Arc::new(Recorder::new(lane_client.clone(), reporter.clone()));
                lane_shared.client = lane_client;
            }
            lanes.push(supervisor::Lane {
                arbiter: handle,
                shared: lane_shared,
            });
        }
        let supervisor = Supervisor::new(shared, lanes, options.namespace.clone()).start();
        tracing::info!(http = %http_addr, storage = %storage.display(), "controller started");
        Ok(Self {
            store,
            subscriptions,
            http_addr,
            supervisor,
            server,
            arbiters,
        })
    }
}

/// A client made on `arbiter`'s runtime, so its connections live there.
async fn client_on(
    arbiter: &actix::ArbiterHandle,
    config: kube::Config,
) -> Result<kube::Client, ControllerError> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let spawned = arbiter.spawn(async move {
        let _ = sender.send(kube::Client::try_from(config));
    });
    if !spawned {
        return Err(ControllerError::Arbiter);
    }
    receiver
        .await
        .map_err(|_| ControllerError::Arbiter)?
        .map_err(ControllerError::Client)
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.server.abort();
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
    }
}
