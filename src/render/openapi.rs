//! The kustomization `openapi:` field: which OpenAPI schema a build takes merge keys and
//! cluster scope from.
//!
//! kustomize v5.5.0 keeps the schema in kyaml's process-global state
//! (`kyaml/openapi/openapi.go`), so the field is neither scoped to the kustomization that
//! declares it nor merged across levels:
//!
//! - `Kustomizer.Run` calls `SetSchema(top's field, reset=true)` before building, and
//!   `accumulateDirectory` calls `SetSchema(field, reset=false)` for every base and
//!   component when it is reached, before that directory is built
//!   (`api/krusty/kustomizer.go`, `api/internal/target/kusttarget.go`).
//! - Without `reset`, `SetSchema` does nothing once a version or a custom schema is set. So
//!   the first kustomization in build order that sets one (the top one, else the first base
//!   or component reached, depth first) wins for the rest of the build, the parents' own
//!   patches included; later ones are ignored, even when they are invalid. Everything built
//!   before that point used the built-in schema.
//! - A declared `path` is read even when it is then ignored, so a missing file always fails.
//!
//! How the custom document combines with the built-in Kubernetes schema depends on what kyaml
//! had already loaded when it was set (`initSchema` parses the custom document, then the
//! built-in one only if it was flagged as needed, and adds every document on top of what is
//! there): see [`Precedence`]. Only the precomputed scope table of the built-in kinds is
//! consulted whatever happens, so cluster scope is that table first, then the custom
//! document's API paths.
//!
//! Owns: decoding the field, parsing the document and that state for one build. Must not:
//! read files (the pipeline reads them with its load restrictions) or merge anything.

use std::cell::{Cell, OnceCell, RefCell};
use std::rc::Rc;

use serde_json::Value;

use super::error::RenderError;
use super::patch::custom::{CustomSchema, SchemaError};
use super::patch::schema::{self, Precedence, SchemaSet};
use super::yaml;

/// The only built-in schema version kustomize v5.5.0 embeds.
pub const BUILTIN_VERSION: &str = "v1.21.2";

/// Why an `openapi:` field or its document cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenApiError {
    /// kustomize decodes the field as `map[string]string`.
    #[error("must be a map of strings (path, version): {found}")]
    NotAStringMap { found: String },
    #[error("builtin version and custom schema provided, cannot use both")]
    PathAndVersion,
    #[error(
        "the specified OpenAPI version is not built in: '{version}' (only {BUILTIN_VERSION} is)"
    )]
    NotBuiltIn { version: String },
    #[error("invalid schema file {origin}: {reason}")]
    Syntax { origin: String, reason: String },
    #[error(transparent)]
    Schema(#[from] SchemaError),
}

/// A decoded `openapi:` field. kustomize tells "absent" from "empty" for `version`: an
/// empty version next to a path is still an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Field {
    pub path: Option<String>,
    pub version: Option<String>,
}

impl Field {
    /// Decodes the field as kustomize's `map[string]string`; other keys are ignored.
    pub fn decode(value: Option<&Value>) -> Result<Self, OpenApiError> {
        let map = match value {
            None | Some(Value::Null) => return Ok(Self::default()),
            Some(Value::Object(map)) => map,
            Some(other) => {
                return Err(OpenApiError::NotAStringMap {
                    found: other.to_string(),
                });
            }
        };
        let text = |key: &str| match map.get(key) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(other) => Err(OpenApiError::NotAStringMap {
                found: format!("{key}: {other}"),
            }),
        };
        Ok(Self {
            path: text("path")?,
            version: text("version")?,
        })
    }
}

/// Parses a custom schema file as kyaml does: JSON when it starts with `{`, else YAML (the
/// first document).
pub fn parse_schema(bytes: &[u8], origin: &str) -> Result<CustomSchema, OpenApiError> {
    let syntax = |reason: String| OpenApiError::Syntax {
        origin: origin.to_string(),
        reason,
    };
    let document = if bytes.first() == Some(&b'{') {
        serde_json::from_slice(bytes).map_err(|error| syntax(error.to_string()))?
    } else {
        yaml::parse_config(bytes, origin).map_err(|error| syntax(error.to_string()))?
    };
    Ok(CustomSchema::from_document(document, origin)?)
}

/// What the build's schema was set to.
#[derive(Debug)]
enum Chosen {
    /// `openapi: {version: v1.21.2}`: the built-in schema, and nothing can change it.
    BuiltinVersion,
    Custom(CustomSchema, Precedence),
}

