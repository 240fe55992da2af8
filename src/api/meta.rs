//! Types shared by every Flux API group, as `fluxcd/pkg/apis/meta` (and `apis/acl`) define
//! them: object references, the source `Artifact`, reconcile history snapshots, the
//! reconcile-request annotation, and the validation patterns for durations and digests.
//!
//! Plain data and pure helpers only; nothing here talks to the API server.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Schema pattern of a Go duration as Flux accepts it for intervals and timeouts
/// (`30s`, `1m30s`, `1.5h`).
pub const DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$";

/// Schema pattern of a Go duration without hours (GitRepository `spec.timeout`).
pub const DURATION_NO_HOURS_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m))+$";

/// Schema pattern of an artifact digest, `<algorithm>:<checksum>`.
pub const DIGEST_PATTERN: &str = r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$";

/// Annotation whose change of value asks for an immediate reconcile.
pub const RECONCILE_REQUEST_ANNOTATION: &str = "reconcile.fluxcd.io/requestedAt";

/// Annotation asking for a one-off forced reconcile (must equal the request annotation).
pub const FORCE_REQUEST_ANNOTATION: &str = "reconcile.fluxcd.io/forceAt";

/// The finalizer Flux controllers put on the objects they reconcile.
pub const FINALIZER: &str = "finalizers.fluxcd.io";

/// Longest condition message Flux writes; longer messages are cut.
pub const MAX_CONDITION_MESSAGE_LENGTH: usize = 20_000;

/// A duration string from a Flux object could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DurationError {
    /// Not a Go duration.
    #[error("invalid duration {value:?}")]
    Invalid {
        /// The text that failed to parse.
        value: String,
        /// Why it failed.
        #[source]
        source: kube::core::duration::ParseError,
    },
    /// A negative duration, which no Flux field accepts.
    #[error("negative duration {value:?}")]
    Negative {
        /// The text that was read.
        value: String,
    },
}

/// Parses a Go duration string (`10m`, `1h30m`, `500ms`) as written in Flux objects.
pub fn parse_duration(value: &str) -> Result<std::time::Duration, DurationError> {
    let parsed: kube::core::Duration = value.parse().map_err(|source| DurationError::Invalid {
        value: value.to_owned(),
        source,
    })?;
    if parsed.is_negative() {
        return Err(DurationError::Negative {
            value: value.to_owned(),
        });
    }
    Ok(parsed.into())
}

/// A reference to an object in the same namespace as the referrer.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct LocalObjectReference {
    /// Name of the referenced object.
    pub name: String,
}

/// A reference to an object by name, optionally in another namespace.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct NamespacedObjectReference {
    /// Name of the referenced object.
    pub name: String,
    /// Namespace of the referenced object; the referrer's namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A typed reference to an object, optionally in another namespace.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct NamespacedObjectKindReference {
    /// API version of the referenced object; the preferred version when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the referenced object.
    pub kind: String,
    /// Name of the referenced object.
    pub name: String,
    /// Namespace of the referenced object; the referrer's namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A reference to a Secret in the referrer's namespace, and optionally a key in it.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyReference {
    /// Name of the Secret.
    pub name: String,
    /// Key in the Secret; a default chosen by the consumer when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// Where to find the credentials for a remote cluster: exactly one of `secretRef` (a
/// kubeconfig in a Secret key, `value` by default) or `configMapRef` (secret-less workload
/// identity: keys `provider`, `cluster`, `address`, `ca.crt`, `audiences`,
/// `serviceAccountName`).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "has(self.configMapRef) || has(self.secretRef)",
        "message": "exactly one of spec.kubeConfig.configMapRef or spec.kubeConfig.secretRef must be specified"
    },
    {
        "rule": "!has(self.configMapRef) || !has(self.secretRef)",
        "message": "exactly one of spec.kubeConfig.configMapRef or spec.kubeConfig.secretRef must be specified"
    }
]))]
pub struct KubeConfigReference {
    /// ConfigMap describing the remote cluster for workload-identity access. Excludes secretRef.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<LocalObjectReference>,
    /// Secret holding a self-contained kubeconfig (key `value` unless set). Excludes
    /// configMapRef.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeyReference>,
}

/// The output of a source reconcile: a tarball served over HTTP by the source controller.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// Digest of the file, `<algorithm>:<checksum>`.
    #[schemars(regex(pattern = DIGEST_PATTERN))]
    pub digest: String,
    /// Path of the file relative to the storage root.
    pub path: String,
    /// HTTP address where the file can be downloaded.
    pub url: String,
    /// Identifier of the content in the origin system, e.g. `main@sha1:<commit>`.
    pub revision: String,
    /// When the artifact last changed.
    pub last_update_time: Time,
    /// Size of the file in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// Upstream metadata, e.g. OCI annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
}

impl Artifact {
    /// Whether this artifact holds the given revision.
    pub fn has_revision(&self, revision: &str) -> bool {
        self.revision == revision
    }

    /// Whether this artifact has the given digest.
    pub fn has_digest(&self, digest: &str) -> bool {
        self.digest == digest
    }
}

/// One record of reconcile history: a distinct rendered result, when it was first and last
/// reconciled, and how that went.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Checksum `<algo>:<hex>` of the resources reconciled.
    pub digest: String,
    /// When this result was first reconciled.
    pub first_reconciled: Time,
    /// When this result was last reconciled.
    pub last_reconciled: Time,
    /// How long the last reconcile of this result took (Go duration).
    pub last_reconciled_duration: String,
    /// Outcome of the last reconcile (a Ready reason).
    pub last_reconciled_status: String,
    /// How many times this result has been reconciled.
    pub total_reconciliations: i64,
    /// Extra facts, e.g. `revision` and `originRevision`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// Access control list for cross-namespace references (`fluxcd/pkg/apis/acl`).
///
/// Flux marks it provisional and never enforced it; kept so v1beta2 objects lose nothing.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AccessFrom {
    /// Namespaces, by label, allowed to refer to this object.
    pub namespace_selectors: Vec<NamespaceSelector>,
}

/// Selects namespaces by their labels.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSelector {
    /// Labels a namespace must carry, all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap; the lint guards library code
mod tests {
    use super::*;

    #[test]
    fn parses_flux_durations() {
        assert_eq!(
            parse_duration("10m").unwrap(),
            std::time::Duration::from_secs(600)
        );
        assert_eq!(
            parse_duration("1h30m").unwrap(),
            std::time::Duration::from_secs(5400)
        );
        assert_eq!(
            parse_duration("500ms").unwrap(),
            std::time::Duration::from_millis(500)
        );
        assert!(parse_duration("ten minutes").is_err());
        assert!(parse_duration("-1m").is_err());
    }
}
