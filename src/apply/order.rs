//! Staging and kind order, as fluxcd/pkg `ssa` `ApplyAllStaged` does it: definitions the
//! rest depends on go first and are waited for, then `*Class` kinds, then everything else;
//! within a stage a fixed kind order, then group and kind, then namespace and name. Prune
//! deletes in the reverse of this order.

use std::cmp::Ordering;

use super::desired::Desired;
use crate::api::inventory::ObjectId;

/// The stages of an apply, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// CRDs, Namespaces and ClusterRoles: what other objects need to exist to be accepted.
    /// Applied and waited for (CRDs until Established).
    Definitions,
    /// Kinds named `*Class` (StorageClass, IngressClass, ...).
    Classes,
    /// Everything else.
    Resources,
}

/// Kinds in the order Flux applies them; other kinds follow, sorted by group and kind.
const KIND_ORDER: [&str; 23] = [
    "CustomResourceDefinition",
    "Namespace",
    "ClusterRole",
    "ClusterClass",
    "RuntimeClass",
    "PriorityClass",
    "StorageClass",
    "VolumeSnapshotClass",
    "IngressClass",
    "GatewayClass",
    "ClusterRoleBinding",
    "ResourceQuota",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ConfigMap",
    "Secret",
    "Service",
    "LimitRange",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// Kinds applied after all others: a webhook written early could reject the objects that
/// follow it (its own Service and Deployment included).
const LAST_KINDS: [&str; 2] = [
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// The stage `id` is applied in.
pub fn stage_of(id: &ObjectId) -> Stage {
    match id.kind.as_str() {
        "CustomResourceDefinition" if id.group == "apiextensions.k8s.io" => Stage::Definitions,
        "Namespace" if id.group.is_empty() => Stage::Definitions,
        "ClusterRole" if id.group == "rbac.authorization.k8s.io" => Stage::Definitions,
        kind if kind.ends_with("Class") => Stage::Classes,
        _ => Stage::Resources,
    }
}

fn kind_rank(kind: &str) -> usize {
    if let Some(last) = LAST_KINDS.iter().position(|known| *known == kind) {
        return KIND_ORDER.len() + 1 + last;
    }
    KIND_ORDER
        .iter()
        .position(|known| *known == kind)
        .unwrap_or(KIND_ORDER.len())
}

/// The apply order of two objects (stage first).
pub fn apply_order(a: &ObjectId, b: &ObjectId) -> Ordering {
    let key = |id: &ObjectId| {
        let rank = kind_rank(&id.kind);
        // Only kinds outside the fixed list are ordered by group first.
        let group = if rank == KIND_ORDER.len() {
            id.group.clone()
        } else {
            String::new()
        };
        (stage_of(id), rank, group, id.kind.clone())
    };
    key(a)
        .cmp(&key(b))
        .then_with(|| a.namespace.cmp(&b.namespace))
        .then_with(|| a.name.cmp(&b.name))
}

/// Splits the objects into their stages, in order, each sorted; empty stages are left out.
pub fn plan(mut objects: Vec<Desired>) -> Vec<(Stage, Vec<Desired>)> {
    objects.sort_by(|a, b| apply_order(&a.id, &b.id));
    let mut stages: Vec<(Stage, Vec<Desired>)> = Vec::new();
    for object in objects {
        let stage = stage_of(&object.id);
        match stages.last_mut() {
            Some((current, members)) if *current == stage => members.push(object),
            _ => stages.push((stage, vec![object])),
        }
    }
    stages
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::apply::validate;
    use serde_json::json;

    fn object(api_version: &str, kind: &str, namespace: &str, name: &str) -> serde_json::Value {
        json!({"apiVersion": api_version, "kind": kind,
               "metadata": {"name": name, "namespace": namespace}})
    }

    #[test]
    fn stages_and_kind_order_follow_flux() {
        let objects = validate(vec![
            object(
                "admissionregistration.k8s.io/v1",
                "ValidatingWebhookConfiguration",
                "",
                "check",
            ),
            object("apps/v1", "Deployment", "shop", "web"),
            object("example.com/v1", "CronTab", "shop", "tab"),
            object("v1", "ConfigMap", "shop", "b"),
            object("v1", "ConfigMap", "shop", "a"),
            object("networking.k8s.io/v1", "IngressClass", "", "nginx"),
            object("v1", "Namespace", "", "shop"),
            object(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                "",
                "crontabs.example.com",
            ),
            object("v1", "ServiceAccount", "shop", "runner"),
            object("rbac.authorization.k8s.io/v1", "ClusterRole", "", "reader"),
            object("batch/v1", "Job", "shop", "once"),
        ])
        .unwrap();
        let stages: Vec<(Stage, Vec<String>)> = plan(objects)
            .into_iter()
            .map(|(stage, members)| (stage, members.iter().map(Desired::subject).collect()))
            .collect();
        assert_eq!(
            stages,
            vec![
                (
                    Stage::Definitions,
                    vec![
                        "CustomResourceDefinition/crontabs.example.com".to_string(),
                        "Namespace/shop".into(),
                        "ClusterRole/reader".into(),
                    ]
                ),
                (Stage::Classes, vec!["IngressClass/nginx".to_string()]),
                (
                    Stage::Resources,
                    vec![
                        "ServiceAccount/shop/runner".to_string(),
                        "ConfigMap/shop/a".into(),
                        "ConfigMap/shop/b".into(),
                        "Deployment/shop/web".into(),
                        "Job/shop/once".into(),
                        "CronTab/shop/tab".into(),
                        "ValidatingWebhookConfiguration/check".into(),
                    ]
                ),
            ]
        );
    }

    #[test]
    fn an_empty_build_has_no_stages() {
        assert!(plan(Vec::new()).is_empty());
    }
}
