//! The CustomResourceDefinitions driftless installs: one per kind, with every served version
//! merged in (v1 stored), rendered as deterministic YAML for `driftless crds` and
//! `deploy/crds/`.
//!
//! kube-derive generates one CRD per version; this module merges them and then adjusts
//! what schemars cannot express: `nullable` removed and descriptions unwrapped (`tidy`),
//! `metav1.Condition`'s validation added, `listKind` and conversion `None` set. The root
//! schema keeps kube-derive's `required: [spec]` (Flux's has none): an object without a spec
//! cannot be reconciled, and refusing it keeps one bad object from breaking every watch.
//!
//! Pure: builds values and strings; writing files is the CLI's job.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceConversion, CustomResourceDefinition, JSON, JSONSchemaProps,
    JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use kube::CustomResourceExt;
use kube::core::crd::{MergeError, merge_crds};

use super::{git_repository, kustomization};

/// Building or rendering a CRD failed.
#[derive(Debug, thiserror::Error)]
pub enum CrdError {
    /// The per-version CRDs of a kind could not be merged.
    #[error("failed to merge the versions of CustomResourceDefinition/{name}")]
    Merge {
        /// Name of the CRD.
        name: &'static str,
        /// Why the merge failed.
        #[source]
        source: MergeError,
    },
    /// A CRD could not be serialized as YAML.
    #[error("failed to render CustomResourceDefinition/{name} as YAML")]
    Render {
        /// Name of the CRD.
        name: String,
        /// Why serialization failed.
        #[source]
        source: serde_saphyr::SerializeError,
    },
}

/// The version every kind is stored in.
const STORAGE_VERSION: &str = "v1";

/// The CRDs driftless serves, sorted by name: `gitrepositories.source.toolkit.fluxcd.io`
/// and `kustomizations.kustomize.toolkit.fluxcd.io`.
///
/// Conversion is `None` (set explicitly): versions differ only in fields, and the stored
/// v1 schemas keep every v1beta2 field so nothing is pruned in storage.
pub fn custom_resource_definitions() -> Result<Vec<CustomResourceDefinition>, CrdError> {
    let mut crds = vec![
        merge(
            git_repository::v1::GitRepository::crd_name(),
            vec![
                git_repository::v1::GitRepository::crd(),
                git_repository::v1beta2::GitRepository::crd(),
            ],
        )?,
        merge(
            kustomization::v1::Kustomization::crd_name(),
            vec![
                kustomization::v1::Kustomization::crd(),
                kustomization::v1beta2::Kustomization::crd(),
            ],
        )?,
    ];
    crds.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    Ok(crds)
}

/// One `(file name, YAML)` per CRD, named `<group>_<plural>.yaml` as Flux names its CRD
/// files (e.g. `source.toolkit.fluxcd.io_gitrepositories.yaml`). Each file is one YAML
/// document starting with `---`.
pub fn crd_files() -> Result<Vec<(String, String)>, CrdError> {
    custom_resource_definitions()?
        .iter()
        .map(|crd| {
            let file = format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural);
            Ok((file, render(crd)?))
        })
        .collect()
}

/// All CRDs as one multi-document YAML stream, in the order of
/// [`custom_resource_definitions`].
pub fn all_crds_yaml() -> Result<String, CrdError> {
    Ok(crd_files()?.into_iter().map(|(_, yaml)| yaml).collect())
}

fn render(crd: &CustomResourceDefinition) -> Result<String, CrdError> {
    // One line per scalar: descriptions are single paragraphs, and folded `>-` blocks only
    // make diffs of the committed files noisier.
    let options = serde_saphyr::ser_options! { prefer_block_scalars: false };
    let body =
        serde_saphyr::to_string_with_options(crd, options).map_err(|source| CrdError::Render {
            name: crd.metadata.name.clone().unwrap_or_default(),
            source,
        })?;
    Ok(format!("---\n{body}"))
}

