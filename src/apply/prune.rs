//! The inventory a reconcile leaves, what prune may delete, and which objects the
//! `kustomize.toolkit.fluxcd.io/*` labels and annotations put out of reach.
//!
//! The previous inventory is the only truth for prune: an object is deleted only if the
//! last successful reconcile recorded it and this one no longer renders it.

use serde_json::Value;

use super::desired::Desired;
use super::order::apply_order;
use crate::api::inventory::{ObjectId, ResourceInventory, ResourceRef};

/// The label naming the Kustomization that applied an object.
pub const OWNER_NAME: &str = "kustomize.toolkit.fluxcd.io/name";
/// The label naming that Kustomization's namespace.
pub const OWNER_NAMESPACE: &str = "kustomize.toolkit.fluxcd.io/namespace";
const RECONCILE: &str = "kustomize.toolkit.fluxcd.io/reconcile";
pub(super) const SSA: &str = "kustomize.toolkit.fluxcd.io/ssa";
const PRUNE: &str = "kustomize.toolkit.fluxcd.io/prune";
const FORCE: &str = "kustomize.toolkit.fluxcd.io/force";

/// How an object limits what the controller does to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclusion {
    /// Applied and pruned as usual.
    None,
    /// `reconcile: disabled` or `ssa: Ignore`: never applied, never pruned.
    Ignore,
    /// `ssa: IfNotPresent`: created when absent, never changed.
    IfNotPresent,
}

/// The value of `key` as a label or an annotation (Flux accepts either).
fn marker<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    ["labels", "annotations"].iter().find_map(|field| {
        object
            .pointer(&format!("/metadata/{field}"))
            .and_then(|map| map.get(key))
            .and_then(Value::as_str)
    })
}

/// Whether `object` carries `key` with `value` (case-insensitive) as a label or annotation.
pub(super) fn marked(object: &Value, key: &str, value: &str) -> bool {
    marker(object, key).is_some_and(|found| found.eq_ignore_ascii_case(value))
}

/// What the markers on `object` (desired or live) allow.
pub fn exclusion(object: &Value) -> Exclusion {
    if marked(object, RECONCILE, "disabled") || marked(object, SSA, "Ignore") {
        Exclusion::Ignore
    } else if marked(object, SSA, "IfNotPresent") {
        Exclusion::IfNotPresent
    } else {
        Exclusion::None
    }
}

/// Whether an object (desired or live) asks to be recreated when an immutable field changes.
pub fn force_enabled(object: &Value) -> bool {
    marked(object, FORCE, "enabled")
}

/// Whether a live object asks never to be pruned.
pub fn prune_disabled(object: &Value) -> bool {
    marked(object, PRUNE, "disabled") || exclusion(object) == Exclusion::Ignore
}

/// Whether a live object still carries both ownership labels of this Kustomization (an
/// object another Kustomization took over is not ours to delete).
pub fn is_owned_by(object: &Value, name: &str, namespace: &str) -> bool {
    let label = |key: &str| {
        object
            .pointer("/metadata/labels")
            .and_then(|labels| labels.get(key))
            .and_then(Value::as_str)
    };
    label(OWNER_NAME) == Some(name) && label(OWNER_NAMESPACE) == Some(namespace)
}

/// The inventory recording `objects`, in apply order.
pub fn inventory_of(objects: &[Desired]) -> ResourceInventory {
    let mut ids: Vec<&Desired> = objects.iter().collect();
    ids.sort_by(|a, b| apply_order(&a.id, &b.id));
    ResourceInventory {
        entries: ids
            .into_iter()
            .map(|object| ResourceRef {
                id: object.id.to_string(),
                version: object.api_version.clone(),
            })
            .collect(),
    }
}

