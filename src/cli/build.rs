//! `driftless build`: render a kustomization as `kubectl kustomize` prints it, or a Flux
//! Kustomization object over a source tree as `flux build kustomization` does.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::api::kustomization::FluxOverridesSource;
use crate::render::build::{self, BuildOptions, LoadRestriction};
use crate::render::flux::{self, RenderRequest};
use crate::render::tree::{DiskTree, FileTree};
use crate::render::{kustomization, yaml};

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The directory to render (with --kustomization: the source root its spec.path is in).
    pub path: PathBuf,
    /// Nothing may be loaded from outside this directory. Default: the top of the Git work
    /// tree holding PATH, else PATH itself.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// `none` (Flux's behaviour: anywhere inside --root) or `root-only` (kustomize's
    /// default: only inside each kustomization's own directory). kustomize's spellings
    /// LoadRestrictionsNone and LoadRestrictionsRootOnly are accepted.
    #[arg(long, value_name = "RESTRICTOR", default_value = "none", value_parser = parse_restrictor, overrides_with = "load_restrictor")]
    pub load_restrictor: LoadRestriction,
    /// A Flux Kustomization (v1 or v1beta2) to render as `flux build kustomization` does:
    /// its spec.path inside PATH, its overrides and postBuild substitution.
    #[arg(long, value_name = "FILE")]
    pub kustomization: Option<PathBuf>,
    /// A YAML map of the variables the Kustomization's substituteFrom sources hold.
    #[arg(long, value_name = "FILE", requires = "kustomization")]
    pub vars: Option<PathBuf>,
    /// Do not add the kustomize.toolkit.fluxcd.io/name and /namespace labels.
    #[arg(long, requires = "kustomization")]
    pub no_owner_labels: bool,
    /// Fail on variables that are unset and have no default.
    #[arg(long, requires = "kustomization")]
    pub strict_substitute: bool,
    /// Substitute variables even when the Kustomization has no spec.postBuild.
    #[arg(long, requires = "kustomization")]
    pub force_substitution: bool,
    /// Substitute even when no variable is defined, so `${VAR:=default}` defaults apply
    /// (newer Flux's `substituteStrategy: Always`).
    #[arg(long, requires = "kustomization")]
    pub substitute_always: bool,
    /// Filter what is read with the `.sourceignore` files under the built directory, as
    /// `flux build` does (implied by --ignore-paths).
    #[arg(long, requires = "kustomization")]
    pub source_ignore: bool,
    /// Extra gitignore-style patterns to leave out (repeat the flag, or separate with commas).
    #[arg(
        long,
        value_name = "PATTERNS",
        value_delimiter = ',',
        requires = "kustomization"
    )]
    pub ignore_paths: Vec<String>,
}

fn parse_restrictor(value: &str) -> Result<LoadRestriction, String> {
    match value {
        "none" | "LoadRestrictionsNone" => Ok(LoadRestriction::None),
        "root-only" | "LoadRestrictionsRootOnly" => Ok(LoadRestriction::RootOnly),
        other => Err(format!(
            "unknown load restrictor '{other}': use none or root-only"
        )),
    }
}