fn merge(
    name: &'static str,
    versions: Vec<CustomResourceDefinition>,
) -> Result<CustomResourceDefinition, CrdError> {
    let mut crd =
        merge_crds(versions, STORAGE_VERSION).map_err(|source| CrdError::Merge { name, source })?;
    // The API server fills this in anyway; set it so the file reads as the stored object.
    crd.spec.names.list_kind = Some(format!("{}List", crd.spec.names.kind));
    crd.spec.conversion = Some(CustomResourceConversion {
        strategy: "None".to_owned(),
        webhook: None,
    });
    for version in &mut crd.spec.versions {
        if let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|validation| validation.open_api_v3_schema.as_mut())
        {
            schema.title = None;
            tidy(schema);
            add_condition_validation(schema);
        }
    }
    Ok(crd)
}

/// Adds to `status.conditions[]` the validation the Kubernetes Go type declares for
/// `metav1.Condition` and Flux's CRDs carry, which k8s-openapi's schema lacks.
fn add_condition_validation(root: &mut JSONSchemaProps) {
    let Some(condition) = property(root, "status")
        .and_then(|status| property(status, "conditions"))
        .and_then(|conditions| match &mut conditions.items {
            Some(JSONSchemaPropsOrArray::Schema(item)) => Some(&mut **item),
            _ => None,
        })
    else {
        return;
    };
    if let Some(message) = property(condition, "message") {
        message.max_length = Some(32768);
    }
    if let Some(generation) = property(condition, "observedGeneration") {
        generation.minimum = Some(0.0);
    }
    if let Some(reason) = property(condition, "reason") {
        reason.min_length = Some(1);
        reason.max_length = Some(1024);
        reason.pattern = Some(CONDITION_REASON_PATTERN.to_owned());
    }
    if let Some(status) = property(condition, "status") {
        status.enum_ = Some(
            ["True", "False", "Unknown"]
                .into_iter()
                .map(|value| JSON(value.into()))
                .collect(),
        );
    }
    if let Some(type_) = property(condition, "type") {
        type_.max_length = Some(316);
        type_.pattern = Some(CONDITION_TYPE_PATTERN.to_owned());
    }
}

/// Pattern of a condition reason (CamelCase, as metav1.Condition requires).
const CONDITION_REASON_PATTERN: &str = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$";

/// Pattern of a condition type (an optionally prefixed qualified name).
const CONDITION_TYPE_PATTERN: &str = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$";

fn property<'a>(schema: &'a mut JSONSchemaProps, name: &str) -> Option<&'a mut JSONSchemaProps> {
    schema.properties.as_mut()?.get_mut(name)
}

/// Cleans what schemars generates, at every level of a schema:
/// - removes the `nullable: true` it puts on every `Option` field. Flux's schemas have none,
///   and it changes behaviour: the API server prunes a non-nullable `null` (so
///   `timeout: null` gets the 60s default, as in Flux) but keeps a nullable one. Our types
///   never serialize `None` as `null`, so they do not need it;
/// - joins the lines of each paragraph of a description, which doc comments wrap at our
///   line width, so `kubectl explain` can wrap them at its own.
fn tidy(schema: &mut JSONSchemaProps) {
    schema.nullable = None;
    if let Some(description) = &mut schema.description {
        *description = unwrap_paragraphs(description);
    }
    for property in schema.properties.iter_mut().flat_map(|p| p.values_mut()) {
        tidy(property);
    }
    match &mut schema.items {
        Some(JSONSchemaPropsOrArray::Schema(items)) => tidy(items),
        Some(JSONSchemaPropsOrArray::Schemas(items)) => items.iter_mut().for_each(tidy),
        None => {}
    }
    if let Some(JSONSchemaPropsOrBool::Schema(additional)) = &mut schema.additional_properties {
        tidy(additional);
    }
}

