//! Output order: kustomize's legacy kind order (the default) or FIFO, as the top
//! kustomization's `sortOptions` say.

use std::cmp::Ordering;

use super::kustomization::SortOptions;
use super::resource::{ResId, Resource};

const ORDER_FIRST: [&str; 22] = [
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

const ORDER_LAST: [&str; 2] = [
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// How to order the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Order {
    Fifo,
    Legacy {
        first: Vec<String>,
        last: Vec<String>,
    },
}

/// Why `sortOptions` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SortError {
    #[error(
        "the field 'sortOptions.legacySortOptions' is set but 'sortOptions.order' is not 'legacy'"
    )]
    LegacyOptionsWithFifo,
    #[error("the field 'sortOptions.order' must be one of [legacy, fifo], not '{0}'")]
    UnknownOrder(String),
}

impl Order {
    /// The order the top kustomization's `sortOptions` ask for (legacy by default).
    pub fn from_options(options: Option<&SortOptions>) -> Result<Self, SortError> {
        let default = || Order::Legacy {
            first: ORDER_FIRST.iter().map(|kind| kind.to_string()).collect(),
            last: ORDER_LAST.iter().map(|kind| kind.to_string()).collect(),
        };
        let Some(options) = options else {
            return Ok(default());
        };
        match options.order.as_str() {
            "fifo" if options.legacy_sort_options.is_some() => {
                Err(SortError::LegacyOptionsWithFifo)
            }
            "fifo" => Ok(Order::Fifo),
            "legacy" => match &options.legacy_sort_options {
                Some(legacy) => Ok(Order::Legacy {
                    first: legacy.order_first.clone(),
                    last: legacy.order_last.clone(),
                }),
                None => Ok(default()),
            },
            other => Err(SortError::UnknownOrder(other.to_string())),
        }
    }
}

/// Sorts `resources` in place.
pub fn sort(resources: &mut [Resource], order: &Order) {
    let Order::Legacy { first, last } = order else {
        return;
    };
    let rank = |kind: &str| -> i64 {
        if let Some(index) = first.iter().position(|candidate| candidate == kind) {
            index as i64 - first.len() as i64
        } else if let Some(index) = last.iter().position(|candidate| candidate == kind) {
            1 + index as i64
        } else {
            0
        }
    };
    // Each key is worked out once per resource, not once per comparison: on a large
    // overlay the comparisons would otherwise dominate the whole build.
    resources.sort_by_cached_key(|resource| SortKey::new(resource.id(), &rank));
}

/// What [`compare`] needs of one resource, precomputed.
struct SortKey {
    id: ResId,
    rank: i64,
    gvk: String,
    within_gvk: String,
}

impl SortKey {
    fn new(id: ResId, rank: &dyn Fn(&str) -> i64) -> Self {
        let gvk = gvk_string(&id);
        let namespace = if id.namespace.is_empty() {
            "~X"
        } else {
            &id.namespace
        };
        let name = if id.name.is_empty() { "~N" } else { &id.name };
        Self {
            rank: rank(&id.kind),
            within_gvk: format!("{gvk}|{namespace}|{name}"),
            gvk,
            id,
        }
    }
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> Ordering {
        compare(self, other)
    }
}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SortKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SortKey {}

/// kyaml's `Gvk.IsLessThan`: the fixed kind order first (not `sortOptions`), then the
/// `group_version_kind` text. kustomize sorts field-spec lists with it.
pub fn gvk_is_less(a: &ResId, b: &ResId) -> bool {
    let rank = |kind: &str| -> i64 {
        if let Some(index) = ORDER_FIRST.iter().position(|candidate| *candidate == kind) {
            index as i64 - ORDER_FIRST.len() as i64
        } else if let Some(index) = ORDER_LAST.iter().position(|candidate| *candidate == kind) {
            1 + index as i64
        } else {
            0
        }
    };
    let (rank_a, rank_b) = (rank(&a.kind), rank(&b.kind));
    if rank_a != rank_b {
        return rank_a < rank_b;
    }
    gvk_string(a) < gvk_string(b)
}

