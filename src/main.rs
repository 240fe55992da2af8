//! The `driftless` command: parses arguments and hands each subcommand to `cli`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = driftless::cli::Cli::parse();
    match driftless::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
