//! Flux's kustomization generator (fluxcd/pkg `kustomize`): use the directory's
//! kustomization, or generate one from the manifests found under it, then write the
//! Kustomization object's overrides into it.

use serde_json::{Map, Value, json};

use super::FluxOverrides;
use crate::render::error::RenderError;
use crate::render::kustomization::FILE_NAMES;
use crate::render::tree::{self, EntryKind, FileTree};
use crate::render::yaml;

/// Whether the kustomization was found or made up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Unchanged,
    Created,
}

/// The kustomization for `dir` (as a value, ready for decoding) with `overrides` applied.
pub fn generate(
    tree: &dyn FileTree,
    dir: &str,
    overrides: &FluxOverrides,
) -> Result<(Value, Action), RenderError> {
    let filter = match &overrides.build_ignore {
        Some(extra) => Some(BuildFilter::load(tree, dir, extra)?),
        None => None,
    };
    let (mut kustomization, action) = find_or_generate(tree, dir, filter.as_ref())?;
    if let Some(filter) = &filter {
        filter.filter_kustomization(tree, dir, &mut kustomization)?;
    }
    let Value::Object(map) = &mut kustomization else {
        return Err(RenderError::Field {
            file: kustomization_path(dir),
            field: "kustomization",
            message: "expected a mapping".into(),
        });
    };
    let has_resources = map
        .get("resources")
        .and_then(Value::as_array)
        .is_some_and(|items| !items.is_empty())
        || map
            .get("bases")
            .and_then(Value::as_array)
            .is_some_and(|items| !items.is_empty());
    if action == Action::Unchanged && !has_resources {
        // Keeps kustomize from refusing a kustomization with only generators as "empty".
        map.insert("buildMetadata".into(), json!(["originAnnotations"]));
    }
    if let Some(namespace) = &overrides.target_namespace {
        map.insert("namespace".into(), Value::String(namespace.clone()));
    }
    if let Some(prefix) = &overrides.name_prefix {
        map.insert("namePrefix".into(), Value::String(prefix.clone()));
    }
    if let Some(suffix) = &overrides.name_suffix {
        map.insert("nameSuffix".into(), Value::String(suffix.clone()));
    }
    for patch in &overrides.patches {
        let mut entry = Map::new();
        entry.insert("patch".into(), Value::String(patch.patch.clone()));
        if let Some(target) = &patch.target {
            entry.insert("target".into(), target.clone());
        }
        push(map, "patches", Value::Object(entry));
    }
    for component in &overrides.components {
        if !is_local_relative(component) {
            return Err(RenderError::Field {
                file: kustomization_path(dir),
                field: "components",
                message: format!("component path '{component}' must be local and relative"),
            });
        }
        if overrides.ignore_missing_components {
            let exists = tree::join(dir, component)
                .ok()
                .map(|path| tree.entry(&path))
                .transpose()?
                .flatten()
                .is_some();
            if !exists {
                continue;
            }
        }
        push(map, "components", Value::String(component.clone()));
    }
    for patch in &overrides.patches_strategic_merge {
        push(
            map,
            "patchesStrategicMerge",
            Value::String(patch.to_string()),
        );
    }
    for patch in &overrides.patches_json6902 {
        let mut entry = Map::new();
        entry.insert("patch".into(), Value::String(patch.patch.to_string()));
        entry.insert("target".into(), patch.target.clone());
        push(map, "patchesJson6902", Value::Object(entry));
    }
    merge_images(map, &overrides.images);
    if !overrides.build_metadata.is_empty() {
        map.insert(
            "buildMetadata".into(),
            Value::Array(
                overrides
                    .build_metadata
                    .iter()
                    .cloned()
                    .map(Value::String)
                    .collect(),
            ),
        );
    }
    Ok((kustomization, action))
}

/// Where the kustomization of `dir` is (or would be) written, for messages.
pub fn kustomization_path(dir: &str) -> String {
    if dir.is_empty() {
        "kustomization.yaml".into()
    } else {
        format!("{dir}/kustomization.yaml")
    }
}

