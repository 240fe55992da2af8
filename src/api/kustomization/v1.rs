//! `kustomize.toolkit.fluxcd.io/v1` Kustomization, the stored version.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::inventory::ResourceInventory;
use crate::api::kustomize::{CustomHealthCheck, Image, Json6902Patch, Patch, any_json_list_schema};
use crate::api::meta::{
    DURATION_PATTERN, DurationError, KubeConfigReference, LocalObjectReference,
    NamespacedObjectKindReference, Snapshot, parse_duration,
};

/// Desired state of a Kustomization: which source and path to build with kustomize, how to
/// transform the result, and how to apply, prune and health-check it.
#[derive(CustomResource, Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[kube(
    group = "kustomize.toolkit.fluxcd.io",
    version = "v1",
    kind = "Kustomization",
    namespaced,
    status = "KustomizationStatus",
    derive = "PartialEq",
    shortname = "ks",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-appliers",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    doc = "Builds a path of a source artifact with kustomize and keeps the cluster in line with the result."
)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationSpec {
    /// Labels and annotations set on the top-level metadata of every applied object,
    /// overriding keys that exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_metadata: Option<CommonMetadata>,

    /// Kustomizations that must be ready before this one is reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<DependencyReference>>,

    /// How to decrypt encrypted Secrets before applying them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decryption: Option<Decryption>,

    /// How often to reconcile (approximate, jittered); also the drift-correction period.
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub interval: String,

    /// Delay before retrying a failed reconcile; `interval` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub retry_interval: Option<String>,

    /// Kubeconfig of a remote cluster to reconcile into. With serviceAccountName, that
    /// account is impersonated on the remote cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_config: Option<KubeConfigReference>,

    /// Directory in the artifact holding a kustomization.yaml, or plain manifests to
    /// generate one for; the artifact root when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,

    /// Variable substitution on the built manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_build: Option<PostBuild>,

    /// Delete objects that were applied before and are no longer in the build.
    pub prune: bool,

    /// What happens to the applied objects when this Kustomization is deleted;
    /// `MirrorPrune` (delete if prune is true, else orphan) when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,

    /// Objects whose health is assessed after applying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_checks: Option<Vec<NamespacedObjectKindReference>>,

    /// Prefix added to the names of all objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub name_prefix: Option<String>,

    /// Suffix added to the names of all objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub name_suffix: Option<String>,

    /// Inline strategic-merge or JSON6902 patches with optional target selectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patches: Option<Vec<Patch>>,

    /// Image name, tag and digest overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<Image>>,

    /// ServiceAccount, in this namespace, to impersonate for apply, prune and health checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,

    /// The source whose artifact holds the manifests.
    pub source_ref: CrossNamespaceSourceReference,

    /// Stop reconciling; a reconcile already running finishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,

    /// Namespace set on (or overriding) all namespaced objects. It is not created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub target_namespace: Option<String>,

    /// Timeout of apply and health checks; `interval` minus 30s, at least 30s, when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub timeout: Option<String>,

    /// Recreate objects whose update fails on an immutable field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub force: Option<bool>,

    /// Health-check every applied object; healthChecks is then ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<bool>,

    /// Paths, relative to `path`, of kustomize components to add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<String>>,

    /// Drop component paths that do not exist instead of failing the build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_missing_components: Option<bool>,

    /// CEL expressions computing the health of custom resource kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_exprs: Option<Vec<CustomHealthCheck>>,

    /// Drift handling (driftless extension): correct drift (default), only report it, or
    /// skip the comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_detection: Option<DriftDetection>,

    /// Deprecated (v1beta2): `none` skips the server-side dry-run of each apply stage;
    /// `client` and `server` both keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<Validation>,

    /// Deprecated (v1beta2), use patches: strategic-merge patches as inline objects. Applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json_list_schema")]
    pub patches_strategic_merge: Option<Vec<serde_json::Value>>,

    /// Deprecated (v1beta2), use patches: JSON6902 patches with targets. Applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patches_json6902: Option<Vec<Json6902Patch>>,
}

/// The floor Flux puts under the apply and health-check timeout.
const MIN_TIMEOUT: Duration = Duration::from_secs(30);

impl KustomizationSpec {
    /// The reconcile interval.
    pub fn interval(&self) -> Result<Duration, DurationError> {
        parse_duration(&self.interval)
    }

    /// The delay before retrying a failed reconcile: `retryInterval`, else `interval`.
    pub fn retry_interval(&self) -> Result<Duration, DurationError> {
        match &self.retry_interval {
            Some(retry) => parse_duration(retry),
            None => self.interval(),
        }
    }

