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

/// Checks every rendered object and turns it into a [`Desired`], in render order.
/// Normalises as Flux does before applying: `status` is dropped except on CRDs, whose
/// status the API server ignores anyway.
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
            if id.kind != "CustomResourceDefinition"
                && let Value::Object(map) = &mut object
            {
                map.remove("status");
            }
            Ok(Desired {
                id,
                api_version,
                object,
            })
        })
        .collect()
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
