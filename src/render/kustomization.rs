//! The kustomization file (`kustomize.config.k8s.io/v1beta1` `Kustomization` and
//! `v1alpha1` `Component`) as kustomize v5.5.0 decodes it.
//!
//! kustomize reads the file with YAML 1.1 rules, then decodes it as JSON that refuses
//! unknown fields and matches field names without regard to case. Deprecated spellings are
//! folded into their successors the way kustomize's `FixKustomization` does, and each use of
//! a deprecated field yields the warning kustomize prints.

use serde::Deserialize;
use serde_json::Value;

/// File names a directory's kustomization may have, in kustomize's lookup order.
pub const FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Why a kustomization file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KustomizationError {
    #[error("invalid Kustomization: {message}")]
    Invalid { message: String },
    #[error("kustomization.yaml is empty")]
    Empty,
    #[error("kind should be Kustomization or Component, not {kind}")]
    WrongKind { kind: String },
    #[error("apiVersion for {kind} should be {wanted}")]
    WrongApiVersion { kind: String, wanted: &'static str },
    #[error("'{field}' is not supported: {why}")]
    Unsupported {
        field: &'static str,
        why: &'static str,
    },
}

/// A kustomization, after kustomize's fix-ups (bases folded into resources, imageTags into
/// images, a generator's `env` into `envs`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Kustomization {
    #[serde(default)]
    pub api_version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub metadata: Option<Value>,
    #[serde(default)]
    pub openapi: Option<Value>,
    #[serde(default)]
    pub name_prefix: String,
    #[serde(default)]
    pub name_suffix: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub common_labels: Option<StringMap>,
    #[serde(default)]
    pub labels: Vec<LabelEntry>,
    #[serde(default)]
    pub common_annotations: Option<StringMap>,
    #[serde(default)]
    pub patches_strategic_merge: Vec<String>,
    #[serde(default)]
    pub patches_json6902: Vec<Json6902Entry>,
    #[serde(default)]
    pub patches: Vec<PatchEntry>,
    #[serde(default)]
    pub images: Vec<ImageEntry>,
    #[serde(default)]
    pub image_tags: Vec<ImageEntry>,
    #[serde(default)]
    pub replacements: Vec<Value>,
    #[serde(default)]
    pub replicas: Vec<ReplicaEntry>,
    #[serde(default)]
    pub vars: Vec<Value>,
    #[serde(default)]
    pub sort_options: Option<SortOptions>,
    /// `None` when absent; `Some(vec![])` for `resources: []`, which is not "empty".
    #[serde(default)]
    pub resources: Option<Vec<String>>,
    #[serde(default)]
    pub components: Vec<String>,
    #[serde(default)]
    pub crds: Vec<String>,
    #[serde(default)]
    pub bases: Vec<String>,
    #[serde(default)]
    pub config_map_generator: Vec<Value>,
    #[serde(default)]
    pub secret_generator: Vec<Value>,
    #[serde(default)]
    pub helm_globals: Option<Value>,
    #[serde(default)]
    pub helm_charts: Option<Value>,
    #[serde(default)]
    pub helm_chart_inflation_generator: Option<Value>,
    #[serde(default)]
    pub generator_options: Option<Value>,
    #[serde(default)]
    pub configurations: Vec<String>,
    #[serde(default)]
    pub generators: Vec<String>,
    #[serde(default)]
    pub transformers: Vec<String>,
    #[serde(default)]
    pub validators: Vec<String>,
    #[serde(default)]
    pub build_metadata: Vec<String>,
}

/// A string-to-string map that refuses non-string values the way Go's decoder does
/// (`labels: {x: y}` is a YAML 1.1 boolean and an error).
pub type StringMap = std::collections::BTreeMap<String, String>;

/// One entry of `labels:`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelEntry {
    #[serde(default)]
    pub pairs: StringMap,
    #[serde(default)]
    pub include_selectors: bool,
    #[serde(default)]
    pub include_templates: bool,
    #[serde(default)]
    pub fields: Vec<Value>,
}

/// One entry of `patches:`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchEntry {
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub patch: Option<String>,
    #[serde(default)]
    pub target: Option<Value>,
    #[serde(default)]
    pub options: Option<PatchOptions>,
}

/// `options` of a `patches:` entry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchOptions {
    #[serde(default)]
    pub allow_name_change: bool,
    #[serde(default)]
    pub allow_kind_change: bool,
}

