//! Flux's side of a render: the kustomization generator and the Kustomization object's
//! overrides, postBuild variable substitution, then commonMetadata and the owner labels, in
//! the order kustomize-controller applies them.

pub mod generator;
pub mod substitute;

use serde_json::Value;

use super::build::{self, BuildOptions, LoadRestriction};
use super::error::RenderError;
use super::kustomization;
use super::resource::map_at;
use super::tree::{self, EntryKind, FileTree};

/// A patch from `spec.patches`.
#[derive(Debug, Clone, PartialEq)]
pub struct FluxPatch {
    pub patch: String,
    pub target: Option<Value>,
}

/// A JSON 6902 patch from v1beta2's `spec.patchesJson6902`.
#[derive(Debug, Clone, PartialEq)]
pub struct FluxJson6902 {
    pub target: Value,
    pub patch: Value,
}

/// An image override from `spec.images`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FluxImage {
    pub name: String,
    pub new_name: String,
    pub new_tag: String,
    pub digest: String,
}

/// How postBuild substitution runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Substitution {
    /// An unset variable without a default is an error (`--feature-gates=StrictPostBuildSubstitutions`).
    pub strict: bool,
    /// Substitute even when no variable is defined, so defaults apply.
    pub always: bool,
}

/// What a Flux Kustomization's spec changes about a render.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FluxOverrides {
    pub target_namespace: Option<String>,
    pub name_prefix: Option<String>,
    pub name_suffix: Option<String>,
    pub patches: Vec<FluxPatch>,
    pub images: Vec<FluxImage>,
    pub components: Vec<String>,
    pub ignore_missing_components: bool,
    pub patches_strategic_merge: Vec<Value>,
    pub patches_json6902: Vec<FluxJson6902>,
    pub build_metadata: Vec<String>,
    /// `spec.commonMetadata` labels and annotations.
    pub common_labels: Vec<(String, String)>,
    pub common_annotations: Vec<(String, String)>,
    /// `kustomize.toolkit.fluxcd.io/name` and `/namespace` labels, when set.
    pub owner: Option<(String, String)>,
    /// `None` when the Kustomization has no `postBuild`.
    pub substitution: Option<Substitution>,
    /// `flux build`'s ignore handling: when set, `.sourceignore` files under the built
    /// directory and these extra patterns filter what the render reads (the controller does
    /// not: its artifact was filtered when it was fetched).
    pub build_ignore: Option<Vec<String>>,
}

/// One render request: a path inside an artifact, the Kustomization's overrides, and the
/// variables as raw sources in order (the substituteFrom entries, then inline `substitute`).
pub struct RenderRequest<'a> {
    pub tree: &'a dyn FileTree,
    pub path: &'a str,
    pub overrides: &'a FluxOverrides,
    pub variables: &'a [Vec<(String, String)>],
}

/// The objects, in render order, and warnings worth showing a user.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub objects: Vec<Value>,
    pub warnings: Vec<String>,
}

/// Renders as kustomize-controller does. Synchronous and pure over the tree: meant for a
/// blocking pool.
pub fn render(request: &RenderRequest<'_>) -> Result<Rendered, RenderError> {
    let dir = tree::join("", request.path)?;
    match request.tree.entry(&dir)? {
        Some(EntryKind::Dir) => {}
        _ => {
            return Err(RenderError::Field {
                file: display(&dir),
                field: "spec.path",
                message: format!("kustomization path not found: {}", display(&dir)),
            });
        }
    }
    let (value, _) = generator::generate(request.tree, &dir, request.overrides)?;
    let file = generator::kustomization_path(&dir);
    let decoded = kustomization::decode(value).map_err(|source| RenderError::Kustomization {
        file: file.clone(),
        problem: source,
    })?;
    let options = BuildOptions {
        restriction: LoadRestriction::None,
        fifo: true,
    };
    let built = build::build_with(request.tree, &dir, Some((file, decoded)), &options)?;
    let mut objects: Vec<Value> = built
        .resources
        .into_iter()
        .map(|resource| resource.object)
        .collect();
    // kustomize-controller refuses objects it could not apply or prune by identity.
    for object in &objects {
        let id = super::resource::ResId::of(object);
        if id.version.is_empty() || id.kind.is_empty() || id.name.is_empty() {
            return Err(RenderError::IncompleteObject {
                object: id.to_string(),
            });
        }
    }
    if let Some(substitution) = &request.overrides.substitution {
        objects = substitute::apply(objects, request.variables, substitution)?;
    }
    for object in &mut objects {
        if let Some((name, namespace)) = &request.overrides.owner
            && let Some(labels) = map_at(object, &["metadata", "labels"])
        {
            labels.insert(
                "kustomize.toolkit.fluxcd.io/name".into(),
                Value::String(name.clone()),
            );
            labels.insert(
                "kustomize.toolkit.fluxcd.io/namespace".into(),
                Value::String(namespace.clone()),
            );
        }
        if !request.overrides.common_labels.is_empty()
            && let Some(labels) = map_at(object, &["metadata", "labels"])
        {
            for (key, value) in &request.overrides.common_labels {
                labels.insert(key.clone(), Value::String(value.clone()));
            }
        }
        if !request.overrides.common_annotations.is_empty()
            && let Some(annotations) = map_at(object, &["metadata", "annotations"])
        {
            for (key, value) in &request.overrides.common_annotations {
                annotations.insert(key.clone(), Value::String(value.clone()));
            }
        }
    }
    Ok(Rendered {
        objects,
        warnings: built.warnings,
    })
}

fn display(dir: &str) -> String {
    if dir.is_empty() {
        ".".into()
    } else {
        dir.to_string()
    }
}