    /// The apply and health-check timeout as Flux computes it: `timeout`, else `interval`
    /// minus 30s; never below 30s.
    pub fn timeout(&self) -> Result<Duration, DurationError> {
        let timeout = match &self.timeout {
            Some(timeout) => parse_duration(timeout)?,
            None => self.interval()?.saturating_sub(MIN_TIMEOUT),
        };
        Ok(timeout.max(MIN_TIMEOUT))
    }

    /// The deletion policy, `MirrorPrune` when unset.
    pub fn deletion_policy(&self) -> DeletionPolicy {
        self.deletion_policy.unwrap_or_default()
    }

    /// The drift detection mode, `enabled` when unset.
    pub fn drift_detection_mode(&self) -> DriftDetectionMode {
        self.drift_detection
            .as_ref()
            .and_then(|drift| drift.mode)
            .unwrap_or_default()
    }

    /// Whether the Kustomization is suspended.
    pub fn is_suspended(&self) -> bool {
        self.suspend.unwrap_or(false)
    }
}

/// Labels and annotations for every applied object.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CommonMetadata {
    /// Annotations to add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Labels to add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// A Kustomization this one depends on.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DependencyReference {
    /// Name of the Kustomization.
    pub name: String,
    /// Namespace of the Kustomization; this one's namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// CEL expression over `dep` and `self` deciding readiness; replaces the built-in check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_expr: Option<String>,
}

/// How to decrypt encrypted manifests.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Decryption {
    /// The decryption engine.
    pub provider: DecryptionProvider,
    /// ServiceAccount whose workload identity reaches cloud KMS; static credentials in the
    /// Secret win.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Secret with the private keys (age, OpenPGP) or KMS credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
}

/// Decryption engine.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[schemars(description = "")]
pub enum DecryptionProvider {
    /// Mozilla SOPS.
    #[serde(rename = "sops")]
    Sops,
}

/// Variable substitution after the build.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PostBuild {
    /// Variables and their values; `${var}`, `${var:=default}` and bash-like forms in the
    /// manifests are replaced. Wins over substituteFrom.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub substitute: Option<BTreeMap<String, String>>,
    /// ConfigMaps and Secrets whose data keys are variables, read in order (later wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub substitute_from: Option<Vec<SubstituteReference>>,
}

/// A ConfigMap or Secret holding substitution variables.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SubstituteReference {
    /// Kind of the object.
    pub kind: SubstituteKind,
    /// Name of the object, in this namespace.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Treat a missing object as empty instead of failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub optional: Option<bool>,
}

/// Kind of a substitution source.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[schemars(description = "")]
pub enum SubstituteKind {
    /// A Secret.
    Secret,
    /// A ConfigMap.
    ConfigMap,
}

/// The source a Kustomization builds from.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceSourceReference {
    /// API version of the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the source.
    pub kind: SourceKind,
    /// Name of the source.
    pub name: String,
    /// Namespace of the source; the Kustomization's namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Kind of a Kustomization source.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[schemars(description = "")]
pub enum SourceKind {
    /// An OCIRepository.
    #[serde(rename = "OCIRepository")]
    OciRepository,
    /// A GitRepository.
    GitRepository,
    /// A Bucket.
    Bucket,
    /// An ExternalArtifact.
    ExternalArtifact,
}

/// What happens to applied objects when the Kustomization is deleted.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[schemars(description = "")]
pub enum DeletionPolicy {
    /// Delete them if `prune` is true, else orphan them.
    #[default]
    MirrorPrune,
    /// Delete them.
    Delete,
    /// Delete them and wait until they are gone.
    WaitForTermination,
    /// Leave them.
    Orphan,
}

/// Drift handling (driftless extension, in both versions).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DriftDetection {
    /// `enabled` (when unset): correct drift; `warn`: report drift without correcting it;
    /// `disabled`: do not compare, apply only when the manifests change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<DriftDetectionMode>,
}

/// Drift handling mode.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[schemars(description = "")]
pub enum DriftDetectionMode {
    /// Detect drift and correct it (Flux's behaviour).
    #[default]
    #[serde(rename = "enabled")]
    Enabled,
    /// Detect and report drift, do not correct it.
    #[serde(rename = "warn")]
    Warn,
    /// Do not look for drift.
    #[serde(rename = "disabled")]
    Disabled,
}

/// Deprecated v1beta2 validation mode: `none` skips the server-side dry-run.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[schemars(description = "")]
pub enum Validation {
    /// No validation.
    #[serde(rename = "none")]
    None,
    /// Client-side validation.
    #[serde(rename = "client")]
    Client,
    /// Server-side validation.
    #[serde(rename = "server")]
    Server,
}

/// Observed state of a Kustomization.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("default" = { "observedGeneration": -1 }))]
pub struct KustomizationStatus {
    /// The last `reconcile.fluxcd.io/requestedAt` value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,