fn push(map: &mut Map<String, Value>, field: &str, value: Value) {
    let slot = map
        .entry(field.to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    if let Value::Array(items) = slot {
        items.push(value);
    }
}

/// Flux merges its images into the kustomization's by name: a new name replaces; a tag or
/// digest replaces both (so a new tag clears an old digest); unknown names are appended.
fn merge_images(map: &mut Map<String, Value>, images: &[super::FluxImage]) {
    for image in images {
        let slot = map
            .entry("images".to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        let Value::Array(existing) = slot else {
            continue;
        };
        let found = existing
            .iter_mut()
            .find(|entry| entry.get("name").and_then(Value::as_str) == Some(image.name.as_str()));
        match found.and_then(Value::as_object_mut) {
            Some(entry) => {
                if !image.new_name.is_empty() {
                    entry.insert("newName".into(), Value::String(image.new_name.clone()));
                }
                if !image.new_tag.is_empty() || !image.digest.is_empty() {
                    set_or_remove(entry, "newTag", &image.new_tag);
                    set_or_remove(entry, "digest", &image.digest);
                }
            }
            None => {
                let mut entry = Map::new();
                entry.insert("name".into(), Value::String(image.name.clone()));
                set_or_remove(&mut entry, "newName", &image.new_name);
                set_or_remove(&mut entry, "newTag", &image.new_tag);
                set_or_remove(&mut entry, "digest", &image.digest);
                existing.push(Value::Object(entry));
            }
        }
    }
}

fn set_or_remove(map: &mut Map<String, Value>, key: &str, value: &str) {
    if value.is_empty() {
        map.remove(key);
    } else {
        map.insert(key.into(), Value::String(value.to_string()));
    }
}

/// Flux's test for a component path: not a URL or Git repository spec and not absolute
/// (climbing with `../` is fine; the tree confines it to the root).
pub fn is_local_relative(path: &str) -> bool {
    const REMOTE_PREFIXES: [&str; 8] = [
        "git::",
        "gh:",
        "ssh://",
        "https://",
        "http://",
        "git@",
        "github.com:",
        "github.com/",
    ];
    let lower = path.to_ascii_lowercase();
    if REMOTE_PREFIXES
        .iter()
        .any(|prefix| prefix.len() < lower.len() && lower.starts_with(prefix))
    {
        return false;
    }
    !path.starts_with('/') && !lower.trim_start_matches("file://").starts_with('/')
}

fn find_or_generate(
    tree: &dyn FileTree,
    dir: &str,
    filter: Option<&BuildFilter>,
) -> Result<(Value, Action), RenderError> {
    for name in FILE_NAMES {
        let path = if dir.is_empty() {
            name.to_string()
        } else {
            format!("{dir}/{name}")
        };
        if tree.entry(&path)? == Some(EntryKind::File) {
            let bytes = tree.read(&path)?;
            let value = yaml::parse_config(&bytes, &path)
                .map_err(|error| RenderError::Yaml(error.to_string()))?;
            return Ok((value, Action::Unchanged));
        }
    }
    let mut resources = Vec::new();
    scan(tree, dir, dir, filter, &mut resources)?;
    let kustomization = if resources.is_empty() {
        json!({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "namespace": "_placeholder"})
    } else {
        json!({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources})
    };
    Ok((kustomization, Action::Created))
}

fn has_kustomization(tree: &dyn FileTree, dir: &str) -> Result<bool, RenderError> {
    for name in FILE_NAMES {
        if tree.entry(&format!("{dir}/{name}"))? == Some(EntryKind::File) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Walks `dir` in lexical order: a subdirectory with its own kustomization becomes one entry
/// and is not descended into; `.yaml`/`.yml` files must parse as Kubernetes objects.
fn scan(
    tree: &dyn FileTree,
    base: &str,
    dir: &str,
    filter: Option<&BuildFilter>,
    resources: &mut Vec<String>,
) -> Result<(), RenderError> {
    for (name, kind) in tree.list(dir)? {
        let path = if dir.is_empty() {
            name.clone()
        } else {
            format!("{dir}/{name}")
        };
        let relative = if base.is_empty() {
            path.clone()
        } else {
            path[base.len() + 1..].to_string()
        };
        match kind {
            EntryKind::Dir => {
                if has_kustomization(tree, &path)? {
                    resources.push(format!("./{relative}"));
                } else {
                    scan(tree, base, &path, filter, resources)?;
                }
            }
            EntryKind::File => {
                if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
                    continue;
                }
                if filter.is_some_and(|filter| filter.ignores_scanned_file(&path)) {
                    continue;
                }
                let bytes = tree.read(&path)?;
                check_manifests(&bytes, &path)?;
                resources.push(format!("./{relative}"));
            }
        }
    }
    Ok(())
}

/// kustomize's resource factory refuses documents that are not objects with a kind.
fn check_manifests(bytes: &[u8], path: &str) -> Result<(), RenderError> {
    let documents = yaml::parse_resources(bytes, path).map_err(|error| {
        RenderError::Yaml(format!(
            "failed to decode Kubernetes YAML from {path}: {error}"
        ))
    })?;
    for (index, document) in documents.iter().enumerate() {
        let kind = document.get("kind").and_then(Value::as_str).unwrap_or("");
        let api_version = document
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !document.is_object() || kind.is_empty() || api_version.is_empty() {
            return Err(RenderError::Field {
                file: path.to_string(),
                field: "apiVersion/kind",
                message: format!(
                    "document {index} is not a Kubernetes object (it needs apiVersion and kind)"
                ),
            });
        }
    }
    Ok(())
}

/// `flux build`'s filtering: `.sourceignore` files under the built directory and extra
/// patterns, both anchored at it, over Flux's default exclusions.
struct BuildFilter {
    patterns: Vec<crate::source::ignore::Pattern>,
    domain: Vec<String>,
}

impl BuildFilter {
    fn load(tree: &dyn FileTree, dir: &str, extra: &[String]) -> Result<Self, RenderError> {
        let domain: Vec<String> = dir
            .split('/')
            .filter(|segment| !segment.is_empty())
            .map(str::to_string)
            .collect();
        let mut patterns = crate::source::ignore::load_ignore_files(tree, dir)?;
        patterns.extend(crate::source::ignore::read_patterns(
            &extra.join("\n"),
            &domain,
        ));
        Ok(Self { patterns, domain })
    }

    fn matcher(&self) -> crate::source::ignore::Matcher {
        crate::source::ignore::Matcher::with_defaults(self.patterns.clone(), &self.domain)
    }

    /// The scan consults the rules only when there are some, as Flux does.
    fn ignores_scanned_file(&self, path: &str) -> bool {
        !self.patterns.is_empty() && self.matcher().is_ignored(path, false)
    }

    /// Drops ignored entries of `resources`, `components` and `crds` (URLs stay).
    fn filter_kustomization(
        &self,
        tree: &dyn FileTree,
        dir: &str,
        kustomization: &mut Value,
    ) -> Result<(), RenderError> {
        let matcher = self.matcher();
        for field in ["resources", "components", "crds"] {
            let Some(Value::Array(entries)) = kustomization.get_mut(field) else {
                continue;
            };
            let mut kept = Vec::new();
            for entry in entries.drain(..) {
                let Some(reference) = entry.as_str() else {
                    kept.push(entry);
                    continue;
                };
                if field != "crds" && reference.contains("://") {
                    kept.push(entry);
                    continue;
                }
                let path = tree::join(dir, reference)?;
                let kind =
                    tree.entry(&path)?
                        .ok_or_else(|| crate::render::tree::TreeError::NotFound {
                            path: path.clone(),
                        })?;
                if !matcher.is_ignored(&path, kind == EntryKind::Dir) {
                    kept.push(entry);
                }
            }
            *entries = kept;
        }
        Ok(())
    }
}
