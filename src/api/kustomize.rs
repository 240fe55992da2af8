//! The kustomize-facing pieces of the Kustomization spec, as `fluxcd/pkg/apis/kustomize`
//! defines them: patches and their target selectors, image overrides, and CEL health checks.
//!
//! Plain data; turning these into a `kustomization.yaml` is the renderer's job.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize};

/// Schema of a field that takes any JSON value, kept as written.
pub(crate) fn any_json_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "x-kubernetes-preserve-unknown-fields": true })
}

/// Schema of a list of arbitrary JSON values, each kept as written.
pub(crate) fn any_json_list_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": { "x-kubernetes-preserve-unknown-fields": true }
    })
}

/// Reads a present field as `Some`, even when its value is JSON `null`.
///
/// A JSON6902 `value: null` means "set to null", which `Option` would otherwise read as absent.
fn present<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(deserializer).map(Some)
}

/// An image override: the image (without tag) to match, and its new name, tag or digest.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    /// Image name without a tag, as it appears in the manifests.
    pub name: String,
    /// Replacement image name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_name: Option<String>,
    /// Replacement tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_tag: Option<String>,
    /// Replacement digest; when set, newTag is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// Selects the resources a patch applies to; a resource must match every field set.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Selector {
    /// API group of the resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// API version of the resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Kind of the resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Namespace of the resources (a regular expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name of the resources (a regular expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Label selector expression matched against the resources' annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation_selector: Option<String>,
    /// Label selector expression matched against the resources' labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
}

/// An inline strategic-merge or JSON6902 patch and the resources it targets.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Patch {
    /// The patch: a strategic-merge document or a JSON6902 operation list, as YAML or JSON.
    pub patch: String,
    /// Resources the patch applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Selector>,
}

/// A JSON6902 (RFC 6902) operation name.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[schemars(description = "")]
pub enum Json6902Op {
    /// Fail unless the value at `path` equals `value`.
    #[serde(rename = "test")]
    Test,
    /// Remove the value at `path`.
    #[serde(rename = "remove")]
    Remove,
    /// Add `value` at `path`.
    #[serde(rename = "add")]
    Add,
    /// Replace the value at `path` with `value`.
    #[serde(rename = "replace")]
    Replace,
    /// Move the value at `from` to `path`.
    #[serde(rename = "move")]
    Move,
    /// Copy the value at `from` to `path`.
    #[serde(rename = "copy")]
    Copy,
}

/// One JSON6902 operation.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Json6902 {
    /// The operation.
    pub op: Json6902Op,
    /// JSON pointer to the location the operation acts on.
    pub path: String,
    /// JSON pointer to the source location, for move and copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The value, for add, replace and test (any JSON value, null included).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "any_json_schema")]
    pub value: Option<serde_json::Value>,
}

/// A JSON6902 patch and the resources it targets (Kustomization v1beta2 `patchesJson6902`).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Json6902Patch {
    /// The operations, in order.
    pub patch: Vec<Json6902>,
    /// Resources the patch applies to.
    pub target: Selector,
}

/// CEL expressions that compute the health of a custom resource kind.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CustomHealthCheck {
    /// API version of the resources; only its group is matched.
    pub api_version: String,
    /// Kind of the resources.
    pub kind: String,
    /// CEL expression true when the resource has reached its desired state.
    pub current: String,
    /// CEL expression true while the resource is still progressing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_progress: Option<String>,
    /// CEL expression true when the resource has failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}
