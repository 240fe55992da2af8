//! A rendered object ready to be applied: validated, identified, normalised.

use serde_json::Value;

use crate::api::inventory::ObjectId;
use crate::render::resource::split_api_version;

/// One object to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub id: ObjectId,
    /// `apps/v1`, `v1`: what the inventory records as `v`.
    pub api_version: String,
    pub object: Value,
}

impl Desired {
    /// `Kind/namespace/name`, or `Kind/name` for cluster-scoped objects: how Flux names an
    /// object in events and messages.
    pub fn subject(&self) -> String {
        subject(&self.id)
    }

    /// The version part of the apiVersion.
    pub fn version(&self) -> &str {
        split_api_version(&self.api_version).1
    }
}

/// How Flux names `id` in messages.
pub fn subject(id: &ObjectId) -> String {
    if id.namespace.is_empty() {
        format!("{}/{}", id.kind, id.name)
    } else {
        format!("{}/{}/{}", id.kind, id.namespace, id.name)
    }
}

/// A rendered object that cannot be applied.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ValidationError {
    #[error("object {index} of the build ({object}) has no {field}")]
    Incomplete {
        index: usize,
        object: String,
        field: &'static str,
    },
    #[error(
        "{object} is SOPS-encrypted (it has a top-level 'sops' key) and driftless cannot decrypt it; applying it would write ciphertext"
    )]
    Encrypted { object: String },
}

/// Checks every rendered object and turns it into a [`Desired`], in render order,
/// normalised as [`normalise`] says.
pub fn validate(objects: Vec<Value>) -> Result<Vec<Desired>, ValidationError> {
    objects
        .into_iter()
        .enumerate()
        .map(|(index, mut object)| {
            let text = |pointer: &str| {
                object
                    .pointer(pointer)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let api_version = text("/apiVersion");
            let kind = text("/kind");
            let name = text("/metadata/name");
            let namespace = text("/metadata/namespace");
            let described = format!("{kind}/{name}");
            for (field, value) in [
                ("apiVersion", &api_version),
                ("kind", &kind),
                ("metadata.name", &name),
            ] {
                if value.is_empty() {
                    return Err(ValidationError::Incomplete {
                        index,
                        object: described,
                        field,
                    });
                }
            }
            let (group, _) = split_api_version(&api_version);
            let id = ObjectId {
                namespace,
                name,
                group: group.to_string(),
                kind,
            };
            if object.get("sops").is_some() {
                return Err(ValidationError::Encrypted {
                    object: subject(&id),
                });
            }
            normalise(&id, &mut object);
            Ok(Desired {
                id,
                api_version,
                object,
            })
        })
        .collect()
}

/// Normalises an object as Flux does before applying it:
/// - `status` is dropped, except on CRDs (the API server ignores it anyway);
/// - a Secret's `stringData` is moved into `data` (base64), so that server-side apply tracks
///   the keys as `data` and a key removed from Git is removed from the Secret;
/// - ports of Services and of containers in pod templates get the API server's default
///   `protocol: TCP`, part of the key server-side apply merges port lists by.
pub fn normalise(id: &ObjectId, object: &mut Value) {
    let Value::Object(map) = object else {
        return;
    };
    if id.kind != "CustomResourceDefinition" {
        map.remove("status");
    }
    match (id.group.as_str(), id.kind.as_str()) {
        ("", "Secret") => string_data_into_data(map),
        ("", "Service") => {
            default_protocols(map.get_mut("spec").and_then(|spec| spec.get_mut("ports")))
        }
        ("", "Pod") => pod_spec_defaults(map.get_mut("spec")),
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") | ("batch", "Job") => {
            pod_spec_defaults(object.pointer_mut("/spec/template/spec"));
        }
        ("batch", "CronJob") => {
            pod_spec_defaults(object.pointer_mut("/spec/jobTemplate/spec/template/spec"))
        }
        _ => {}
    }
}

