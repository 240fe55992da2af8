//! The command-line edge: one file per subcommand, each turning arguments into
//! calls on the library. `anyhow` lives here and nowhere deeper.

mod build;
mod crds;
mod demo;
mod run;
mod testenv;
mod version;

use clap::{Parser, Subcommand};

/// driftless: a GitOps reconciler for Kubernetes that runs Flux repositories unchanged.
#[derive(Debug, Parser)]
#[command(name = "driftless", version, about, long_about = None)]
pub struct Cli {
    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "DRIFTLESS_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Log filter, in `RUST_LOG` syntax (e.g. `info`, `driftless=debug`).
    #[arg(long, global = true, default_value = "info", env = "RUST_LOG")]
    pub log_level: String,
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render a kustomization (or a plain directory, or a Flux Kustomization over a source
    /// tree) as `kubectl kustomize` / `flux build kustomization` print it.
    Build(build::BuildArgs),
    /// Print the CustomResourceDefinitions driftless serves, as YAML.
    Crds(crds::CrdsArgs),
    /// Show the whole loop on this machine: a local control plane, the example repository
    /// served over git://, two commits rolled out, the controller; until SIGINT or SIGTERM.
    Demo(demo::DemoArgs),
    /// Run the controller against a cluster: fetch every GitRepository, render, apply and
    /// prune every Kustomization, until SIGINT or SIGTERM.
    Run(run::RunArgs),
    /// Run a local Kubernetes control plane (etcd, kube-apiserver, controller-manager,
    /// scheduler, kwok nodes) in the foreground, building it first if needed.
    Testenv(testenv::TestenvArgs),
    /// Print the version of driftless and of the Kubernetes release it targets.
    Version,
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    // `build` logs nothing (warnings go to stderr as kubectl prints them) and runs once per
    // render: it skips the logger's set-up, a measurable part of a small render.
    if !matches!(cli.command, Command::Build(_)) {
        init_logging(cli.log_format, &cli.log_level)?;
    }
    match cli.command {
        Command::Build(args) => build::run(args),
        Command::Crds(args) => crds::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Run(args) => run::run(args),
        Command::Testenv(args) => testenv::run(args),
        Command::Version => version::run(),
    }
}

fn init_logging(format: LogFormat, filter: &str) -> anyhow::Result<()> {
    let builder = tracing_subscriber::fmt().with_writer(std::io::stderr);
    // A plain level (the default `info`) needs no directive parsing: `driftless build` runs
    // once per render, and the full filter is a measurable part of a small one.
    if let Ok(level) = filter.parse::<tracing_subscriber::filter::LevelFilter>() {
        use tracing_subscriber::layer::SubscriberExt as _;
        use tracing_subscriber::util::SubscriberInitExt as _;
        // kube's client logs every non-2xx answer as an error, even those we expect (a
        // starting API server's /readyz, a 404 we handle); we log failures with context.
        let targets = tracing_subscriber::filter::Targets::new()
            .with_default(level)
            .with_target(
                "kube_client::client::builder",
                tracing_subscriber::filter::LevelFilter::OFF,
            );
        let builder = builder.with_max_level(level);
        match format {
            LogFormat::Text => builder.finish().with(targets).try_init(),
            LogFormat::Json => builder.json().finish().with(targets).try_init(),
        }
        .map_err(|error| anyhow::anyhow!("cannot install the logger: {error}"))
    } else {
        let filter = tracing_subscriber::EnvFilter::try_new(filter)
            .map_err(|error| anyhow::anyhow!("invalid --log-level {filter:?}: {error}"))?;
        let builder = builder.with_env_filter(filter);
        match format {
            LogFormat::Text => builder.try_init(),
            LogFormat::Json => builder.json().try_init(),
        }
        .map_err(|error| anyhow::anyhow!("cannot install the logger: {error}"))
    }
}