/// One entry of the deprecated `patchesJson6902:`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Json6902Entry {
    #[serde(default)]
    pub target: Option<Value>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub patch: Option<String>,
}

/// One entry of `images:`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageEntry {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub new_name: String,
    #[serde(default)]
    pub new_tag: String,
    #[serde(default)]
    pub tag_suffix: String,
    #[serde(default)]
    pub digest: String,
}

/// One entry of `replicas:`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplicaEntry {
    pub name: String,
    pub count: i64,
}

/// `sortOptions`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SortOptions {
    #[serde(default)]
    pub order: String,
    #[serde(default)]
    pub legacy_sort_options: Option<LegacySortOptions>,
}

/// `sortOptions.legacySortOptions`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LegacySortOptions {
    #[serde(default)]
    pub order_first: Vec<String>,
    #[serde(default)]
    pub order_last: Vec<String>,
}

/// The top-level field names, for kustomize's case-insensitive matching.
const FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "openapi",
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "patchesStrategicMerge",
    "patchesJson6902",
    "patches",
    "images",
    "imageTags",
    "replacements",
    "replicas",
    "vars",
    "sortOptions",
    "resources",
    "components",
    "crds",
    "bases",
    "configMapGenerator",
    "secretGenerator",
    "helmGlobals",
    "helmCharts",
    "helmChartInflationGenerator",
    "generatorOptions",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "buildMetadata",
];

/// A decoded kustomization and the deprecation warnings its fields earn.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub kustomization: Kustomization,
    pub warnings: Vec<String>,
}

