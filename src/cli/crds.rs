//! `driftless crds`: prints the CustomResourceDefinitions driftless serves, or writes one
//! file per CRD (how `deploy/crds/` is regenerated).

use std::path::PathBuf;

use anyhow::Context;

use crate::api::crd;

/// Arguments of `driftless crds`.
#[derive(Debug, clap::Args)]
pub struct CrdsArgs {
    /// Write one `<group>_<plural>.yaml` file per CRD into DIR (created if missing) instead
    /// of printing all of them to stdout.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
}

/// Prints all CRDs as one YAML stream, or writes them to `--output-dir`.
pub fn run(args: CrdsArgs) -> anyhow::Result<()> {
    match args.output_dir {
        None => {
            print!("{}", crd::all_crds_yaml()?);
            Ok(())
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("failed to create {}", dir.display()))?;
            for (name, yaml) in crd::crd_files()? {
                let path = dir.join(&name);
                std::fs::write(&path, yaml)
                    .with_context(|| format!("failed to write {}", path.display()))?;
                eprintln!("wrote {}", path.display());
            }
            Ok(())
        }
    }
}
