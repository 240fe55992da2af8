//! `generators:` and `transformers:` entries that configure kustomize's built-in plugins
//! (`PrefixSuffixTransformer`, `LabelTransformer`, `PatchTransformer`, `ConfigMapGenerator`,
//! …). Each config is an object whose `kind` names the plugin; its fields are the plugin's
//! settings and its `fieldSpecs` say where it writes. Plugins run by anything else (exec
//! plugins, KRM functions, Helm) are refused by name.

use serde::Deserialize;
use serde_json::Value;

use super::fieldspec::FieldSpec;
use super::kustomization::{ImageEntry, PatchOptions, ReplicaEntry, StringMap};
use super::resource::Resource;
use super::transform;

/// Why a plugin config cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginError {
    #[error(
        "plugin {kind}/{name} is not supported: driftless runs kustomize's built-in plugins only (no exec plugins, KRM functions or Helm)"
    )]
    Unsupported { kind: String, name: String },
    #[error("invalid {kind} config: {message}")]
    Invalid { kind: String, message: String },
}

/// A plugin config's kind and name, for messages.
pub fn describe(config: &Value) -> (String, String) {
    (
        config
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        config
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    )
}

fn parse<T: for<'de> Deserialize<'de>>(config: &Value) -> Result<T, PluginError> {
    serde_json::from_value(config.clone()).map_err(|error| PluginError::Invalid {
        kind: describe(config).0,
        message: error.to_string(),
    })
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AffixConfig {
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    suffix: String,
    #[serde(default)]
    field_specs: Vec<FieldSpec>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PairsConfig {
    #[serde(default)]
    labels: StringMap,
    #[serde(default)]
    annotations: StringMap,
    #[serde(default)]
    field_specs: Vec<FieldSpec>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ImageConfig {
    #[serde(default)]
    image_tag: ImageEntry,
    #[serde(default)]
    field_specs: Vec<FieldSpec>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReplicaConfig {
    replica: ReplicaEntry,
    #[serde(default)]
    field_specs: Vec<FieldSpec>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PatchConfig {
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    patch: Option<String>,
    #[serde(default)]
    target: Option<Value>,
    #[serde(default)]
    options: Option<PatchOptions>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct StrategicMergeConfig {
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    patches: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Json6902Config {
    #[serde(default)]
    target: Option<Value>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    json_op: Option<String>,
}

/// What a transformer plugin asks the pipeline to do; the pipeline reads any files and runs
/// the patch engines, which need its loader.
pub enum TransformerStep {
    /// Done in place.
    Done,
    /// `PatchTransformer`: a `patches:` entry.
    Patch {
        path: Option<String>,
        patch: Option<String>,
        target: Option<Value>,
        options: Option<PatchOptions>,
    },
    /// `PatchStrategicMergeTransformer`: files, then inline patches.
    StrategicMerge { paths: Vec<String>, inline: String },
    /// `PatchJson6902Transformer`.
    Json6902 {
        target: Option<Value>,
        path: Option<String>,
        inline: Option<String>,
    },
    /// `ReplacementTransformer`.
    Replacements(Vec<Value>),
}

/// Runs one transformer config on `resources`, or says what the pipeline must do for it.
pub fn transform(
    resources: &mut [Resource],
    config: &Value,
) -> Result<TransformerStep, PluginError> {
    let (kind, name) = describe(config);
    match kind.as_str() {
        "PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer" => {
            let settings: AffixConfig = parse(config)?;
            transform::add_prefix_suffix_at(
                resources,
                &settings.prefix,
                &settings.suffix,
                &settings.field_specs,
            );
            Ok(TransformerStep::Done)
        }
        "LabelTransformer" => {
            let settings: PairsConfig = parse(config)?;
            transform::set_pairs(resources, &settings.labels, &settings.field_specs);
            Ok(TransformerStep::Done)
        }
        "AnnotationsTransformer" => {
            let settings: PairsConfig = parse(config)?;
            transform::set_pairs(resources, &settings.annotations, &settings.field_specs);
            Ok(TransformerStep::Done)
        }
        "NamespaceTransformer" => {
            let namespace = config
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let subjects = match config.get("setRoleBindingSubjects").and_then(Value::as_str) {
                Some("allServiceAccounts") => transform::SubjectMode::AllServiceAccounts,
                Some("none") => transform::SubjectMode::None,
                _ => transform::SubjectMode::DefaultOnly,
            };
            let options = transform::NamespaceOptions {
                unset_only: config
                    .get("unsetOnly")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                subjects,
            };
            transform::set_namespace_with(resources, namespace, &options).map_err(|error| {
                PluginError::Invalid {
                    kind,
                    message: error.to_string(),
                }
            })?;
            Ok(TransformerStep::Done)
        }
        "ImageTagTransformer" => {
            let settings: ImageConfig = parse(config)?;
            transform::apply_image(resources, &settings.image_tag, &settings.field_specs);
            Ok(TransformerStep::Done)
        }
        "ReplicaCountTransformer" => {
            let settings: ReplicaConfig = parse(config)?;
            transform::apply_replicas_at(resources, &settings.replica, &settings.field_specs)
                .map_err(|error| PluginError::Invalid {
                    kind,
                    message: error.to_string(),
                })?;
            Ok(TransformerStep::Done)
        }
        "PatchTransformer" => {
            let settings: PatchConfig = parse(config)?;
            Ok(TransformerStep::Patch {
                path: settings.path,
                patch: settings.patch,
                target: settings.target,
                options: settings.options,
            })
        }
        "PatchStrategicMergeTransformer" => {
            let settings: StrategicMergeConfig = parse(config)?;
            Ok(TransformerStep::StrategicMerge {
                paths: settings.paths,
                inline: settings.patches,
            })
        }
        "PatchJson6902Transformer" => {
            let settings: Json6902Config = parse(config)?;
            Ok(TransformerStep::Json6902 {
                target: settings.target,
                path: settings.path,
                inline: settings.json_op,
            })
        }
        "ReplacementTransformer" => {
            let replacements = config
                .get("replacements")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            Ok(TransformerStep::Replacements(replacements))
        }
        _ => Err(PluginError::Unsupported { kind, name }),
    }
}

/// The generator arguments of a `ConfigMapGenerator`/`SecretGenerator` config: its
/// `metadata.name`/`namespace` plus the generator fields at the top level.
pub fn generator_args(
    config: &Value,
) -> Result<(super::generators::GeneratedKind, Value), PluginError> {
    let (kind, name) = describe(config);
    let generated = match kind.as_str() {
        "ConfigMapGenerator" => super::generators::GeneratedKind::ConfigMap,
        "SecretGenerator" => super::generators::GeneratedKind::Secret,
        _ => return Err(PluginError::Unsupported { kind, name }),
    };
    let mut args = config.as_object().cloned().unwrap_or_default();
    args.remove("apiVersion");
    args.remove("kind");
    let metadata = args.remove("metadata").unwrap_or(Value::Null);
    // Plugin configs are decoded leniently: fields the generator does not know are ignored.
    const KNOWN: [&str; 9] = [
        "name",
        "namespace",
        "behavior",
        "literals",
        "files",
        "envs",
        "env",
        "type",
        "options",
    ];
    args.retain(|key, _| KNOWN.contains(&key.as_str()));
    // A generator's own `name` wins; the config's metadata.name is the fallback.
    if !args.contains_key("name") {
        args.insert("name".into(), Value::String(name));
    }
    if let Some(namespace) = metadata.get("namespace").and_then(Value::as_str) {
        args.insert("namespace".into(), Value::String(namespace.to_string()));
    }
    Ok((generated, Value::Object(args)))
}

/// The `IAMPolicyGenerator` built-in (GKE workload identity): a ServiceAccount annotated
/// with the Google service account it acts as.
pub fn iam_policy_service_account(config: &Value) -> Result<Value, PluginError> {
    let (kind, _) = describe(config);
    let invalid = |message: &str| PluginError::Invalid {
        kind: kind.clone(),
        message: message.to_string(),
    };
    let cloud = config
        .get("cloud")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if cloud != "gke" {
        return Err(invalid("only cloud: gke is supported"));
    }
    let text = |pointer: &str| {
        config
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let name = text("/kubernetesService/name");
    let account = text("/serviceAccount/name");
    let project = text("/serviceAccount/projectId");
    if name.is_empty() || account.is_empty() || project.is_empty() {
        return Err(invalid(
            "kubernetesService.name, serviceAccount.name and serviceAccount.projectId are required",
        ));
    }
    let mut metadata = serde_json::json!({
        "name": name,
        "annotations": {"iam.gke.io/gcp-service-account": format!("{account}@{project}.iam.gserviceaccount.com")},
    });
    let namespace = text("/kubernetesService/namespace");
    if !namespace.is_empty() {
        metadata["namespace"] = Value::String(namespace.to_string());
    }
    Ok(serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata}))
}