fn gvk_string(id: &ResId) -> String {
    let or = |value: &str, placeholder: &str| {
        if value.is_empty() {
            placeholder.to_string()
        } else {
            value.to_string()
        }
    };
    format!(
        "{}_{}_{}",
        or(&id.group, "~G"),
        or(&id.version, "~V"),
        or(&id.kind, "~K")
    )
}

fn compare(a: &SortKey, b: &SortKey) -> Ordering {
    if !a.id.same_gvk(&b.id) {
        if a.rank != b.rank {
            return a.rank.cmp(&b.rank);
        }
        let ordering = a.gvk.cmp(&b.gvk);
        // kustomize's Gvk.IsLessThan reverses the comparison for two Namespaces when either
        // is in the core group.
        if a.id.kind == "Namespace"
            && b.id.kind == "Namespace"
            && (a.id.group.is_empty() || b.id.group.is_empty())
        {
            return ordering.reverse();
        }
        return ordering;
    }
    a.within_gvk.cmp(&b.within_gvk)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resource(api_version: &str, kind: &str, name: &str, namespace: &str) -> Resource {
        let mut object =
            json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}});
        if !namespace.is_empty() {
            object["metadata"]["namespace"] = json!(namespace);
        }
        Resource::new(object, None)
    }

    #[test]
    fn legacy_order_ranks_kinds_then_groups_then_names() {
        let mut resources = vec![
            resource(
                "admissionregistration.k8s.io/v1",
                "ValidatingWebhookConfiguration",
                "hook",
                "",
            ),
            resource("v1", "Pod", "pod", ""),
            resource("networking.k8s.io/v1", "Ingress", "web", ""),
            resource("apps/v1", "Deployment", "web", ""),
            resource("v1", "ConfigMap", "app-one", ""),
            resource("v1", "ConfigMap", "app-two", "other"),
            resource("example.com/v1", "ClusterThing", "t", ""),
            resource("v1", "Namespace", "ns", ""),
        ];
        sort(&mut resources, &Order::from_options(None).expect("order"));
        let names: Vec<String> = resources
            .iter()
            .map(|r| format!("{}/{}", r.kind(), r.name()))
            .collect();
        assert_eq!(
            names,
            vec![
                "Namespace/ns",
                "ConfigMap/app-two",
                "ConfigMap/app-one",
                "Deployment/web",
                "ClusterThing/t",
                "Ingress/web",
                "Pod/pod",
                "ValidatingWebhookConfiguration/hook",
            ]
        );
    }

    #[test]
    fn custom_legacy_lists_replace_the_defaults_and_fifo_keeps_order() {
        let options = SortOptions {
            order: "legacy".into(),
            legacy_sort_options: Some(super::super::kustomization::LegacySortOptions {
                order_first: vec!["Deployment".into()],
                order_last: vec!["Service".into()],
            }),
        };
        let mut resources = vec![
            resource("v1", "Service", "s", ""),
            resource("v1", "ConfigMap", "c", ""),
            resource("apps/v1", "Deployment", "d", ""),
        ];
        sort(
            &mut resources,
            &Order::from_options(Some(&options)).expect("order"),
        );
        let kinds: Vec<&str> = resources.iter().map(Resource::kind).collect();
        assert_eq!(kinds, vec!["Deployment", "ConfigMap", "Service"]);

        let fifo = SortOptions {
            order: "fifo".into(),
            legacy_sort_options: None,
        };
        let mut unchanged = vec![
            resource("v1", "Service", "s", ""),
            resource("v1", "Namespace", "n", ""),
        ];
        sort(
            &mut unchanged,
            &Order::from_options(Some(&fifo)).expect("order"),
        );
        assert_eq!(unchanged[0].kind(), "Service");
    }
}