fn unwrap_paragraphs(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| {
            paragraph
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap; the lint guards library code
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const GITREPOSITORIES: &str = "gitrepositories.source.toolkit.fluxcd.io";
    const KUSTOMIZATIONS: &str = "kustomizations.kustomize.toolkit.fluxcd.io";

    fn crd(name: &str) -> CustomResourceDefinition {
        custom_resource_definitions()
            .unwrap()
            .into_iter()
            .find(|crd| crd.metadata.name.as_deref() == Some(name))
            .unwrap()
    }

    fn schema(name: &str, version: &str) -> Value {
        let crd = serde_json::to_value(crd(name)).unwrap();
        let versions = crd["spec"]["versions"].as_array().unwrap().clone();
        let version = versions.into_iter().find(|v| v["name"] == version).unwrap();
        version["schema"]["openAPIV3Schema"].clone()
    }

    /// The schema at a dotted path of property names, `[]` stepping into array items.
    fn at<'a>(schema: &'a Value, path: &str) -> &'a Value {
        path.split('.').fold(schema, |node, step| match step {
            "[]" => &node["items"],
            name => &node["properties"][name],
        })
    }

    /// Every property path in a schema, `[]` for array items.
    fn paths(schema: &Value, prefix: &str, out: &mut Vec<String>) {
        if let Some(properties) = schema["properties"].as_object() {
            for (name, property) in properties {
                let path = format!("{prefix}.{name}");
                out.push(path.clone());
                paths(property, &path, out);
            }
        }
        if schema["items"].is_object() {
            paths(&schema["items"], &format!("{prefix}.[]"), out);
        }
    }

    #[test]
    fn crds_are_sorted_and_use_conversion_none() {
        let crds = custom_resource_definitions().unwrap();
        let names: Vec<_> = crds.iter().map(|c| c.metadata.name.clone()).collect();
        assert_eq!(
            names,
            [
                Some(GITREPOSITORIES.to_owned()),
                Some(KUSTOMIZATIONS.to_owned())
            ]
        );
        for crd in &crds {
            let conversion = crd.spec.conversion.as_ref().unwrap();
            assert_eq!(conversion.strategy, "None");
        }
    }

    #[test]
    fn versions_names_and_columns_match_flux() {
        let expected_columns = |with_url: bool| {
            let mut columns = vec![];
            if with_url {
                columns.push(json!({"jsonPath": ".spec.url", "name": "URL", "type": "string"}));
            }
            columns.extend([
                json!({"jsonPath": ".metadata.creationTimestamp", "name": "Age", "type": "date"}),
                json!({"jsonPath": ".status.conditions[?(@.type==\"Ready\")].status", "name": "Ready", "type": "string"}),
                json!({"jsonPath": ".status.conditions[?(@.type==\"Ready\")].message", "name": "Status", "type": "string"}),
            ]);
            Value::Array(columns)
        };
        for (name, short, category, kind, with_url) in [
            (
                GITREPOSITORIES,
                "gitrepo",
                "fluxcd-sources",
                "GitRepository",
                true,
            ),
            (
                KUSTOMIZATIONS,
                "ks",
                "fluxcd-appliers",
                "Kustomization",
                false,
            ),
        ] {
            let crd = serde_json::to_value(crd(name)).unwrap();
            let spec = &crd["spec"];
            assert_eq!(spec["scope"], "Namespaced");
            assert_eq!(spec["names"]["shortNames"], json!([short]));
            assert_eq!(
                spec["names"]["categories"],
                json!(["all", "fluxcd", category])
            );
            let versions = spec["versions"].as_array().unwrap();
            assert_eq!(versions.len(), 2);
            let (v1, v1beta2) = (&versions[0], &versions[1]);
            assert_eq!(v1["name"], "v1");
            assert_eq!(
                (&v1["served"], &v1["storage"]),
                (&json!(true), &json!(true))
            );
            assert!(v1.get("deprecated").is_none());
            assert_eq!(v1beta2["name"], "v1beta2");
            assert_eq!(
                (&v1beta2["served"], &v1beta2["storage"]),
                (&json!(true), &json!(false))
            );
            assert_eq!(v1beta2["deprecated"], true);
            assert_eq!(
                v1beta2["deprecationWarning"],
                format!("v1beta2 {kind} is deprecated, upgrade to v1")
            );
            for version in versions {
                assert_eq!(
                    version["additionalPrinterColumns"],
                    expected_columns(with_url)
                );
                assert_eq!(version["subresources"], json!({"status": {}}));
                assert_eq!(
                    version["schema"]["openAPIV3Schema"]["properties"]["status"]["default"],
                    json!({"observedGeneration": -1})
                );
            }
        }
    }

    #[test]
    fn stored_v1_schema_keeps_every_v1beta2_field() {
        // Conversion None prunes whatever the stored schema lacks: every v1beta2 path must
        // exist in v1, or a v1beta2 user's field is silently dropped.
        for name in [GITREPOSITORIES, KUSTOMIZATIONS] {
            let (mut v1, mut v1beta2) = (vec![], vec![]);
            paths(&schema(name, "v1"), "", &mut v1);
            paths(&schema(name, "v1beta2"), "", &mut v1beta2);
            let missing: Vec<_> = v1beta2.iter().filter(|p| !v1.contains(p)).collect();
            assert!(missing.is_empty(), "{name}: v1 lacks {missing:?}");
        }
        let v1 = schema(KUSTOMIZATIONS, "v1");
        assert_eq!(
            at(&v1, "spec.validation")["enum"],
            json!(["none", "client", "server"])
        );
        assert_eq!(
            at(&v1, "spec.patchesStrategicMerge.[]"),
            &json!({"x-kubernetes-preserve-unknown-fields": true})
        );
        assert_eq!(
            at(&v1, "spec.patchesJson6902.[]")["required"],
            json!(["patch", "target"])
        );
    }

    #[test]
    fn url_pattern_accepts_git_and_file_and_refuses_scp_style() {
        for version in ["v1", "v1beta2"] {
            let schema = schema(GITREPOSITORIES, version);
            let pattern = at(&schema, "spec.url")["pattern"].as_str().unwrap();
            let url = regex::Regex::new(pattern).unwrap();
            for ok in [
                "https://github.com/org/repo",
                "http://gitea.local/org/repo.git",
                "ssh://git@github.com/org/repo.git",
                "ssh://git@host:2222/org/repo.git",
                "git://127.0.0.1:9418/repo.git",
                "file:///srv/git/repo.git",
            ] {
                assert!(url.is_match(ok), "{version} must accept {ok}");
            }
            for bad in [
                "git@github.com:org/repo.git",
                "github.com/org/repo",
                "ftp://host/repo",
                "/srv/git/repo.git",
            ] {
                assert!(!url.is_match(bad), "{version} must refuse {bad}");
            }
        }
    }

    #[test]
    fn duration_patterns_match_flux() {
        let v1 = schema(GITREPOSITORIES, "v1");
        let interval =
            regex::Regex::new(at(&v1, "spec.interval")["pattern"].as_str().unwrap()).unwrap();
        let timeout =
            regex::Regex::new(at(&v1, "spec.timeout")["pattern"].as_str().unwrap()).unwrap();
        for ok in ["10m", "1h30m", "1.5h", "500ms"] {
            assert!(interval.is_match(ok), "{ok}");
        }
        assert!(!interval.is_match("10"));
        assert!(timeout.is_match("90s"));
        assert!(!timeout.is_match("1h"), "Flux's git timeout has no hours");
    }

    #[test]
    fn defaults_match_flux() {
        for version in ["v1", "v1beta2"] {
            let git = schema(GITREPOSITORIES, version);
            assert_eq!(at(&git, "spec.timeout")["default"], "60s");
            let ks = schema(KUSTOMIZATIONS, version);
            assert_eq!(at(&ks, "spec.force")["default"], false);
            assert_eq!(
                at(&ks, "spec.postBuild.substituteFrom.[].optional")["default"],
                false
            );
            let drift = at(&ks, "spec.driftDetection.mode");
            assert_eq!(drift["enum"], json!(["enabled", "warn", "disabled"]));
            assert!(
                drift.get("default").is_none(),
                "no default: reads back as written"
            );
        }
        let v1 = schema(GITREPOSITORIES, "v1");
        assert_eq!(at(&v1, "spec.verify.mode")["default"], "HEAD");
        assert_eq!(
            at(&v1, "spec.verify.mode")["enum"],
            json!(["head", "HEAD", "Tag", "TagAndHEAD"])
        );
        assert!(
            at(&v1, "spec.gitImplementation").get("default").is_none(),
            "v1 objects must not grow the deprecated field"
        );
        let v1beta2 = schema(GITREPOSITORIES, "v1beta2");
        assert_eq!(at(&v1beta2, "spec.gitImplementation")["default"], "go-git");
        assert_eq!(at(&v1beta2, "spec.verify.mode")["enum"], json!(["head"]));
        assert_eq!(
            at(&v1, "spec.provider")["enum"],
            json!(["generic", "azure", "github"])
        );
    }

    #[test]
    fn field_descriptions_win_over_type_descriptions() {
        let v1 = schema(GITREPOSITORIES, "v1");
        let description = at(&v1, "spec.gitImplementation")["description"]
            .as_str()
            .unwrap();
        assert!(
            description.starts_with("Deprecated (v1beta2)"),
            "{description}"
        );
    }

    #[test]
    fn schemas_are_structural() {
        fn check(node: &Value, path: &str) {
            let object = node.as_object().unwrap();
            for forbidden in [
                "$ref",
                "anyOf",
                "oneOf",
                "allOf",
                "not",
                "definitions",
                "nullable",
            ] {
                assert!(!object.contains_key(forbidden), "{path} has {forbidden}");
            }
            let typed = object.contains_key("type")
                || object.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true))
                || object.get("x-kubernetes-int-or-string") == Some(&json!(true));
            assert!(typed, "{path} has no type");
            if let Some(properties) = object.get("properties").and_then(Value::as_object) {
                assert_eq!(object["type"], "object", "{path}");
                for (name, property) in properties {
                    check(property, &format!("{path}.{name}"));
                }
            }
            if let Some(items) = object.get("items") {
                assert_eq!(object["type"], "array", "{path}");
                check(items, &format!("{path}.[]"));
            }
            if let Some(additional) = object.get("additionalProperties").filter(|a| a.is_object()) {
                check(additional, &format!("{path}.*"));
            }
        }
        for name in [GITREPOSITORIES, KUSTOMIZATIONS] {
            for version in ["v1", "v1beta2"] {
                check(&schema(name, version), &format!("{name}/{version}"));
            }
        }
    }

    #[test]
    fn yaml_is_deterministic_and_reads_back_as_the_crds() {
        let yaml = all_crds_yaml().unwrap();
        assert_eq!(yaml, all_crds_yaml().unwrap());
        let files = crd_files().unwrap();
        let names: Vec<_> = files.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "source.toolkit.fluxcd.io_gitrepositories.yaml",
                "kustomize.toolkit.fluxcd.io_kustomizations.yaml"
            ]
        );
        assert_eq!(
            yaml,
            files.iter().map(|(_, y)| y.as_str()).collect::<String>()
        );
        let documents: Vec<Value> = serde_saphyr::from_str_multiple(&yaml).unwrap();
        let expected: Vec<Value> = custom_resource_definitions()
            .unwrap()
            .iter()
            .map(|crd| serde_json::to_value(crd).unwrap())
            .collect();
        assert_eq!(documents, expected);
    }
}
