//! Drift, decided over data: whether a live object still holds what the last apply wrote,
//! and which fields moved.
//!
//! The comparison is by value, not by field ownership: `kubectl scale` writes through the
//! scale subresource with an Update, which moves `spec.replicas` out of this controller's
//! managedFields entry, so managedFields alone cannot tell what changed. What an apply
//! would write is learnt from a server-side dry-run of the desired object (the I/O edge
//! does that); here the dry-run's result and the live object are compared after dropping
//! what changes on every write or belongs to other writers' bookkeeping.
//!
//! Must not: talk to the API server.

use std::hash::{Hash, Hasher};

use serde_json::Value;

/// Metadata fields that change on writes which are not drift: every write bumps
/// `resourceVersion` and `managedFields`, a spec change bumps `generation`.
const VOLATILE_METADATA: [&str; 4] = [
    "resourceVersion",
    "managedFields",
    "generation",
    "creationTimestamp",
];

/// How many changed paths a drift message names before it says "and N more".
const NAMED_PATHS: usize = 5;

/// `object` without what changes on writes that are not drift: `status` (other
/// controllers write it) and volatile metadata; and without `apiVersion` and `kind`, which
/// the object's identity already holds and which the items of a list (a watch's first
/// page) leave out. Two comparable forms are equal exactly when an apply of the same
/// desired object would leave the object as it is.
pub fn comparable(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        for field in ["status", "apiVersion", "kind"] {
            map.remove(field);
        }
        if let Some(metadata) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for field in VOLATILE_METADATA {
                metadata.remove(field);
            }
        }
    }
    object
}

/// A 64-bit digest of `object`'s comparable form, independent of key order: what is kept
/// per applied object instead of the object itself (a thousand Kustomizations of ten
/// objects would otherwise hold ten thousand object trees). Two objects with different
/// comparable forms get the same fingerprint with odds of about 2^-64, and the cost of that
/// is one change judged in sync without a dry-run.
pub type Fingerprint = u64;

pub fn fingerprint(object: &Value) -> Fingerprint {
    fingerprint_of_comparable(&comparable(object))
}

/// [`fingerprint`] of a form [`comparable`] already made.
pub fn fingerprint_of_comparable(comparable: &Value) -> Fingerprint {
    let mut hasher = std::hash::DefaultHasher::new();
    feed(comparable, &mut hasher);
    hasher.finish()
}

fn feed(value: &Value, hasher: &mut impl Hasher) {
    match value {
        Value::Null => 0_u8.hash(hasher),
        Value::Bool(flag) => (1_u8, flag).hash(hasher),
        Value::Number(number) => (2_u8, number.to_string()).hash(hasher),
        Value::String(text) => (3_u8, text).hash(hasher),
        Value::Array(items) => {
            (4_u8, items.len()).hash(hasher);
            for item in items {
                feed(item, hasher);
            }
        }
        Value::Object(map) => {
            (5_u8, map.len()).hash(hasher);
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            for key in keys {
                key.hash(hasher);
                feed(&map[key], hasher);
            }
        }
    }
}

/// The dotted paths at which `live` differs from `wanted` (both comparable forms), in
/// document order: `spec.replicas`, `metadata.labels.app`, `spec.template.spec.containers[0].image`.
pub fn changed_paths(live: &Value, wanted: &Value) -> Vec<String> {
    let mut paths = Vec::new();
    walk(live, wanted, &mut String::new(), &mut paths);
    paths
}

fn walk(live: &Value, wanted: &Value, path: &mut String, paths: &mut Vec<String>) {
    match (live, wanted) {
        (Value::Object(live), Value::Object(wanted)) => {
            let mut keys: Vec<&String> = wanted.keys().collect();
            keys.extend(live.keys().filter(|key| !wanted.contains_key(*key)));
            for key in keys {
                let length = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                match (live.get(key), wanted.get(key)) {
                    (Some(live), Some(wanted)) => walk(live, wanted, path, paths),
                    _ => paths.push(path.clone()),
                }
                path.truncate(length);
            }
        }
        (Value::Array(live), Value::Array(wanted)) if live.len() == wanted.len() => {
            for (index, (live, wanted)) in live.iter().zip(wanted).enumerate() {
                let length = path.len();
                path.push_str(&format!("[{index}]"));
                walk(live, wanted, path, paths);
                path.truncate(length);
            }
        }
        (live, wanted) if live != wanted => paths.push(path.clone()),
        _ => {}
    }
}

