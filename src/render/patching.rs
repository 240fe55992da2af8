//! The patch transformers of a kustomization level: `patchesStrategicMerge`, `patches` and
//! `patchesJson6902`. This module picks targets and keeps ids; the merge and patch engines
//! live in `patch`.

use serde_json::Value;

use super::error::RenderError;
use super::kustomization::PatchOptions;
use super::openapi::OpenApi;
use super::patch::selector::{self, CompiledSelector, Selector, SelectorInput};
use super::patch::smp::{self, Identity, MergeOutcome};
use super::patch::{PatchError, json6902};
use super::resource::{ResId, Resource};
use super::scope::is_cluster_scoped;
use super::yaml;

fn patch_error(origin: &str, field: &'static str, error: impl std::fmt::Display) -> RenderError {
    RenderError::Field {
        file: origin.to_string(),
        field,
        message: error.to_string(),
    }
}

/// Whether `resource` is selected by `selector`: names and namespaces are matched against
/// the original and the current ones, as kustomize does.
pub fn selects(selector: &CompiledSelector, resource: &Resource) -> Result<bool, PatchError> {
    if !selector.may_match_kind(resource.api_version(), resource.kind()) {
        return Ok(false);
    }
    let original = resource.original_id();
    let current = resource.id();
    let scoped = is_cluster_scoped(resource.api_version(), resource.kind());
    let names = [original.name.as_str(), current.name.as_str()];
    let original_namespace = if resource.previous.is_empty() {
        selector::effective_namespace(&original.namespace, scoped).to_string()
    } else {
        selector::effective_namespace(&original.namespace, false).to_string()
    };
    let namespaces = [
        original_namespace.as_str(),
        selector::effective_namespace(&current.namespace, scoped),
    ];
    let labels = selector::metadata_strings(&resource.object, "labels");
    let annotations = selector::metadata_strings(&resource.object, "annotations");
    selector.matches(&SelectorInput {
        api_version: resource.api_version(),
        kind: resource.kind(),
        names: &names,
        namespaces: &namespaces,
        labels: &labels,
        annotations: &annotations,
    })
}

fn compile_target(
    target: &Value,
    origin: &str,
    field: &'static str,
) -> Result<CompiledSelector, RenderError> {
    let selector: Selector = serde_json::from_value(target.clone())
        .map_err(|error| patch_error(origin, field, error))?;
    selector
        .compile()
        .map_err(|error| patch_error(origin, field, error))
}

/// Merges one strategic-merge patch document into the resource at `index`, keeping its
/// identity unless the options allow a change; removes it on `$patch: delete`.
fn merge_into(
    resources: &mut Vec<Resource>,
    index: usize,
    patch: &Value,
    options: Option<&PatchOptions>,
    origin: &str,
    field: &'static str,
    openapi: &OpenApi,
) -> Result<bool, RenderError> {
    let resource = &resources[index];
    let identity = Identity::of(&resource.object);
    let outcome = smp::strategic_merge_noting(
        &resource.object,
        &resource.bare_nulls,
        patch,
        resource.api_version(),
        resource.kind(),
        openapi.merge_schemas(),
    )
    .map_err(|error| {
        patch_error(
            origin,
            field,
            format!("{} of {}: {error}", "patch", resource.id()),
        )
    })?;
    match outcome {
        MergeOutcome::Deleted => {
            resources.remove(index);
            Ok(false)
        }
        MergeOutcome::Merged(mut merged) => {
            let allow_name = options.is_some_and(|options| options.allow_name_change);
            let allow_kind = options.is_some_and(|options| options.allow_kind_change);
            identity.restore(&mut merged, allow_name, allow_kind);
            let resource = &mut resources[index];
            if ResId::of(&merged) != resource.id() {
                resource.remember_id();
            }
            // The bare nulls the merge kept (inside lists it does not walk) are still bare.
            resource
                .bare_nulls
                .retain(|pointer| merged.pointer(pointer) == Some(&Value::Null));
            resource.object = merged;
            Ok(true)
        }
    }
}

