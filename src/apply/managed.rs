//! Taking over what `kubectl` wrote, as kustomize-controller does before each apply: the
//! managedFields entries of kubectl (and of pre-SSA Flux) are folded into this
//! controller's Apply entry, so that a field a user added by hand and Git does not hold is
//! removed by the next apply instead of being kept forever under kubectl's name.
//!
//! Entries of subresources (`kubectl scale` writes through `/scale`) are left alone; a
//! forced apply takes back the fields Git sets anyway. Objects marked
//! `kustomize.toolkit.fluxcd.io/ssa: Merge` keep every manager's fields.

use serde_json::{Map, Value, json};

use super::prune::{SSA, marked};

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
const LEGACY_ANNOTATIONS: [&str; 2] = [
    "kustomize.toolkit.fluxcd.io/checksum",
    "fluxcd.io/sync-checksum",
];
const LEGACY_LABEL: &str = "fluxcd.io/sync-gc-mark";

/// Whether this managedFields entry is one to take over. `overrides` are further
/// managers (`--override-manager`), taken over by prefix for both operations.
fn is_taken_over(entry: &Value, overrides: &[String]) -> bool {
    let text = |key: &str| entry.get(key).and_then(Value::as_str).unwrap_or_default();
    if !text("subresource").is_empty() {
        return false;
    }
    let manager = text("manager");
    let operation = text("operation");
    let any_operation = operation == "Apply" || operation == "Update";
    (manager.starts_with("kubectl") && any_operation)
        || (operation == "Update"
            && (manager.starts_with("before-first-apply")
                || manager.starts_with("kustomize-controller")))
        || (any_operation
            && overrides
                .iter()
                .any(|name| manager.starts_with(name.as_str())))
}

