//! A custom OpenAPI schema given by a kustomization's `openapi: {path: …}` field: swagger v2
//! style `definitions` (and optionally `paths`), as kyaml's `openapi.AddSchema` indexes them.
//!
//! kyaml keeps such a document as `spec.Schema` values and resolves `$ref`s only when a
//! field is looked up, against whatever definitions are loaded at that moment. To keep that
//! late binding, this module keeps the document as JSON and interprets it on demand
//! ([`super::schema::ResourceSchema`] walks it); here it is only validated and indexed.
//!
//! Owns: the index of one custom document (types by apiVersion and kind, namespace scope
//! from its API paths). Must not: read files or parse YAML (the pipeline hands in the
//! document as a value), or decide how it combines with the built-in schema (`schema` does).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// `x-kubernetes-group-version-kind`: on a definition a list of objects, on a path's GET
/// operation a single object.
const GVK: &str = "x-kubernetes-group-version-kind";

/// Why a custom OpenAPI document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid OpenAPI schema {origin}: {reason}")]
pub struct SchemaError {
    /// Where the document came from (its file), for the message.
    pub origin: String,
    pub reason: String,
}

/// One custom OpenAPI document, indexed the way kyaml's `AddDefinitions` and
/// `findNamespaceability` index it.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomSchema {
    origin: String,
    definitions: Map<String, Value>,
    /// (apiVersion, kind) → definition name.
    types: BTreeMap<(String, String), String>,
    /// (apiVersion, kind) → namespaced.
    namespaced: BTreeMap<(String, String), bool>,
}

impl CustomSchema {
    /// Indexes a decoded OpenAPI document. kyaml's `swagger.UnmarshalJSON` refuses a
    /// document whose top level, `definitions` or definitions are not objects; everything
    /// else it cannot use is skipped here as kyaml skips it.
    pub fn from_document(document: Value, origin: &str) -> Result<Self, SchemaError> {
        let error = |reason: &str| SchemaError {
            origin: origin.to_string(),
            reason: reason.to_string(),
        };
        let Value::Object(mut document) = document else {
            return Err(error("the document is not a map"));
        };
        let definitions = match document.remove("definitions") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(definitions)) => definitions,
            Some(_) => return Err(error("'definitions' is not a map")),
        };
        if let Some((name, _)) = definitions.iter().find(|(_, value)| !value.is_object()) {
            return Err(error(&format!("definition '{name}' is not a map")));
        }
        let paths = match document.remove("paths") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(paths)) => paths,
            Some(_) => return Err(error("'paths' is not a map")),
        };

        // kyaml visits definitions in Go's random map order, so when two claim one type the
        // winner varies between runs; here the last by name wins, every time.
        let mut types = BTreeMap::new();
        for (name, definition) in &definitions {
            let claimed = definition.get(GVK).and_then(Value::as_array);
            for type_meta in claimed.into_iter().flatten().filter_map(type_meta) {
                types.insert(type_meta, name.clone());
            }
        }

        // `findNamespaceability`: a type is namespaced if any GET path for it has a
        // namespace parameter, and cluster-scoped if it has GET paths but none of those.
        let mut namespaced = BTreeMap::new();
        for (path, item) in &paths {
            // spec.Paths keeps only keys starting with "/"; the rest are extensions.
            if !path.starts_with('/') {
                continue;
            }
            let claimed = item.pointer("/get").and_then(|get| get.get(GVK));
            let Some(type_meta) = claimed.and_then(type_meta) else {
                continue;
            };
            if path.contains("namespaces/{namespace}") {
                namespaced.insert(type_meta, true);
            } else {
                namespaced.entry(type_meta).or_insert(false);
            }
        }

        Ok(Self {
            origin: origin.to_string(),
            definitions,
            types,
            namespaced,
        })
    }

    /// Where the document came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The definition named `name`.
    pub fn definition(&self, name: &str) -> Option<&Value> {
        self.definitions.get(name)
    }

    /// The definition that claims this apiVersion and kind through
    /// `x-kubernetes-group-version-kind` (kyaml `SchemaForResourceType`).
    pub fn definition_for_type(&self, api_version: &str, kind: &str) -> Option<&Value> {
        self.types
            .get(&(api_version.to_string(), kind.to_string()))
            .and_then(|name| self.definitions.get(name))
    }

    /// Whether the document's API paths make this type namespaced (`Some(true)`),
    /// cluster-scoped (`Some(false)`), or say nothing (`None`).
    pub fn namespaced(&self, api_version: &str, kind: &str) -> Option<bool> {
        self.namespaced
            .get(&(api_version.to_string(), kind.to_string()))
            .copied()
    }
}

/// kyaml `toTypeMeta`: `group/version` (just `version` for the core group) and `kind`.
/// kyaml panics on a GVK without string `version` and `kind`; such entries are skipped.
fn type_meta(value: &Value) -> Option<(String, String)> {
    let version = value.get("version")?.as_str()?;
    let kind = value.get("kind")?.as_str()?;
    let api_version = match value.get("group").and_then(Value::as_str) {
        Some(group) if !group.is_empty() => format!("{group}/{version}"),
        _ => version.to_string(),
    };
    Some((api_version, kind.to_string()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn indexes_types_by_every_gvk_of_a_definition() {
        let schema = CustomSchema::from_document(
            json!({"definitions": {
                "v1alpha1.MyCRD": {
                    "type": "object",
                    "x-kubernetes-group-version-kind": [
                        {"group": "example.com", "kind": "MyCRD", "version": "v1alpha1"},
                        {"group": "", "kind": "MyCRD", "version": "v1alpha1"},
                        {"kind": "NoVersion"}
                    ]
                },
                "Plain": {"type": "object"}
            }}),
            "schema.json",
        )
        .expect("valid");
        assert!(
            schema
                .definition_for_type("example.com/v1alpha1", "MyCRD")
                .is_some()
        );
        assert!(schema.definition_for_type("v1alpha1", "MyCRD").is_some());
        assert!(
            schema
                .definition_for_type("example.com/v1", "MyCRD")
                .is_none()
        );
        assert!(schema.definition("Plain").is_some());
        assert_eq!(schema.origin(), "schema.json");
    }

    #[test]
    fn namespace_scope_comes_from_get_paths() {
        let get = |kind: &str| {
            json!({"get": {"x-kubernetes-group-version-kind":
                {"group": "example.com", "version": "v1", "kind": kind}}})
        };
        let schema = CustomSchema::from_document(
            json!({
                "definitions": {},
                "paths": {
                    "/apis/example.com/v1/clusterthings": get("ClusterThing"),
                    "/apis/example.com/v1/things": get("Thing"),
                    "/apis/example.com/v1/namespaces/{namespace}/things": get("Thing"),
                    "x-extension": get("Other")
                }
            }),
            "schema.json",
        )
        .expect("valid");
        assert_eq!(
            schema.namespaced("example.com/v1", "ClusterThing"),
            Some(false)
        );
        assert_eq!(schema.namespaced("example.com/v1", "Thing"), Some(true));
        assert_eq!(schema.namespaced("example.com/v1", "Other"), None);
    }

    #[test]
    fn refuses_documents_kyaml_cannot_unmarshal() {
        for document in [
            json!([]),
            json!({"definitions": []}),
            json!({"definitions": {"A": "text"}}),
            json!({"paths": "nope"}),
        ] {
            assert!(CustomSchema::from_document(document, "s.json").is_err());
        }
        assert!(CustomSchema::from_document(json!({}), "s.json").is_ok());
    }
}