/// `paths` for a message: the first few, then how many more.
pub fn describe_paths(paths: &[String]) -> String {
    let named: Vec<&str> = paths.iter().take(NAMED_PATHS).map(String::as_str).collect();
    let mut text = named.join(", ");
    if paths.len() > NAMED_PATHS {
        text.push_str(&format!(" and {} more", paths.len() - NAMED_PATHS));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(replicas: u64, resource_version: &str) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "my-app",
                "namespace": "default",
                "resourceVersion": resource_version,
                "generation": replicas,
                "managedFields": [{"manager": resource_version}],
                "labels": {"app": "my-app"},
            },
            "spec": {
                "replicas": replicas,
                "template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.21.6"}]}},
            },
            "status": {"readyReplicas": replicas},
        })
    }

    #[test]
    fn writes_that_only_touch_bookkeeping_compare_equal() {
        let mut later = deployment(5, "2");
        later["status"]["readyReplicas"] = json!(0);
        assert_eq!(comparable(&deployment(5, "1")), comparable(&later));
        assert_eq!(fingerprint(&deployment(5, "1")), fingerprint(&later));
    }

    #[test]
    fn fingerprints_ignore_key_order_and_see_every_value() {
        let one: Value =
            serde_json::from_str(r#"{"data": {"a": "1", "b": "2"}}"#).unwrap_or_default();
        let other: Value =
            serde_json::from_str(r#"{"data": {"b": "2", "a": "1"}}"#).unwrap_or_default();
        assert_eq!(fingerprint(&one), fingerprint(&other));
        for changed in [
            json!({"data": {"a": "1", "b": "3"}}),
            json!({"data": {"a": "1"}}),
            json!({"data": {"a": "1", "b": 2}}),
            json!({"data": {"a": "1", "b": ["2"]}}),
        ] {
            assert_ne!(fingerprint(&one), fingerprint(&changed), "{changed}");
        }
        assert_ne!(
            fingerprint(&deployment(5, "1")),
            fingerprint(&deployment(10, "1"))
        );
    }

    #[test]
    fn a_scaled_deployment_differs_at_its_replicas() {
        let mut listed = deployment(10, "3");
        listed.as_object_mut().map(|map| map.remove("kind"));
        let live = comparable(&listed);
        let wanted = comparable(&deployment(5, "4"));
        assert_ne!(live, wanted);
        assert_eq!(changed_paths(&live, &wanted), ["spec.replicas"]);
    }

    #[test]
    fn added_removed_and_nested_fields_are_named_by_path() {
        let wanted = comparable(&deployment(5, "1"));
        let mut live = wanted.clone();
        live["metadata"]["labels"]
            .as_object_mut()
            .map(|labels| labels.remove("app"));
        live["metadata"]["labels"]["team"] = json!("x");
        live["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:latest");
        assert_eq!(
            changed_paths(&live, &wanted),
            [
                "metadata.labels.app",
                "metadata.labels.team",
                "spec.template.spec.containers[0].image",
            ]
        );
    }

    #[test]
    fn lists_of_another_length_differ_as_a_whole() {
        let wanted = json!({"spec": {"ports": [1, 2]}});
        let live = json!({"spec": {"ports": [1]}});
        assert_eq!(changed_paths(&live, &wanted), ["spec.ports"]);
    }

    #[test]
    fn long_lists_of_paths_are_shortened() {
        let paths: Vec<String> = (0..7).map(|index| format!("data.k{index}")).collect();
        assert_eq!(
            describe_paths(&paths),
            "data.k0, data.k1, data.k2, data.k3, data.k4 and 2 more"
        );
        assert_eq!(describe_paths(&paths[..1]), "data.k0");
    }
}