/// Decodes a kustomization from the value the YAML 1.1 config parser produced.
pub fn decode(value: Value) -> Result<Decoded, KustomizationError> {
    let mut map = match value {
        Value::Object(map) => map,
        Value::Null => return Err(KustomizationError::Empty),
        other => {
            return Err(KustomizationError::Invalid {
                message: format!("expected a mapping, found {}", describe(&other)),
            });
        }
    };
    // Go's decoder matches field names case-insensitively; the last duplicate wins.
    let mut normalised = serde_json::Map::new();
    for (key, value) in std::mem::take(&mut map) {
        // Go's decoder leaves a field at its zero value for `null` (`components:` with
        // nothing after it); serde would refuse it.
        if value.is_null() {
            continue;
        }
        let canonical = FIELDS
            .iter()
            .find(|field| field.eq_ignore_ascii_case(&key))
            .map_or(key, |field| field.to_string());
        normalised.insert(canonical, value);
    }
    let warnings = deprecation_warnings(&normalised);
    let mut kustomization: Kustomization =
        serde_path_to_error::deserialize(Value::Object(normalised)).map_err(|error| {
            let path = error.path().to_string();
            let message = go_style(&error.into_inner().to_string());
            // An unknown field already names itself; a wrong value gets the field's path.
            let named = path == "." || message.starts_with("json: unknown field");
            KustomizationError::Invalid {
                message: if named {
                    message
                } else {
                    format!("{path}: {message}")
                },
            }
        })?;
    fix(&mut kustomization)?;
    Ok(Decoded {
        kustomization,
        warnings,
    })
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// serde says "unknown field `foo`, expected one of …"; kustomize says `unknown field "foo"`.
fn go_style(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some(end) = rest.find('`')
    {
        return format!("json: unknown field \"{}\"", &rest[..end]);
    }
    message.to_string()
}

fn deprecation_warnings(map: &serde_json::Map<String, Value>) -> Vec<String> {
    const DEPRECATED: [(&str, &str, &str); 6] = [
        ("bases", "resources", ""),
        ("commonLabels", "labels", ""),
        ("imageTags", "images", ""),
        ("patchesJson6902", "patches", ""),
        ("patchesStrategicMerge", "patches", ""),
        ("vars", "replacements", " [EXPERIMENTAL]"),
    ];
    DEPRECATED
        .iter()
        .filter(|(field, _, _)| map.contains_key(*field))
        .map(|(field, successor, note)| {
            format!(
                "# Warning: '{field}' is deprecated. Please use '{successor}' instead.{note} Run 'kustomize edit fix' to update your Kustomization automatically."
            )
        })
        .collect()
}

/// kustomize's `FixKustomization`, `CheckEmpty` and `EnforceFields`.
fn fix(kustomization: &mut Kustomization) -> Result<(), KustomizationError> {
    let bare = Kustomization {
        api_version: String::new(),
        kind: String::new(),
        ..kustomization.clone()
    };
    if bare == Kustomization::default() {
        return Err(KustomizationError::Empty);
    }
    if kustomization.kind.is_empty() {
        kustomization.kind = "Kustomization".to_string();
    }
    let required_version = match kustomization.kind.as_str() {
        "Kustomization" => "kustomize.config.k8s.io/v1beta1",
        "Component" => "kustomize.config.k8s.io/v1alpha1",
        other => {
            return Err(KustomizationError::WrongKind {
                kind: other.to_string(),
            });
        }
    };
    if !kustomization.api_version.is_empty() && kustomization.api_version != required_version {
        return Err(KustomizationError::WrongApiVersion {
            kind: kustomization.kind.clone(),
            wanted: required_version,
        });
    }
    if !kustomization.bases.is_empty() {
        let bases = std::mem::take(&mut kustomization.bases);
        kustomization
            .resources
            .get_or_insert_with(Vec::new)
            .extend(bases);
    }
    if !kustomization.image_tags.is_empty() {
        let tags = std::mem::take(&mut kustomization.image_tags);
        kustomization.images.extend(tags);
    }
    let helm: [(&'static str, bool); 3] = [
        ("helmCharts", kustomization.helm_charts.is_some()),
        ("helmGlobals", kustomization.helm_globals.is_some()),
        (
            "helmChartInflationGenerator",
            kustomization.helm_chart_inflation_generator.is_some(),
        ),
    ];
    if let Some((field, _)) = helm.into_iter().find(|(_, present)| *present) {
        return Err(KustomizationError::Unsupported {
            field,
            why: "driftless does not inflate Helm charts; render the chart into the repository or use a HelmRelease",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_names_match_without_case_and_bases_join_resources() {
        let decoded =
            decode(json!({"Resources": ["a.yaml"], "BASES": ["../base"], "namePrefix": "p-"}))
                .expect("decode");
        assert_eq!(
            decoded.kustomization.resources,
            Some(vec!["a.yaml".to_string(), "../base".to_string()])
        );
        assert_eq!(decoded.kustomization.kind, "Kustomization");
        assert_eq!(decoded.warnings.len(), 1, "{:?}", decoded.warnings);
        assert!(decoded.warnings[0].contains("'bases' is deprecated"));
    }

    #[test]
    fn unknown_fields_and_wrong_kinds_are_refused_in_kustomize_words() {
        let error = decode(json!({"resources": [], "foo": 1})).expect_err("unknown field");
        assert_eq!(
            error.to_string(),
            "invalid Kustomization: json: unknown field \"foo\""
        );
        let error = decode(json!({"kind": "Foo", "resources": []})).expect_err("kind");
        assert_eq!(
            error.to_string(),
            "kind should be Kustomization or Component, not Foo"
        );
    }

    #[test]
    fn an_empty_kustomization_is_an_error_but_empty_resources_are_not() {
        assert_eq!(
            decode(
                json!({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"})
            )
            .err(),
            Some(KustomizationError::Empty)
        );
        assert!(decode(json!({"resources": []})).is_ok());
    }

    #[test]
    fn non_string_label_values_are_refused() {
        let error = decode(json!({"commonLabels": {"x": true}})).expect_err("bool label");
        assert!(
            error.to_string().contains("invalid type: boolean"),
            "{error}"
        );
    }

    #[test]
    fn warnings_follow_kustomize_order_and_text() {
        let decoded = decode(json!({"patchesStrategicMerge": ["p.yaml"], "commonLabels": {"a": "b"}, "resources": []})).expect("decode");
        assert_eq!(
            decoded.warnings,
            vec![
                "# Warning: 'commonLabels' is deprecated. Please use 'labels' instead. Run 'kustomize edit fix' to update your Kustomization automatically.".to_string(),
                "# Warning: 'patchesStrategicMerge' is deprecated. Please use 'patches' instead. Run 'kustomize edit fix' to update your Kustomization automatically.".to_string(),
            ]
        );
    }

    #[test]
    fn helm_charts_are_refused_by_name() {
        let error = decode(json!({"helmCharts": [{"name": "x"}]})).expect_err("helm");
        assert!(
            error
                .to_string()
                .starts_with("'helmCharts' is not supported"),
            "{error}"
        );
    }
}
