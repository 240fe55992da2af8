//! `driftless testenv`: run the local control plane in the foreground.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use crate::testenv::{ControlPlane, ControlPlaneOptions, KUBERNETES_VERSION};

#[derive(Debug, clap::Args)]
pub struct TestenvArgs {
    /// Where to write the admin kubeconfig.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "driftless-testenv.kubeconfig"
    )]
    pub write_kubeconfig: PathBuf,
    /// State directory (etcd data, certificates, logs); created if absent and then removed
    /// on exit. A temporary directory by default.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Number of simulated (kwok) nodes.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub nodes: usize,
    /// After this many seconds at idle, print each component's resident memory.
    #[arg(long, value_name = "SECONDS")]
    pub idle_report: Option<u64>,
}

pub fn run(args: TestenvArgs) -> anyhow::Result<()> {
    let mut plane = ControlPlane::start(ControlPlaneOptions {
        dir: args.dir.clone(),
        nodes: args.nodes,
        kubeconfig: Some(args.write_kubeconfig.clone()),
    })
    .context("failed to start the local control plane")?;
    println!(
        "Kubernetes {KUBERNETES_VERSION} control plane ready in {:.1?}",
        plane.startup_time()
    );
    println!("server:     {}", plane.server_url());
    println!("kubeconfig: {}", args.write_kubeconfig.display());
    println!("state:      {}", plane.dir().display());
    println!(
        "try:        kubectl --kubeconfig {} get nodes",
        args.write_kubeconfig.display()
    );
    println!("Press Ctrl-C to stop.");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to start a runtime")?;
    let outcome = runtime.block_on(wait_for_stop(&mut plane, args.idle_report));
    println!("stopping the control plane");
    plane.stop();
    outcome
}

/// Waits for SIGINT or SIGTERM, failing if a component exits on its own.
async fn wait_for_stop(plane: &mut ControlPlane, idle_report: Option<u64>) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    let mut health = tokio::time::interval(Duration::from_secs(1));
    let report_at = idle_report.map(|secs| tokio::time::Instant::now() + Duration::from_secs(secs));
    let mut reported = false;
    loop {
        tokio::select! {
            _ = terminate.recv() => return Ok(()),
            _ = interrupt.recv() => return Ok(()),
            _ = health.tick() => {
                plane.check_health().context("a control-plane component stopped")?;
                if !reported && report_at.is_some_and(|at| tokio::time::Instant::now() >= at) {
                    reported = true;
                    print_memory(plane);
                }
            }
        }
    }
}

fn print_memory(plane: &ControlPlane) {
    println!("resident memory at idle:");
    for (name, pid, rss) in plane.components() {
        match rss {
            Some(bytes) => println!(
                "  {name:<24} pid {pid:<8} {:>6.1} MiB",
                bytes as f64 / 1048576.0
            ),
            None => println!("  {name:<24} pid {pid:<8} unknown"),
        }
    }
}
