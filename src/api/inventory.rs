//! The Kustomization inventory: the objects a Kustomization applied, as Flux records them in
//! `status.inventory` (the same shape in v1 and v1beta2).
//!
//! The inventory is the only truth for prune. This module only holds the data and the
//! identity format; computing diffs belongs to the reconciler.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The objects applied by a Kustomization.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ResourceInventory {
    /// One entry per applied object.
    pub entries: Vec<ResourceRef>,
}

/// One applied object: its identity and the API version it was applied with.
#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRef {
    /// Identity `<namespace>_<name>_<group>_<kind>` (namespace empty for cluster-scoped
    /// objects, group empty for the core group).
    pub id: String,
    /// API version of the object, e.g. `v1` or `apps/v1`.
    #[serde(rename = "v")]
    pub version: String,
}

/// The parts of an inventory id, `<namespace>_<name>_<group>_<kind>`, in the format of
/// cli-utils' `ObjMetadata` that Flux uses: colons in RBAC object names are written as `__`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId {
    /// Namespace, empty for cluster-scoped objects.
    pub namespace: String,
    /// Object name.
    pub name: String,
    /// API group, empty for the core group.
    pub group: String,
    /// Kind.
    pub kind: String,
}

/// An inventory id that is not `<namespace>_<name>_<group>_<kind>`.
#[derive(Debug, thiserror::Error)]
#[error("invalid inventory id {0:?}")]
pub struct InvalidObjectId(pub String);

const FIELD_SEPARATOR: char = '_';
const COLON_TRANSCODED: &str = "__";
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
const RBAC_KINDS: [&str; 4] = ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"];

impl ObjectId {
    /// Parses an inventory id the way cli-utils does: namespace up to the first `_`, kind
    /// after the last, group after the one before; `__` in the name is a colon.
    pub fn parse(id: &str) -> Result<Self, InvalidObjectId> {
        let invalid = || InvalidObjectId(id.to_owned());
        let (namespace, rest) = id.split_once(FIELD_SEPARATOR).ok_or_else(invalid)?;
        let (rest, kind) = rest.rsplit_once(FIELD_SEPARATOR).ok_or_else(invalid)?;
        let (name, group) = rest.rsplit_once(FIELD_SEPARATOR).ok_or_else(invalid)?;
        let name = name.replace(COLON_TRANSCODED, ":");
        if name.is_empty() || kind.is_empty() || name.contains(FIELD_SEPARATOR) {
            return Err(invalid());
        }
        Ok(Self {
            namespace: namespace.to_owned(),
            name,
            group: group.to_owned(),
            kind: kind.to_owned(),
        })
    }

    fn is_rbac(&self) -> bool {
        self.group == RBAC_GROUP && RBAC_KINDS.contains(&self.kind.as_str())
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = if self.is_rbac() {
            self.name.replace(':', COLON_TRANSCODED)
        } else {
            self.name.clone()
        };
        write!(
            f,
            "{}{FIELD_SEPARATOR}{name}{FIELD_SEPARATOR}{}{FIELD_SEPARATOR}{}",
            self.namespace, self.group, self.kind
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap; the lint guards library code
mod tests {
    use super::*;

    #[test]
    fn inventory_serializes_as_flux_does() {
        let inventory = ResourceInventory {
            entries: vec![
                ResourceRef {
                    id: "default_podinfo__Service".into(),
                    version: "v1".into(),
                },
                ResourceRef {
                    id: "default_podinfo_apps_Deployment".into(),
                    version: "v1".into(),
                },
            ],
        };
        assert_eq!(
            serde_json::to_value(&inventory).unwrap(),
            serde_json::json!({"entries": [
                {"id": "default_podinfo__Service", "v": "v1"},
                {"id": "default_podinfo_apps_Deployment", "v": "v1"},
            ]})
        );
    }

    #[test]
    fn object_id_round_trips() {
        for id in [
            "default_podinfo__Service",
            "default_podinfo_apps_Deployment",
            "_my-ns__Namespace",
            "_crontabs.stable.example.com_apiextensions.k8s.io_CustomResourceDefinition",
        ] {
            assert_eq!(ObjectId::parse(id).unwrap().to_string(), id);
        }
        let id = ObjectId::parse("default_podinfo_apps_Deployment").unwrap();
        assert_eq!(
            id,
            ObjectId {
                namespace: "default".into(),
                name: "podinfo".into(),
                group: "apps".into(),
                kind: "Deployment".into(),
            }
        );
        let role = ObjectId::parse("_system__controller__x_rbac.authorization.k8s.io_ClusterRole")
            .unwrap();
        assert_eq!(role.name, "system:controller:x");
        assert_eq!(
            role.to_string(),
            "_system__controller__x_rbac.authorization.k8s.io_ClusterRole"
        );
        assert!(ObjectId::parse("default_podinfo").is_err());
        assert!(ObjectId::parse("default_pod_info_apps_Deployment").is_err());
        assert!(ObjectId::parse("default__apps_Deployment").is_err());
    }
}
