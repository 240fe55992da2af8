//! The command-line edge: one file per subcommand, each turning arguments into
//! calls on the library. `anyhow` lives here and nowhere deeper.

mod crds;
mod testenv;
mod version;

use clap::{Parser, Subcommand};

/// driftless: a GitOps reconciler for Kubernetes that runs Flux repositories unchanged.
#[derive(Debug, Parser)]
#[command(name = "driftless", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the CustomResourceDefinitions driftless serves, as YAML.
    Crds(crds::CrdsArgs),
    /// Run a local Kubernetes control plane (etcd, kube-apiserver, controller-manager,
    /// scheduler, kwok nodes) in the foreground, building it first if needed.
    Testenv(testenv::TestenvArgs),
    /// Print the version of driftless and of the Kubernetes release it targets.
    Version,
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Crds(args) => crds::run(args),
        Command::Testenv(args) => testenv::run(args),
        Command::Version => version::run(),
    }
}
