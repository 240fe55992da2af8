//! `driftless build`: render a kustomization as `kubectl kustomize` prints it, or a Flux
//! Kustomization object over a source tree as `flux build kustomization` does.

use std::collections::BTreeMap;
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
    /// tree holding PATH, else PATH itself; with `root-only`, no limit beyond kustomize's own
    /// (bases may be anywhere, files only under their kustomization), exactly as kubectl.
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
    /// Also render every Flux Kustomization the build outputs (as `flux build --recursive`),
    /// from the directory --local-sources gives for its sourceRef; its objects follow its
    /// parent's.
    #[arg(long, requires = "kustomization")]
    pub recursive: bool,
    /// Where a source lives on disk for --recursive: `KIND/NAMESPACE/NAME=DIR` (repeat the
    /// flag, or separate with commas), e.g. `GitRepository/flux-system/apps=./apps-repo`.
    #[arg(
        long,
        value_name = "SOURCES",
        value_delimiter = ',',
        requires = "recursive"
    )]
    pub local_sources: Vec<String>,
}

/// How deep --recursive follows Kustomizations that render Kustomizations; a cycle stops
/// here with an error instead of running forever.
const MAX_RECURSION: usize = 16;

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
    let objects = match &args.kustomization {
        Some(file) => render_flux(&args, file)?,
        None => render_kustomize(&args)?,
    };
    // One document at a time: the whole text of a large render would be a second copy of
    // it in memory.
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    for (index, object) in objects.iter().enumerate() {
        if index > 0 {
            stdout.write_all(b"---\n")
        } else {
            Ok(())
        }
        .and_then(|()| stdout.write_all(yaml::to_yaml(object).as_bytes()))
        .context("failed to write the output")?;
    }
    stdout.flush().context("failed to write the output")?;
    // The rendered objects are dropped by the process exit: freeing a large render piece by
    // piece costs more than the exit itself.
    std::mem::forget(objects);
    Ok(())
}

/// The root: --root, else (with `root-only`, which reproduces kustomize and its own
/// per-kustomization rule) the file system root, else the Git work tree holding `path`,
/// else `path`.
fn root_for(
    path: &Path,
    root: Option<&Path>,
    restriction: LoadRestriction,
) -> anyhow::Result<PathBuf> {
    if let Some(root) = root {
        return std::fs::canonicalize(root).with_context(|| format!("--root {}", root.display()));
    }
    if restriction == LoadRestriction::RootOnly {
        return Ok(PathBuf::from("/"));
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

fn render_kustomize(args: &BuildArgs) -> anyhow::Result<Vec<Value>> {
    let root = root_for(&args.path, args.root.as_deref(), args.load_restrictor)?;
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
    Ok(built
        .resources
        .into_iter()
        .map(|resource| resource.object)
        .collect())
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

fn render_flux(args: &BuildArgs, file: &Path) -> anyhow::Result<Vec<Value>> {
    let text = std::fs::read(file).with_context(|| format!("failed to read {}", file.display()))?;
    let object = yaml::parse_resources(&text, &file.display().to_string())?
        .into_iter()
        .next()
        .with_context(|| format!("{} holds no object", file.display()))?;
    let root = std::fs::canonicalize(args.root.as_deref().unwrap_or(&args.path))
        .with_context(|| format!("{}", args.path.display()))?;
    let mut objects = render_flux_object(args, &object, &file.display().to_string(), &root, true)?;
    if args.recursive {
        let sources = local_sources(&args.local_sources)?;
        let mut next = 0;
        let mut depth_of = vec![0; objects.len()];
        while next < objects.len() {
            let (candidate, depth) = (objects[next].clone(), depth_of[next]);
            next += 1;
            if !is_flux_kustomization(&candidate) || same_object(&candidate, &object) {
                continue;
            }
            if depth >= MAX_RECURSION {
                bail!(
                    "--recursive: Kustomizations nest more than {MAX_RECURSION} deep (a cycle?) at {}",
                    object_name(&candidate)
                );
            }
            let key = source_key(&candidate);
            let dir = sources.get(&key).with_context(|| {
                format!(
                    "--recursive: the rendered Kustomization {} uses the source {key}; name its directory with --local-sources {key}=DIR",
                    object_name(&candidate)
                )
            })?;
            let dir = std::fs::canonicalize(dir)
                .with_context(|| format!("--local-sources {key}={}", dir.display()))?;
            let children =
                render_flux_object(args, &candidate, &object_name(&candidate), &dir, false)?;
            // A child's objects come right after everything already rendered, as flux
            // build appends them.
            depth_of.extend(std::iter::repeat_n(depth + 1, children.len()));
            objects.extend(children);
        }
    }
    Ok(objects)
}

/// `--local-sources` entries by `KIND/NAMESPACE/NAME`.
fn local_sources(entries: &[String]) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    entries
        .iter()
        .map(|entry| {
            let (key, dir) = entry.split_once('=').with_context(|| {
                format!("--local-sources {entry:?}: expected KIND/NAMESPACE/NAME=DIR")
            })?;
            if key.split('/').count() != 3 {
                bail!("--local-sources {entry:?}: expected KIND/NAMESPACE/NAME=DIR");
            }
            Ok((key.to_string(), PathBuf::from(dir)))
        })
        .collect()
}

fn is_flux_kustomization(object: &Value) -> bool {
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    api_version.starts_with("kustomize.toolkit.fluxcd.io/")
        && object.get("kind").and_then(Value::as_str) == Some("Kustomization")
}

fn metadata_text<'a>(object: &'a Value, field: &str) -> &'a str {
    object
        .pointer(&format!("/metadata/{field}"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn same_object(a: &Value, b: &Value) -> bool {
    metadata_text(a, "name") == metadata_text(b, "name")
        && metadata_text(a, "namespace") == metadata_text(b, "namespace")
}

fn object_name(object: &Value) -> String {
    format!(
        "Kustomization/{}/{}",
        metadata_text(object, "namespace"),
        metadata_text(object, "name")
    )
}

/// `KIND/NAMESPACE/NAME` of a Kustomization's sourceRef; the namespace defaults to the
/// Kustomization's own.
fn source_key(object: &Value) -> String {
    let field = |name: &str| {
        object
            .pointer(&format!("/spec/sourceRef/{name}"))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    let namespace = match field("namespace") {
        "" => metadata_text(object, "namespace"),
        namespace => namespace,
    };
    format!("{}/{namespace}/{}", field("kind"), field("name"))
}

/// Renders one Flux Kustomization over the source tree at `root`; `is_root` says whether
/// it is the one named on the command line (whose --vars apply).
fn render_flux_object(
    args: &BuildArgs,
    object: &Value,
    origin: &str,
    root: &Path,
    is_root: bool,
) -> anyhow::Result<Vec<Value>> {
    let source = FluxOverridesSource::from_object(object)
        .with_context(|| format!("{origin} is not a Flux Kustomization"))?;
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
    if let Some(vars) = args.vars.as_ref().filter(|_| is_root) {
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
    let tree = DiskTree::new(root)?;
    let rendered = flux::render(&RenderRequest {
        tree: &tree,
        path: &source.path,
        overrides: &overrides,
        variables: &variables,
    })?;
    for warning in &rendered.warnings {
        eprintln!("{warning}");
    }
    Ok(rendered.objects)
}
