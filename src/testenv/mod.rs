//! The local control plane for tests and the demo: real kube-apiserver, etcd,
//! kube-controller-manager, kube-scheduler and kwok, built from the Go modules pinned in
//! `testenv/` and supervised here.
//!
//! Owns: building and caching the binaries, certificates and tokens, starting and stopping
//! the components, and the shared [`TestEnv`] that integration tests use.
//! Must not: be used by the controller except through a normal kubeconfig.

pub mod binaries;
pub mod control_plane;
pub mod flux_cli;
pub mod pki;
pub mod process;
mod shared;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use binaries::{ETCD_VERSION, KUBERNETES_VERSION, KWOK_VERSION};
pub use control_plane::{
    ControlPlane, ControlPlaneOptions, client_from_kubeconfig, config_from_kubeconfig, free_port,
};
pub use flux_cli::{FLUX_VERSION, ensure_flux_cli};
pub use shared::{NamespaceGuard, TEST_KUBECONFIG_ENV, TestEnv, install_crds, kubectl_program};

/// Why the local control plane could not be built, started or used.
#[derive(Debug, thiserror::Error)]
pub enum TestEnvError {
    #[error("failed to {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no cache directory: set DRIFTLESS_CACHE_DIR, XDG_CACHE_HOME or HOME")]
    NoCacheDir,
    #[error("failed to run `go` (install Go 1.26 or set GO to its path): {source}")]
    GoMissing { source: std::io::Error },
    #[error("failed to build the {what} (go build output follows):\n{output}")]
    BuildFailed { what: String, output: String },
    #[error("failed to generate certificates: {0}")]
    Pki(String),
    #[error("failed to read random bytes from the operating system")]
    Random,
    #[error("failed to start {name} ({}): {source}", program.display())]
    Spawn {
        name: String,
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("{name} exited ({status}); the end of {} follows:\n{tail}", log.display())]
    Exited {
        name: String,
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error("timed out after {waited:?} waiting for {what}; component logs are in {}", logs.display())]
    NotReady {
        what: String,
        waited: Duration,
        logs: PathBuf,
    },
    #[error("invalid kubeconfig: {0}")]
    Kubeconfig(String),
    #[error("request to the control plane failed: {0}")]
    Client(#[source] kube::Error),
    #[error("the control plane's start-up thread panicked")]
    StartPanicked,
    #[error("failed to install the CustomResourceDefinitions: {0}")]
    Crds(String),
}

impl TestEnvError {
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn pki(error: rcgen::Error) -> Self {
        Self::Pki(error.to_string())
    }

    /// Whether trying again may succeed (a busy port, a slow start) or a person must act
    /// first (no Go, a broken build, an unreadable cache directory).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Exited { .. } | Self::NotReady { .. } | Self::Client(_)
        )
    }
}