/// The entries of `previous` that `current` no longer holds (compared without the version),
/// each with the version it was applied with, in deletion order: the reverse of the apply
/// order. Entries whose id does not parse are returned apart: they cannot be deleted, and
/// the caller says so.
pub fn stale(
    previous: &ResourceInventory,
    current: &ResourceInventory,
) -> (Vec<(ObjectId, String)>, Vec<String>) {
    let kept: std::collections::HashSet<ObjectId> = current
        .entries
        .iter()
        .filter_map(|entry| ObjectId::parse(&entry.id).ok())
        .collect();
    let mut gone = Vec::new();
    let mut invalid = Vec::new();
    for entry in &previous.entries {
        match ObjectId::parse(&entry.id) {
            Ok(id) if !kept.contains(&id) => gone.push((id, entry.version.clone())),
            Ok(_) => {}
            Err(_) => invalid.push(entry.id.clone()),
        }
    }
    gone.sort_by(|(a, _), (b, _)| apply_order(b, a));
    gone.dedup_by(|(a, _), (b, _)| a == b);
    (gone, invalid)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::apply::validate;
    use serde_json::json;

    fn inventory(entries: &[(&str, &str)]) -> ResourceInventory {
        ResourceInventory {
            entries: entries
                .iter()
                .map(|(id, version)| ResourceRef {
                    id: id.to_string(),
                    version: version.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_inventory_lists_objects_in_apply_order_with_their_api_version() {
        let objects = validate(vec![
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
        ])
        .unwrap();
        assert_eq!(
            inventory_of(&objects),
            inventory(&[
                ("_shop__Namespace", "v1"),
                ("shop_web_apps_Deployment", "apps/v1")
            ])
        );
    }

    #[test]
    fn stale_is_previous_minus_current_in_reverse_apply_order() {
        let previous = inventory(&[
            ("_shop__Namespace", "v1"),
            ("shop_settings__ConfigMap", "v1"),
            ("shop_web_apps_Deployment", "apps/v1"),
            ("shop_keep__Service", "v1"),
            ("not-an-id", "v1"),
        ]);
        // A version change is not a removal.
        let current = inventory(&[("shop_keep__Service", "v2")]);
        let (gone, invalid) = stale(&previous, &current);
        let gone: Vec<String> = gone
            .iter()
            .map(|(id, version)| format!("{id}@{version}"))
            .collect();
        assert_eq!(
            gone,
            vec![
                "shop_web_apps_Deployment@apps/v1",
                "shop_settings__ConfigMap@v1",
                "_shop__Namespace@v1",
            ]
        );
        assert_eq!(invalid, vec!["not-an-id".to_string()]);
        assert!(stale(&previous, &previous).0.is_empty());
    }

    #[test]
    fn markers_are_read_from_labels_or_annotations_case_insensitively() {
        let with = |field: &str, key: &str, value: &str| json!({"metadata": {field: {key: value}}});
        assert_eq!(exclusion(&json!({"metadata": {}})), Exclusion::None);
        assert_eq!(
            exclusion(&with("labels", RECONCILE, "Disabled")),
            Exclusion::Ignore
        );
        assert_eq!(
            exclusion(&with("annotations", SSA, "ignore")),
            Exclusion::Ignore
        );
        assert_eq!(
            exclusion(&with("annotations", SSA, "IfNotPresent")),
            Exclusion::IfNotPresent
        );
        assert_eq!(
            exclusion(&with("annotations", SSA, "Merge")),
            Exclusion::None
        );
        assert!(prune_disabled(&with("annotations", PRUNE, "disabled")));
        assert!(prune_disabled(&with("labels", SSA, "Ignore")));
        assert!(!prune_disabled(&with("labels", PRUNE, "enabled")));
        assert!(force_enabled(&with("annotations", FORCE, "Enabled")));
        assert!(!force_enabled(&with("annotations", FORCE, "disabled")));
    }

    #[test]
    fn ownership_needs_both_labels() {
        let object = |labels: Value| json!({"metadata": {"labels": labels}});
        assert!(is_owned_by(
            &object(json!({OWNER_NAME: "apps", OWNER_NAMESPACE: "flux-system"})),
            "apps",
            "flux-system"
        ));
        assert!(!is_owned_by(
            &object(json!({OWNER_NAME: "apps", OWNER_NAMESPACE: "other"})),
            "apps",
            "flux-system"
        ));
        assert!(!is_owned_by(
            &object(json!({OWNER_NAME: "apps"})),
            "apps",
            "flux-system"
        ));
        assert!(!is_owned_by(
            &json!({"metadata": {}}),
            "apps",
            "flux-system"
        ));
    }
}