/// Strategic-merge documents without a target: each applies to the one resource whose
/// current or earlier id equals the document's. Merge keys come from the build's schema
/// (`openapi`).
pub fn apply_strategic_merge_documents(
    resources: &mut Vec<Resource>,
    text: &str,
    origin: &str,
    options: Option<&PatchOptions>,
    openapi: &OpenApi,
) -> Result<(), RenderError> {
    let documents = yaml::parse_resources(text.as_bytes(), origin)
        .map_err(|error| RenderError::Yaml(error.to_string()))?;
    merge_documents(resources, documents, origin, options, openapi)
}

/// `patchesStrategicMerge` loads its patches as resources, whose labels and annotations are
/// string maps: a null there becomes the text `null` and no longer deletes.
pub fn apply_legacy_strategic_merge(
    resources: &mut Vec<Resource>,
    text: &str,
    origin: &str,
    openapi: &OpenApi,
) -> Result<(), RenderError> {
    let mut documents = yaml::parse_resources(text.as_bytes(), origin)
        .map_err(|error| RenderError::Yaml(error.to_string()))?;
    for document in &mut documents {
        for field in ["labels", "annotations"] {
            let map = document
                .get_mut("metadata")
                .and_then(|metadata| metadata.get_mut(field))
                .and_then(Value::as_object_mut);
            for value in map.into_iter().flat_map(|map| map.values_mut()) {
                if value.is_null() {
                    *value = Value::String("null".into());
                }
            }
        }
    }
    merge_documents(resources, documents, origin, None, openapi)
}

fn merge_documents(
    resources: &mut Vec<Resource>,
    documents: Vec<Value>,
    origin: &str,
    options: Option<&PatchOptions>,
    openapi: &OpenApi,
) -> Result<(), RenderError> {
    for document in documents {
        let wanted = ResId::of(&document);
        let matches: Vec<usize> = resources
            .iter()
            .enumerate()
            .filter(|(_, resource)| resource.answers_to(&wanted))
            .map(|(index, _)| index)
            .collect();
        match matches.as_slice() {
            [] => {
                return Err(patch_error(
                    origin,
                    "patchesStrategicMerge",
                    format!("no resource matches strategic merge patch \"{wanted}\""),
                ));
            }
            [index] => {
                merge_into(
                    resources,
                    *index,
                    &document,
                    options,
                    origin,
                    "patchesStrategicMerge",
                    openapi,
                )?;
            }
            _ => {
                return Err(patch_error(
                    origin,
                    "patchesStrategicMerge",
                    format!("multiple matches for strategic merge patch \"{wanted}\""),
                ));
            }
        }
    }
    Ok(())
}

/// The two shapes a `patches:` entry may take.
enum PatchBody {
    StrategicMerge(Vec<Value>),
    Json6902(Value),
}

/// kustomize tries the text as both kinds; exactly one must fit.
fn classify(text: &str, origin: &str) -> Result<PatchBody, RenderError> {
    let as_json = if text.trim_start().starts_with('[') {
        json6902::parse_json6902(text).ok()
    } else {
        match yaml::parse_config(text.as_bytes(), origin) {
            Ok(Value::Array(items)) => Some(Value::Array(items)),
            _ => None,
        }
    };
    let as_objects = yaml::parse_resources(text.as_bytes(), origin)
        .ok()
        .filter(|documents| !documents.is_empty() && documents.iter().all(Value::is_object));
    match (as_objects, as_json) {
        (Some(_), Some(_)) => Err(patch_error(
            origin,
            "patches",
            "the patch illegally qualifies as both an SM and JSON patch",
        )),
        (Some(documents), None) => Ok(PatchBody::StrategicMerge(documents)),
        (None, Some(operations)) => Ok(PatchBody::Json6902(operations)),
        (None, None) => {
            let detail = yaml::parse_resources(text.as_bytes(), origin)
                .err()
                .map(|error| error.to_string());
            Err(patch_error(
                origin,
                "patches",
                format!(
                    "unable to parse SM or JSON patch{}",
                    detail
                        .map(|detail| format!(": {detail}"))
                        .unwrap_or_default()
                ),
            ))
        }
    }
}