pub fn run(args: BuildArgs) -> anyhow::Result<()> {
    let output = match &args.kustomization {
        Some(file) => render_flux(&args, file)?,
        None => render_kustomize(&args)?,
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(output.as_bytes())
        .context("failed to write the output")?;
    Ok(())
}

/// The root: --root, else the Git work tree holding `path`, else `path`.
fn root_for(path: &Path, root: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(root) = root {
        return std::fs::canonicalize(root).with_context(|| format!("--root {}", root.display()));
    }
    let path = std::fs::canonicalize(path).with_context(|| format!("{}", path.display()))?;
    let mut current = Some(path.as_path());
    while let Some(dir) = current {
        if dir.join(".git").exists() {
            return Ok(dir.to_path_buf());
        }
        current = dir.parent();
    }
    Ok(path)
}

/// The tree path of `path` inside `root`.
fn inside(root: &Path, path: &Path) -> anyhow::Result<String> {
    let path = std::fs::canonicalize(path).with_context(|| format!("{}", path.display()))?;
    let relative = path.strip_prefix(root).map_err(|_| {
        anyhow::anyhow!("{} is outside the root {}", path.display(), root.display())
    })?;
    Ok(relative
        .components()
        .map(|component| component.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/"))
}

fn render_kustomize(args: &BuildArgs) -> anyhow::Result<String> {
    let root = root_for(&args.path, args.root.as_deref())?;
    let dir = inside(&root, &args.path)?;
    let tree = DiskTree::new(&root)?;
    let options = BuildOptions {
        restriction: args.load_restrictor,
        fifo: false,
    };
    let built = if has_kustomization(&tree, &dir)? {
        build::build(&tree, &dir, &options)?
    } else {
        // A plain directory: the kustomization Flux would generate, rendered as kubectl does.
        let (value, _) = flux::generator::generate(&tree, &dir, &flux::FluxOverrides::default())?;
        let file = flux::generator::kustomization_path(&dir);
        let decoded = kustomization::decode(value).map_err(|source| {
            crate::render::error::RenderError::Kustomization {
                file: file.clone(),
                problem: source,
            }
        })?;
        build::build_with(&tree, &dir, Some((file, decoded)), &options)?
    };
    for warning in &built.warnings {
        eprintln!("{warning}");
    }
    let objects: Vec<Value> = built
        .resources
        .into_iter()
        .map(|resource| resource.object)
        .collect();
    Ok(yaml::to_yaml_stream(&objects))
}

fn has_kustomization(tree: &dyn FileTree, dir: &str) -> anyhow::Result<bool> {
    for name in kustomization::FILE_NAMES {
        let path = if dir.is_empty() {
            name.to_string()
        } else {
            format!("{dir}/{name}")
        };
        if tree.entry(&path)?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

fn render_flux(args: &BuildArgs, file: &Path) -> anyhow::Result<String> {
    let text = std::fs::read(file).with_context(|| format!("failed to read {}", file.display()))?;
    let object = yaml::parse_resources(&text, &file.display().to_string())?
        .into_iter()
        .next()
        .with_context(|| format!("{} holds no object", file.display()))?;
    let source = FluxOverridesSource::from_object(&object)
        .with_context(|| format!("{} is not a Flux Kustomization", file.display()))?;
    let mut overrides = source.overrides;
    if args.no_owner_labels {
        overrides.owner = None;
    }
    if args.source_ignore || !args.ignore_paths.is_empty() {
        overrides.build_ignore = Some(args.ignore_paths.clone());
    }
    if args.force_substitution && overrides.substitution.is_none() {
        overrides.substitution = Some(flux::Substitution::default());
    }
    if let Some(substitution) = &mut overrides.substitution {
        substitution.strict |= args.strict_substitute;
        substitution.always |= args.substitute_always;
    }
    let mut variables = Vec::new();
    if let Some(vars) = &args.vars {
        let text =
            std::fs::read(vars).with_context(|| format!("failed to read {}", vars.display()))?;
        let value = yaml::parse_config(&text, &vars.display().to_string())?;
        let Value::Object(map) = value else {
            bail!(
                "{} must be a map of variable names to values",
                vars.display()
            );
        };
        variables.push(
            map.into_iter()
                .map(|(key, value)| {
                    let text = match value {
                        Value::String(text) => text,
                        Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    (key, text)
                })
                .collect(),
        );
    }
    variables.push(source.inline_variables);
    let root = std::fs::canonicalize(args.root.as_deref().unwrap_or(&args.path))
        .with_context(|| format!("{}", args.path.display()))?;
    let tree = DiskTree::new(&root)?;
    let rendered = flux::render(&RenderRequest {
        tree: &tree,
        path: &source.path,
        overrides: &overrides,
        variables: &variables,
    })?;
    for warning in &rendered.warnings {
        eprintln!("{warning}");
    }
    Ok(yaml::to_yaml_stream(&rendered.objects))
}