fn string_data_into_data(map: &mut serde_json::Map<String, Value>) {
    use base64::Engine as _;
    let Some(Value::Object(strings)) = map.remove("stringData") else {
        return;
    };
    let data = map
        .entry("data")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if !data.is_object() {
        *data = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(data) = data {
        for (key, value) in strings {
            // As the API server does: stringData wins over data for the same key.
            let text = match value {
                Value::String(text) => text,
                Value::Null => String::new(),
                other => other.to_string(),
            };
            data.insert(
                key,
                Value::String(base64::engine::general_purpose::STANDARD.encode(text)),
            );
        }
    }
}

fn default_protocols(ports: Option<&mut Value>) {
    for port in ports.and_then(Value::as_array_mut).into_iter().flatten() {
        if let Value::Object(port) = port {
            port.entry("protocol")
                .or_insert_with(|| Value::String("TCP".into()));
        }
    }
}

fn pod_spec_defaults(spec: Option<&mut Value>) {
    let Some(spec) = spec else {
        return;
    };
    for field in ["initContainers", "containers"] {
        let containers = spec.get_mut(field).and_then(Value::as_array_mut);
        for container in containers.into_iter().flatten() {
            default_protocols(container.get_mut("ports"));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_get_their_identity_and_lose_status() {
        let desired = validate(vec![json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"},
            "status": {"replicas": 1},
        })])
        .unwrap();
        assert_eq!(desired.len(), 1);
        assert_eq!(desired[0].id.to_string(), "shop_web_apps_Deployment");
        assert_eq!(desired[0].subject(), "Deployment/shop/web");
        assert_eq!(desired[0].version(), "v1");
        assert_eq!(desired[0].object.get("status"), None);
    }

    #[test]
    fn secrets_and_ports_are_normalised_as_flux_does() {
        let desired = validate(vec![
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "n"},
                   "data": {"kept": "YQ==", "both": "b2xk"},
                   "stringData": {"both": "new", "plain": "text"}}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "n"},
                   "spec": {"ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]}}),
            json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c", "namespace": "n"},
                   "spec": {"jobTemplate": {"spec": {"template": {"spec": {
                       "containers": [{"name": "a", "ports": [{"containerPort": 8080}]}]}}}}}}),
        ])
        .unwrap();
        assert_eq!(
            desired[0].object,
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "n"},
                   "data": {"kept": "YQ==", "both": "bmV3", "plain": "dGV4dA=="}})
        );
        assert_eq!(
            desired[1].object["spec"]["ports"],
            json!([{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}])
        );
        assert_eq!(
            desired[2]
                .object
                .pointer("/spec/jobTemplate/spec/template/spec/containers/0/ports"),
            Some(&json!([{"containerPort": 8080, "protocol": "TCP"}]))
        );
    }

    #[test]
    fn a_crd_keeps_its_status() {
        let desired = validate(vec![json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "crontabs.example.com"}, "status": {"storedVersions": ["v1"]},
        })])
        .unwrap();
        assert_eq!(
            desired[0].subject(),
            "CustomResourceDefinition/crontabs.example.com"
        );
        assert!(desired[0].object.get("status").is_some());
    }

    #[test]
    fn incomplete_objects_are_refused() {
        let error = validate(vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}),
        ])
        .unwrap_err();
        assert_eq!(
            error,
            ValidationError::Incomplete {
                index: 1,
                object: "ConfigMap/".into(),
                field: "metadata.name"
            }
        );
        assert!(matches!(
            validate(vec![
                json!({"kind": "ConfigMap", "metadata": {"name": "a"}})
            ]),
            Err(ValidationError::Incomplete {
                field: "apiVersion",
                ..
            })
        ));
    }

    #[test]
    fn sops_encrypted_objects_are_refused() {
        let error = validate(vec![json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "token", "namespace": "shop"},
            "data": {"token": "ENC[AES256_GCM,data:abc]"},
            "sops": {"mac": "ENC[...]"},
        })])
        .unwrap_err();
        assert_eq!(
            error,
            ValidationError::Encrypted {
                object: "Secret/shop/token".into()
            }
        );
        assert!(error.to_string().contains("SOPS"));
    }
}