/// kyaml's schema state for one build.
#[derive(Debug, Default)]
pub struct OpenApi {
    /// Set at most once: kyaml's `SetSchema` ignores every call after the first that sets
    /// something (the top-level call, which resets, is always the first of a build).
    chosen: OnceCell<Chosen>,
    /// kyaml parsed the built-in schema (`initSchema` ran: a strategic merge looked a type
    /// up). A custom schema set later is added on top of it.
    builtin_parsed: Cell<bool>,
    /// kyaml flagged the built-in schema to be parsed after a custom one: a scope test
    /// asked about a kind its precomputed table lacks (every resource's id does).
    builtin_flagged: Cell<bool>,
}

impl OpenApi {
    pub fn new() -> Self {
        Self::default()
    }

    /// kyaml `SetSchema` for a kustomization's decoded `openapi:` field, at the point of
    /// the build where kustomize calls it. `document` is the file the field's `path` named,
    /// already read (kustomize reads it even when it is then ignored) and still unparsed.
    /// A document that does not parse fails here; kyaml parses lazily and panics when it
    /// first consults the schema, which any patch or custom kind makes it do.
    pub fn set(&self, field: &Field, document: Option<(&str, &[u8])>) -> Result<(), OpenApiError> {
        if self.chosen.get().is_some() {
            return Ok(());
        }
        let chosen = match document {
            Some((origin, bytes)) => {
                if field.version.is_some() {
                    return Err(OpenApiError::PathAndVersion);
                }
                let precedence = if self.builtin_parsed.get() {
                    Precedence::CustomOverBuiltin
                } else if self.builtin_flagged.get() {
                    Precedence::BuiltinOverCustom
                } else {
                    Precedence::CustomOnly
                };
                Chosen::Custom(parse_schema(bytes, origin)?, precedence)
            }
            None => match field.version.as_deref() {
                None | Some("") => return Ok(()),
                Some(BUILTIN_VERSION) => Chosen::BuiltinVersion,
                Some(other) => {
                    return Err(OpenApiError::NotBuiltIn {
                        version: other.to_string(),
                    });
                }
            },
        };
        // `chosen` was empty above and nothing in between sets it.
        let _ = self.chosen.set(chosen);
        Ok(())
    }

    /// [`OpenApi::set`] for the `openapi:` field of the kustomization in `file`: decodes it
    /// and reads its `path` with `read` (relative to the kustomization, under the build's
    /// load restrictions). Errors name the kustomization file and the field.
    pub fn set_from(
        &self,
        openapi: Option<&Value>,
        file: &str,
        read: impl FnOnce(&str) -> Result<(String, Vec<u8>), RenderError>,
    ) -> Result<(), RenderError> {
        let error = |error: OpenApiError| RenderError::Field {
            file: file.to_string(),
            field: "openapi",
            message: error.to_string(),
        };
        let field = Field::decode(openapi).map_err(error)?;
        let document = match &field.path {
            Some(path) if super::build::is_remote(path) => {
                return Err(RenderError::Remote {
                    file: file.to_string(),
                    field: "openapi",
                    entry: path.clone(),
                });
            }
            Some(path) => Some(read(path)?),
            None => None,
        };
        let document = document
            .as_ref()
            .map(|(path, bytes)| (path.as_str(), bytes.as_slice()));
        self.set(&field, document).map_err(error)
    }

    /// The schema a strategic merge uses now. Merging makes kyaml parse the built-in schema
    /// if it had not yet, which changes how a custom schema set later combines with it.
    pub fn merge_schemas(&self) -> SchemaSet<'_> {
        self.builtin_parsed.set(true);
        self.current()
    }

    fn current(&self) -> SchemaSet<'_> {
        match self.chosen.get() {
            Some(Chosen::Custom(custom, precedence)) => SchemaSet::with_custom(custom, *precedence),
            Some(Chosen::BuiltinVersion) | None => SchemaSet::builtin(),
        }
    }

    /// Records that kustomize computed the id of an object of this type (it does for every
    /// resource it appends), which is what flags the built-in schema for parsing.
    pub fn note_type(&self, api_version: &str, kind: &str) {
        if self.chosen.get().is_none() && schema::namespaced(api_version, kind).is_none() {
            self.builtin_flagged.set(true);
        }
    }

    /// [`OpenApi::note_type`] for loaded objects.
    pub fn note_objects(&self, objects: &[Value]) {
        for object in objects {
            let text = |key: &str| object.get(key).and_then(Value::as_str).unwrap_or("");
            self.note_type(text("apiVersion"), text("kind"));
        }
    }

    /// kyaml `IsCertainlyClusterScoped` with the schema set now.
    pub fn is_cluster_scoped(&self, api_version: &str, kind: &str) -> bool {
        self.note_type(api_version, kind);
        self.current().is_cluster_scoped(api_version, kind)
    }
}