/// One `patches:` entry.
pub fn apply_patch_entry(
    resources: &mut Vec<Resource>,
    text: &str,
    origin: &str,
    target: Option<&Value>,
    options: Option<&PatchOptions>,
    openapi: &OpenApi,
) -> Result<(), RenderError> {
    let body = classify(text, origin)?;
    match (body, target) {
        (PatchBody::StrategicMerge(documents), None) => {
            let joined = yaml::to_yaml_stream(&documents);
            apply_strategic_merge_documents(resources, &joined, origin, options, openapi)
        }
        (PatchBody::StrategicMerge(documents), Some(target)) => {
            if documents.len() != 1 {
                return Err(patch_error(
                    origin,
                    "patches",
                    "a patch with a target must hold exactly one strategic merge document",
                ));
            }
            let selector = compile_target(target, origin, "patches")?;
            let mut index = 0;
            while index < resources.len() {
                let selected = selects(&selector, &resources[index])
                    .map_err(|error| patch_error(origin, "patches", error))?;
                if selected {
                    // kustomize gives the patch the target's apiVersion (keeping its own
                    // kind), so a targeted patch never moves an object to another group.
                    let mut patch = documents[0].clone();
                    if let Some(map) = patch.as_object_mut() {
                        map.insert(
                            "apiVersion".into(),
                            Value::String(resources[index].api_version().to_string()),
                        );
                    }
                    if !merge_into(
                        resources, index, &patch, options, origin, "patches", openapi,
                    )? {
                        continue;
                    }
                }
                index += 1;
            }
            Ok(())
        }
        (PatchBody::Json6902(_), None) => Err(patch_error(
            origin,
            "patches",
            "a JSON 6902 patch must specify a target",
        )),
        (PatchBody::Json6902(operations), Some(target)) => {
            apply_operations(resources, &operations, target, origin, "patches")
        }
    }
}

/// One `patchesJson6902:` entry.
pub fn apply_json6902_entry(
    resources: &mut [Resource],
    text: &str,
    origin: &str,
    target: Option<&Value>,
) -> Result<(), RenderError> {
    let Some(target) = target else {
        return Err(patch_error(
            origin,
            "patchesJson6902",
            "each entry needs a target",
        ));
    };
    let operations = if text.trim_start().starts_with('[') {
        json6902::parse_json6902(text)
            .map_err(|error| patch_error(origin, "patchesJson6902", error))?
    } else {
        yaml::parse_config(text.as_bytes(), origin)
            .map_err(|error| RenderError::Yaml(error.to_string()))?
    };
    apply_operations(resources, &operations, target, origin, "patchesJson6902")
}

fn apply_operations(
    resources: &mut [Resource],
    operations: &Value,
    target: &Value,
    origin: &str,
    field: &'static str,
) -> Result<(), RenderError> {
    let selector = compile_target(target, origin, field)?;
    for resource in resources.iter_mut() {
        if !selects(&selector, resource).map_err(|error| patch_error(origin, field, error))? {
            continue;
        }
        // During a build every object carries kustomize's internal annotations, so a patch
        // may add under /metadata/annotations of an object that had none.
        let mut target_object = resource.object.clone();
        if target_object.pointer("/metadata/annotations").is_none()
            && let Some(metadata) = target_object
                .get_mut("metadata")
                .and_then(Value::as_object_mut)
        {
            metadata.insert("annotations".into(), Value::Object(Default::default()));
        }
        let patched = json6902::apply_json6902(&target_object, operations)
            .map_err(|error| patch_error(origin, field, format!("{}: {error}", resource.id())))?;
        if ResId::of(&patched) != resource.id() {
            resource.remember_id();
        }
        resource.object = patched;
        // kustomize applies JSON patches to the object's JSON text and reads the result
        // back: every null is a written `null` from then on.
        resource.bare_nulls.clear();
    }
    Ok(())
}
