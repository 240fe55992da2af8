//! The real `flux` CLI, built once per machine from its Go module (`testenv/flux/`), run
//! against the shared control plane.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use driftless::testenv::{FLUX_VERSION, ensure_flux_cli};

use super::env;

/// How long `flux reconcile` and `flux resume` may wait; generous for a loaded 2-core
/// machine, and short of flux's own 5 minutes so that a hang fails the test sooner.
const FLUX_TIMEOUT: &str = "3m";

/// The built CLI; the first call on a machine builds it, which takes minutes.
///
/// Panics when it cannot be built: the test exists to run this CLI, and the message says
/// what the build needs.
pub fn flux_program() -> &'static Path {
    static PROGRAM: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match PROGRAM.get_or_init(|| ensure_flux_cli().map_err(|error| error.to_string())) {
        Ok(program) => program,
        Err(message) => panic!(
            "the flux CLI {FLUX_VERSION} could not be built from its Go module \
             github.com/fluxcd/flux2/v2 (the first build on a machine downloads it through \
             the Go module proxy): {message}"
        ),
    }
}

/// Runs `flux ARGS` against the shared control plane. It runs off the test's runtime:
/// `flux reconcile` waits for a controller that runs on that runtime.
pub async fn flux(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let program = flux_program();
        Command::new(program)
            .arg("--kubeconfig")
            .arg(env().kubeconfig_path())
            .arg("--timeout")
            .arg(FLUX_TIMEOUT)
            .args(&args)
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|error| panic!("cannot run {} {args:?}: {error}", program.display()))
    })
    .await
    .expect("the flux command's thread")
}

/// Runs `flux ARGS`, failing the test when it fails; returns what it printed, its table
/// (stdout) and then its progress lines (stderr).
pub async fn flux_ok(args: &[&str]) -> String {
    let output = flux(args).await;
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "flux {args:?} failed ({}):\n{printed}",
        output.status
    );
    printed
}