thread_local! {
    /// The schema state of the builds running on this thread, innermost last. kustomize's
    /// cluster-scope test reads its global schema from deep inside every transformer; this
    /// lets [`is_cluster_scoped`] do the same without every transformer taking the state.
    static ACTIVE: RefCell<Vec<Rc<OpenApi>>> = const { RefCell::new(Vec::new()) };
}

/// Makes `state` the one [`is_cluster_scoped`] consults on this thread until dropped.
#[must_use = "the state is active only while the guard lives"]
pub struct Activation(());

/// Activates `state` for the current thread (a build is synchronous and runs on one).
pub fn activate(state: Rc<OpenApi>) -> Activation {
    ACTIVE.with(|active| active.borrow_mut().push(state));
    Activation(())
}

impl Drop for Activation {
    fn drop(&mut self) {
        ACTIVE.with(|active| active.borrow_mut().pop());
    }
}

/// Whether kustomize treats this apiVersion and kind as cluster-scoped
/// (`IsCertainlyClusterScoped`) at this point of the build running on this thread: kinds
/// the built-in v1.21.2 schema knows as cluster-scoped, then those a custom `openapi:`
/// document's API paths declare so. Everything unknown counts as namespaced. Outside a
/// build, the built-in answer.
pub fn is_cluster_scoped(api_version: &str, kind: &str) -> bool {
    let active = ACTIVE.with(|active| active.borrow().last().cloned());
    match active {
        Some(state) => state.is_cluster_scoped(api_version, kind),
        None => schema::is_cluster_scoped(api_version, kind),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SCHEMA: &str = r#"{"definitions": {"Widget": {
        "properties": {"spec": {"properties": {"items": {
            "type": "array", "x-kubernetes-patch-strategy": "merge",
            "x-kubernetes-patch-merge-key": "name"}}}},
        "x-kubernetes-group-version-kind": [{"group": "example.com", "version": "v1", "kind": "Widget"}]
    }}, "paths": {"/apis/example.com/v1/widgets": {"get": {"x-kubernetes-group-version-kind":
        {"group": "example.com", "version": "v1", "kind": "Widget"}}}}}"#;

    fn path_field() -> Field {
        Field {
            path: Some("schema.json".into()),
            version: None,
        }
    }

    fn version_field(version: &str) -> Field {
        Field {
            path: None,
            version: Some(version.into()),
        }
    }

    fn custom_precedence(state: &OpenApi) -> Option<Precedence> {
        match state.chosen.get() {
            Some(Chosen::Custom(_, precedence)) => Some(*precedence),
            _ => None,
        }
    }

    fn widget_keys(state: &OpenApi) -> Vec<String> {
        state
            .merge_schemas()
            .for_type("example.com/v1", "Widget")
            .and_then(|node| node.lookup(&["spec", "items"]))
            .map(|node| {
                node.merge_keys()
                    .iter()
                    .map(|key| key.to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn decodes_the_field_as_a_string_map() {
        assert_eq!(Field::decode(None), Ok(Field::default()));
        assert_eq!(Field::decode(Some(&Value::Null)), Ok(Field::default()));
        assert_eq!(
            Field::decode(Some(&json!({"path": "schema.json", "other": "x"}))),
            Ok(path_field())
        );
        assert_eq!(
            Field::decode(Some(&json!({"version": ""}))),
            Ok(version_field(""))
        );
        for bad in [
            json!("s.json"),
            json!({"version": 1.21}),
            json!({"path": null}),
        ] {
            assert!(
                matches!(
                    Field::decode(Some(&bad)),
                    Err(OpenApiError::NotAStringMap { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn parses_json_and_yaml_documents() {
        let json = parse_schema(SCHEMA.as_bytes(), "s.json").expect("json");
        assert!(
            json.definition_for_type("example.com/v1", "Widget")
                .is_some()
        );
        // Anything not starting with `{` is YAML, as in kyaml.
        let yaml = "# comment\ndefinitions:\n  Widget:\n    x-kubernetes-group-version-kind:\n    - {group: example.com, version: v1, kind: Widget}\n";
        let yaml = parse_schema(yaml.as_bytes(), "s.yaml").expect("yaml");
        assert!(
            yaml.definition_for_type("example.com/v1", "Widget")
                .is_some()
        );
        assert!(matches!(
            parse_schema(b"{not json", "s.json"),
            Err(OpenApiError::Syntax { .. })
        ));
        assert!(matches!(
            parse_schema(b"", "s.yaml"),
            Err(OpenApiError::Schema(_))
        ));
    }

    #[test]
    fn path_and_version_together_and_unknown_versions_fail() {
        let both = Field {
            path: Some("schema.json".into()),
            version: Some(String::new()),
        };
        let state = OpenApi::new();
        assert_eq!(
            state.set(&both, Some(("schema.json", SCHEMA.as_bytes()))),
            Err(OpenApiError::PathAndVersion)
        );
        assert!(matches!(
            state.set(&version_field("v1.14.1"), None),
            Err(OpenApiError::NotBuiltIn { .. })
        ));
        // An empty version sets nothing, so a later kustomization may still choose.
        assert_eq!(state.set(&version_field(""), None), Ok(()));
        assert!(state.chosen.get().is_none());
        assert_eq!(state.set(&version_field(BUILTIN_VERSION), None), Ok(()));
        assert!(matches!(state.chosen.get(), Some(Chosen::BuiltinVersion)));
    }

    #[test]
    fn the_first_kustomization_that_sets_a_schema_wins() {
        let state = OpenApi::new();
        state
            .set(&path_field(), Some(("schema.json", SCHEMA.as_bytes())))
            .expect("set");
        assert_eq!(custom_precedence(&state), Some(Precedence::CustomOnly));
        // Later settings are ignored, even invalid ones.
        let both = Field {
            path: Some("other.json".into()),
            version: Some("v0".into()),
        };
        assert_eq!(
            state.set(&both, Some(("other.json", b"[not a schema"))),
            Ok(())
        );
        assert_eq!(state.set(&version_field("v1.14.1"), None), Ok(()));
        assert_eq!(widget_keys(&state), vec!["name".to_string()]);

        // A pinned built-in version likewise keeps later custom schemas out.
        let pinned = OpenApi::new();
        pinned
            .set(&version_field(BUILTIN_VERSION), None)
            .expect("set");
        pinned
            .set(&path_field(), Some(("schema.json", SCHEMA.as_bytes())))
            .expect("ignored");
        assert!(widget_keys(&pinned).is_empty());
    }

    #[test]
    fn what_ran_before_decides_how_the_schemas_combine() {
        // Nothing yet: the custom document alone.
        let fresh = OpenApi::new();
        fresh.note_type("apps/v1", "Deployment");
        fresh
            .set(&path_field(), Some(("schema.json", SCHEMA.as_bytes())))
            .expect("set");
        assert_eq!(custom_precedence(&fresh), Some(Precedence::CustomOnly));

        // An id of a kind the precomputed scope table lacks flags the built-in schema,
        // which is then parsed after the custom one.
        let flagged = OpenApi::new();
        flagged.note_objects(&[json!({"apiVersion": "example.com/v1", "kind": "Widget"})]);
        flagged
            .set(&path_field(), Some(("schema.json", SCHEMA.as_bytes())))
            .expect("set");
        assert_eq!(
            custom_precedence(&flagged),
            Some(Precedence::BuiltinOverCustom)
        );

        // A strategic merge parses the built-in schema first.
        let merged = OpenApi::new();
        let _ = merged.merge_schemas();
        merged
            .set(&path_field(), Some(("schema.json", SCHEMA.as_bytes())))
            .expect("set");
        assert_eq!(
            custom_precedence(&merged),
            Some(Precedence::CustomOverBuiltin)
        );
    }

    #[test]
    fn cluster_scope_follows_the_active_build() {
        assert!(!is_cluster_scoped("example.com/v1", "Widget"));
        let state = Rc::new(OpenApi::new());
        {
            let _active = activate(state.clone());
            assert!(!is_cluster_scoped("example.com/v1", "Widget"));
            // Asking about an unknown kind flags the built-in schema, as kyaml does.
            assert!(state.builtin_flagged.get());
            state
                .set(&path_field(), Some(("schema.json", SCHEMA.as_bytes())))
                .expect("set");
            assert!(is_cluster_scoped("example.com/v1", "Widget"));
            assert!(is_cluster_scoped("v1", "Namespace"));
            assert!(!is_cluster_scoped("v1", "ConfigMap"));
        }
        assert!(!is_cluster_scoped("example.com/v1", "Widget"));
    }

    #[test]
    fn set_from_reads_the_path_and_names_the_field_in_errors() {
        let state = OpenApi::new();
        let field = json!({"path": "schema.json", "version": "v1.21.2"});
        let error = state
            .set_from(Some(&field), "kustomization.yaml", |path| {
                Ok((path.to_string(), SCHEMA.as_bytes().to_vec()))
            })
            .expect_err("both");
        assert!(error.to_string().contains("kustomization.yaml: openapi:"));
        let remote = json!({"path": "https://example.com/schema.json"});
        assert!(matches!(
            state.set_from(Some(&remote), "kustomization.yaml", |_| unreachable!()),
            Err(RenderError::Remote { .. })
        ));
        state
            .set_from(Some(&json!({"path": "schema.json"})), "k.yaml", |path| {
                Ok((path.to_string(), SCHEMA.as_bytes().to_vec()))
            })
            .expect("set");
        assert_eq!(widget_keys(&state), vec!["name".to_string()]);
    }
}