/// Merges the field set `from` into `into` (both FieldsV1 trees).
fn merge_fields(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(into), Value::Object(from)) => {
            for (key, value) in from {
                match into.get_mut(key) {
                    Some(existing) => merge_fields(existing, value),
                    None => {
                        into.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (into, from) if into.is_null() => *into = from.clone(),
        _ => {}
    }
}

fn merge_marked(object: &Value) -> bool {
    marked(object, SSA, "Merge")
}

/// The JSON patch that hands `live`'s kubectl-managed fields to `field_manager` and drops
/// kubectl's and legacy Flux's bookkeeping metadata; `None` when there is nothing to do.
pub fn take_over_patch(
    live: &Value,
    desired: &Value,
    field_manager: &str,
    api_version: &str,
    overrides: &[String],
) -> Option<Value> {
    if merge_marked(live) || merge_marked(desired) {
        return None;
    }
    let mut operations = Vec::new();
    let entries = live
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let is_taken_over = |entry: &Value| is_taken_over(entry, overrides);
    if entries.iter().any(is_taken_over) {
        let is_ours = |entry: &Value| {
            entry.get("manager").and_then(Value::as_str) == Some(field_manager)
                && entry.get("operation").and_then(Value::as_str) == Some("Apply")
                && entry
                    .get("subresource")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .is_empty()
        };
        let mut ours = entries
            .iter()
            .find(|entry| is_ours(entry))
            .cloned()
            .unwrap_or_else(|| {
                json!({
                    "manager": field_manager,
                    "operation": "Apply",
                    "apiVersion": api_version,
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {},
                })
            });
        let mut fields = ours
            .get("fieldsV1")
            .cloned()
            .unwrap_or(Value::Object(Map::new()));
        let mut kept = Vec::new();
        for entry in &entries {
            if is_taken_over(entry) {
                if let Some(taken) = entry.get("fieldsV1") {
                    merge_fields(&mut fields, taken);
                }
            } else if !is_ours(entry) {
                kept.push(entry.clone());
            }
        }
        if let Value::Object(map) = &mut ours {
            map.insert("fieldsV1".into(), fields);
        }
        kept.push(ours);
        operations.push(json!({"op": "replace", "path": "/metadata/managedFields", "value": kept}));
    }
    let present = |field: &str, key: &str| {
        live.pointer(&format!("/metadata/{field}"))
            .and_then(|map| map.get(key))
            .is_some()
    };
    for key in std::iter::once(LAST_APPLIED).chain(LEGACY_ANNOTATIONS) {
        if present("annotations", key) {
            operations.push(json!({"op": "remove",
                "path": format!("/metadata/annotations/{}", key.replace('~', "~0").replace('/', "~1"))}));
        }
    }
    if present("labels", LEGACY_LABEL) {
        operations.push(json!({"op": "remove",
            "path": format!("/metadata/labels/{}", LEGACY_LABEL.replace('/', "~1"))}));
    }
    (!operations.is_empty()).then_some(Value::Array(operations))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn entry(manager: &str, operation: &str, fields: Value) -> Value {
        json!({"manager": manager, "operation": operation, "apiVersion": "v1",
               "fieldsType": "FieldsV1", "fieldsV1": fields})
    }

    #[test]
    fn kubectl_fields_are_folded_into_our_apply_entry() {
        let live = json!({"metadata": {
            "annotations": {LAST_APPLIED: "{}", "keep": "me"},
            "managedFields": [
                entry("driftless", "Apply", json!({"f:data": {"f:a": {}}})),
                entry("kubectl-client-side-apply", "Update", json!({"f:data": {"f:extra": {}}, "f:metadata": {"f:annotations": {}}})),
                entry("kube-controller-manager", "Update", json!({"f:status": {}})),
                {"manager": "kubectl", "operation": "Update", "subresource": "scale",
                 "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            ],
        }});
        let patch = take_over_patch(&live, &json!({}), "driftless", "v1", &[]).unwrap();
        assert_eq!(
            patch,
            json!([
                {"op": "replace", "path": "/metadata/managedFields", "value": [
                    entry("kube-controller-manager", "Update", json!({"f:status": {}})),
                    {"manager": "kubectl", "operation": "Update", "subresource": "scale",
                     "fieldsV1": {"f:spec": {"f:replicas": {}}}},
                    entry("driftless", "Apply", json!({
                        "f:data": {"f:a": {}, "f:extra": {}},
                        "f:metadata": {"f:annotations": {}},
                    })),
                ]},
                {"op": "remove", "path": "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration"},
            ])
        );
    }

    #[test]
    fn an_object_kubectl_created_gets_an_apply_entry_of_ours() {
        let live = json!({"metadata": {"managedFields": [
            entry("kubectl-create", "Update", json!({"f:data": {"f:a": {}}})),
        ]}});
        let patch = take_over_patch(&live, &json!({}), "driftless", "apps/v1", &[]).unwrap();
        assert_eq!(
            patch[0]["value"],
            json!([{"manager": "driftless", "operation": "Apply", "apiVersion": "apps/v1",
                    "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:a": {}}}}])
        );
    }

    #[test]
    fn nothing_to_do_or_merge_requested() {
        let ours = json!({"metadata": {"managedFields": [
            entry("driftless", "Apply", json!({"f:data": {}})),
            entry("other-tool", "Update", json!({"f:data": {"f:b": {}}})),
        ]}});
        assert_eq!(
            take_over_patch(&ours, &json!({}), "driftless", "v1", &[]),
            None
        );
        // Named with --override-manager, another tool's fields are taken over too.
        let overridden =
            take_over_patch(&ours, &json!({}), "driftless", "v1", &["other".to_string()]).unwrap();
        assert_eq!(
            overridden[0]["value"],
            json!([entry("driftless", "Apply", json!({"f:data": {"f:b": {}}}))])
        );
        let kubectl = json!({"metadata": {
            "annotations": {SSA: "merge"},
            "managedFields": [entry("kubectl-edit", "Update", json!({"f:data": {}}))],
        }});
        assert_eq!(
            take_over_patch(&kubectl, &json!({}), "driftless", "v1", &[]),
            None
        );
    }
}