    /// Last generation reconciled (-1 before the first reconcile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Conditions of the Kustomization.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,

    /// Source revision last applied successfully.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_revision: Option<String>,

    /// Origin revision (from artifact metadata, e.g. OCI) last applied successfully.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_origin_revision: Option<String>,

    /// Source revision of the last attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,

    /// Objects applied by the last successful reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<ResourceInventory>,

    /// Recent reconcile results, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Snapshot>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap; the lint guards library code
mod tests {
    use super::*;

    fn spec(extra: serde_json::Value) -> KustomizationSpec {
        let mut spec = serde_json::json!({
            "interval": "10m",
            "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
        });
        if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
            spec.extend(extra.clone());
        }
        serde_json::from_value(spec).unwrap()
    }

    #[test]
    fn timeout_defaults_to_interval_minus_30s_with_a_30s_floor() {
        let secs = Duration::from_secs;
        assert_eq!(spec(serde_json::json!({})).timeout().unwrap(), secs(570));
        assert_eq!(
            spec(serde_json::json!({"interval": "40s"}))
                .timeout()
                .unwrap(),
            secs(30)
        );
        assert_eq!(
            spec(serde_json::json!({"timeout": "2m"}))
                .timeout()
                .unwrap(),
            secs(120)
        );
        assert_eq!(
            spec(serde_json::json!({"timeout": "5s"}))
                .timeout()
                .unwrap(),
            secs(30)
        );
    }

    #[test]
    fn retry_interval_defaults_to_interval() {
        let secs = Duration::from_secs;
        assert_eq!(
            spec(serde_json::json!({})).retry_interval().unwrap(),
            secs(600)
        );
        assert_eq!(
            spec(serde_json::json!({"retryInterval": "1m"}))
                .retry_interval()
                .unwrap(),
            secs(60)
        );
    }

    #[test]
    fn unset_fields_read_as_flux_defaults() {
        let spec = spec(serde_json::json!({}));
        assert_eq!(spec.deletion_policy(), DeletionPolicy::MirrorPrune);
        assert_eq!(spec.drift_detection_mode(), DriftDetectionMode::Enabled);
        assert!(!spec.is_suspended());
        let spec = self::spec(serde_json::json!({"driftDetection": {}}));
        assert_eq!(spec.drift_detection_mode(), DriftDetectionMode::Enabled);
    }

    #[test]
    fn enums_use_flux_spellings() {
        for (value, text) in [
            (DeletionPolicy::MirrorPrune, "MirrorPrune"),
            (DeletionPolicy::Delete, "Delete"),
            (DeletionPolicy::WaitForTermination, "WaitForTermination"),
            (DeletionPolicy::Orphan, "Orphan"),
        ] {
            assert_eq!(serde_json::to_value(value).unwrap(), text);
        }
        for (value, text) in [
            (SourceKind::OciRepository, "OCIRepository"),
            (SourceKind::GitRepository, "GitRepository"),
            (SourceKind::Bucket, "Bucket"),
            (SourceKind::ExternalArtifact, "ExternalArtifact"),
        ] {
            assert_eq!(serde_json::to_value(value).unwrap(), text);
        }
        assert_eq!(
            serde_json::to_value(DecryptionProvider::Sops).unwrap(),
            "sops"
        );
        assert_eq!(
            serde_json::to_value(SubstituteKind::ConfigMap).unwrap(),
            "ConfigMap"
        );
    }

    #[test]
    fn status_round_trips_with_inventory_and_history() {
        let status = serde_json::json!({
            "observedGeneration": 2,
            "conditions": [{
                "type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
                "message": "Applied revision: main@sha1:0123456789abcdef0123456789abcdef01234567",
                "lastTransitionTime": "2025-01-01T00:00:00Z", "observedGeneration": 2
            }],
            "lastAppliedRevision": "main@sha1:0123456789abcdef0123456789abcdef01234567",
            "lastAttemptedRevision": "main@sha1:0123456789abcdef0123456789abcdef01234567",
            "inventory": {"entries": [{"id": "default_my-app_apps_Deployment", "v": "v1"}]},
            "history": [{
                "digest": "sha256:abc",
                "firstReconciled": "2025-01-01T00:00:00Z",
                "lastReconciled": "2025-01-01T00:10:00Z",
                "lastReconciledDuration": "1.2s",
                "lastReconciledStatus": "ReconciliationSucceeded",
                "totalReconciliations": 2,
                "metadata": {"revision": "main@sha1:0123456789abcdef0123456789abcdef01234567"}
            }]
        });
        let parsed: KustomizationStatus = serde_json::from_value(status.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), status);
    }
}
