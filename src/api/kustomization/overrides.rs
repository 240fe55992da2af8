//! From a Kustomization object to what the renderer needs: the path, the overrides
//! (`render::flux::FluxOverrides`) and the inline variables. v1 and v1beta2 objects both
//! read through the v1 spec, whose schema is a superset.
//!
//! Two fields newer than the Flux release our API copies are read from the raw object when
//! present, so that `driftless build --kustomization` renders manifests written for newer
//! Flux: `spec.buildMetadata` and `spec.postBuild.substituteStrategy`.

use serde_json::Value;

use super::v1::KustomizationSpec;
use crate::api::kustomize::Selector;
use crate::render::flux::{FluxImage, FluxJson6902, FluxOverrides, FluxPatch, Substitution};

/// Why an object cannot be rendered as a Kustomization.
#[derive(Debug, thiserror::Error)]
pub enum OverridesError {
    #[error(
        "not a kustomize.toolkit.fluxcd.io Kustomization (apiVersion {api_version:?}, kind {kind:?})"
    )]
    NotAKustomization { api_version: String, kind: String },
    #[error("invalid spec: {0}")]
    InvalidSpec(#[from] serde_json::Error),
}

/// What a render of this Kustomization needs besides the source tree and the substituteFrom
/// values.
#[derive(Debug, Clone, PartialEq)]
pub struct FluxOverridesSource {
    /// `spec.path`, `./` when unset.
    pub path: String,
    pub overrides: FluxOverrides,
    /// `spec.postBuild.substitute`, which Flux applies after every substituteFrom source.
    pub inline_variables: Vec<(String, String)>,
}

impl FluxOverridesSource {
    /// Reads a Kustomization object (v1 or v1beta2) as JSON.
    pub fn from_object(object: &Value) -> Result<Self, OverridesError> {
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = object
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !api_version.starts_with("kustomize.toolkit.fluxcd.io/") || kind != "Kustomization" {
            return Err(OverridesError::NotAKustomization {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
            });
        }
        // A render needs none of the fields the API requires for reconciling (interval,
        // prune, sourceRef); `flux build` does not either.
        let mut spec_value = object
            .get("spec")
            .cloned()
            .unwrap_or_else(|| Value::Object(Default::default()));
        if let Value::Object(map) = &mut spec_value {
            map.entry("interval")
                .or_insert_with(|| Value::String("10m".into()));
            map.entry("prune").or_insert(Value::Bool(false));
            map.entry("sourceRef")
                .or_insert_with(|| serde_json::json!({"kind": "GitRepository", "name": "unknown"}));
        }
        let spec: KustomizationSpec = serde_json::from_value(spec_value)?;
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let namespace = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let raw_spec = object.get("spec").cloned().unwrap_or(Value::Null);
        Ok(Self::from_spec(&spec, &raw_spec, name, namespace))
    }

    /// Builds the overrides from a typed spec (`raw_spec` supplies the newer fields).
    pub fn from_spec(
        spec: &KustomizationSpec,
        raw_spec: &Value,
        name: &str,
        namespace: &str,
    ) -> Self {
        let selector = |target: &Selector| -> Value {
            let mut map = serde_json::Map::new();
            let fields = [
                ("group", &target.group),
                ("version", &target.version),
                ("kind", &target.kind),
                ("name", &target.name),
                ("namespace", &target.namespace),
                ("labelSelector", &target.label_selector),
                ("annotationSelector", &target.annotation_selector),
            ];
            for (key, value) in fields {
                if let Some(value) = value.as_ref().filter(|value| !value.is_empty()) {
                    map.insert(key.into(), Value::String(value.clone()));
                }
            }
            Value::Object(map)
        };
        let common = spec.common_metadata.as_ref();
        let post_build = spec.post_build.as_ref();
        let strategy_always = raw_spec
            .pointer("/postBuild/substituteStrategy")
            .and_then(Value::as_str)
            .is_some_and(|strategy| strategy == "Always");
        let overrides = FluxOverrides {
            target_namespace: spec
                .target_namespace
                .clone()
                .filter(|value| !value.is_empty()),
            name_prefix: spec.name_prefix.clone().filter(|value| !value.is_empty()),
            name_suffix: spec.name_suffix.clone().filter(|value| !value.is_empty()),
            patches: spec
                .patches
                .iter()
                .flatten()
                .map(|patch| FluxPatch {
                    patch: patch.patch.clone(),
                    target: patch.target.as_ref().map(selector),
                })
                .collect(),
            images: spec
                .images
                .iter()
                .flatten()
                .map(|image| FluxImage {
                    name: image.name.clone(),
                    new_name: image.new_name.clone().unwrap_or_default(),
                    new_tag: image.new_tag.clone().unwrap_or_default(),
                    digest: image.digest.clone().unwrap_or_default(),
                })
                .collect(),
            components: spec.components.clone().unwrap_or_default(),
            ignore_missing_components: spec.ignore_missing_components.unwrap_or(false),
            patches_strategic_merge: spec.patches_strategic_merge.clone().unwrap_or_default(),
            patches_json6902: spec
                .patches_json6902
                .iter()
                .flatten()
                .map(|patch| FluxJson6902 {
                    target: selector(&patch.target),
                    patch: serde_json::to_value(&patch.patch).unwrap_or(Value::Null),
                })
                .collect(),
            build_metadata: raw_spec
                .get("buildMetadata")
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            common_labels: common
                .and_then(|common| common.labels.clone())
                .unwrap_or_default()
                .into_iter()
                .collect(),
            common_annotations: common
                .and_then(|common| common.annotations.clone())
                .unwrap_or_default()
                .into_iter()
                .collect(),
            owner: Some((name.to_string(), namespace.to_string())),
            // Flux 2.7 substitutes leniently unless the StrictPostBuildSubstitutions feature
            // gate is on; `driftless build --strict-substitute` turns it on.
            build_ignore: None,
            substitution: post_build.map(|_| Substitution {
                strict: false,
                always: strategy_always,
            }),
        };
        Self {
            path: spec.path.clone().unwrap_or_else(|| "./".into()),
            overrides,
            inline_variables: post_build
                .and_then(|post_build| post_build.substitute.clone())
                .unwrap_or_default()
                .into_iter()
                .collect(),
        }
    }
}
