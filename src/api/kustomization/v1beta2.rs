//! `kustomize.toolkit.fluxcd.io/v1beta2` Kustomization: served for old manifests (such as
//! the seed's), deprecated, never stored. Field for field as Flux 2.7's v1beta2, plus
//! `driftDetection`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::v1::{
    CommonMetadata, DecryptionProvider, DriftDetection, DriftDetectionMode, PostBuild,
    SubstituteKind, SubstituteReference, Validation,
};
use crate::api::inventory::ResourceInventory;
use crate::api::kustomize::{Image, Json6902Patch, Patch, any_json_list_schema};
use crate::api::meta::{
    DURATION_PATTERN, KubeConfigReference, LocalObjectReference, NamespacedObjectKindReference,
    NamespacedObjectReference,
};

/// Desired state of a Kustomization (v1beta2).
#[derive(CustomResource, Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[kube(
    group = "kustomize.toolkit.fluxcd.io",
    version = "v1beta2",
    kind = "Kustomization",
    namespaced,
    status = "KustomizationStatus",
    derive = "PartialEq",
    storage = false,
    deprecated = "v1beta2 Kustomization is deprecated, upgrade to v1",
    shortname = "ks",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-appliers",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    doc = "Builds a path of a source artifact with kustomize and keeps the cluster in line with the result (deprecated version)."
)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationSpec {
    /// Labels and annotations set on the top-level metadata of every applied object,
    /// overriding keys that exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_metadata: Option<CommonMetadata>,

    /// Kustomizations that must be ready before this one is reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<NamespacedObjectReference>>,

    /// How to decrypt encrypted Secrets before applying them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decryption: Option<Decryption>,

    /// How often to reconcile; also the drift-correction period.
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub interval: String,

    /// Delay before retrying a failed reconcile; `interval` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub retry_interval: Option<String>,

    /// Kubeconfig of a remote cluster to reconcile into.
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

    /// Objects whose health is assessed after applying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_checks: Option<Vec<NamespacedObjectKindReference>>,

    /// Inline strategic-merge or JSON6902 patches with optional target selectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patches: Option<Vec<Patch>>,

    /// Deprecated, use patches: strategic-merge patches as inline objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json_list_schema")]
    pub patches_strategic_merge: Option<Vec<serde_json::Value>>,

    /// Deprecated, use patches: JSON6902 patches with targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patches_json6902: Option<Vec<Json6902Patch>>,

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

    /// Deprecated: accepted and ignored. Objects are always dry-run applied server-side
    /// before the real apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<Validation>,

    /// Drift handling (driftless extension): correct drift (default), only report it, or
    /// skip the comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_detection: Option<DriftDetection>,
}

/// How to decrypt encrypted manifests (v1beta2).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Decryption {
    /// The decryption engine.
    pub provider: DecryptionProvider,
    /// Secret with the private keys (age, OpenPGP) or KMS credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
}

/// The source a Kustomization builds from (v1beta2).
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

/// Kind of a Kustomization source (v1beta2).
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
}

/// Observed state of a Kustomization (v1beta2).
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

    /// Source revision of the last attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,

    /// Objects applied by the last successful reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<ResourceInventory>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap; the lint guards library code
mod tests {
    use super::*;
    use crate::api::kustomization::v1;

    /// The seed's Kustomization (`/work/shared/seed/examples.md`), verbatim.
    const SEED: &str = "\
apiVersion: kustomize.toolkit.fluxcd.io/v1beta2
kind: Kustomization
metadata:
  name: my-app-deployment
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps/my-app/overlays/production
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  validation: client
";

    fn seed_json() -> serde_json::Value {
        serde_saphyr::from_str(SEED).unwrap()
    }

    #[test]
    fn seed_round_trips_through_v1beta2_with_no_field_lost() {
        let kustomization: Kustomization = serde_saphyr::from_str(SEED).unwrap();
        assert_eq!(kustomization.spec.validation, Some(Validation::Client));
        assert_eq!(
            kustomization.spec.source_ref.kind,
            SourceKind::GitRepository
        );
        assert_eq!(
            serde_json::to_value(&kustomization).unwrap(),
            seed_json(),
            "the v1beta2 type must serialize the seed back exactly"
        );
    }

    #[test]
    fn seed_stored_as_v1_keeps_every_field() {
        // Conversion strategy None: storage rewrites only apiVersion. The v1 type (and v1
        // schema, see crd tests) must hold every field, validation included.
        let mut stored = seed_json();
        stored["apiVersion"] = "kustomize.toolkit.fluxcd.io/v1".into();
        let kustomization: v1::Kustomization = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(kustomization.spec.validation, Some(Validation::Client));
        assert_eq!(serde_json::to_value(&kustomization).unwrap(), stored);
    }

    #[test]
    fn deprecated_patches_round_trip_verbatim() {
        let spec = serde_json::json!({
            "interval": "5m",
            "prune": false,
            "sourceRef": {"kind": "GitRepository", "name": "repo"},
            "patchesStrategicMerge": [
                {"apiVersion": "apps/v1", "kind": "Deployment",
                 "metadata": {"name": "my-app"}, "spec": {"replicas": 5}}
            ],
            "patchesJson6902": [{
                "target": {"group": "apps", "version": "v1", "kind": "Deployment", "name": "my-app"},
                "patch": [
                    {"op": "replace", "path": "/spec/replicas", "value": 5},
                    {"op": "add", "path": "/metadata/annotations/x", "value": null},
                    {"op": "remove", "path": "/spec/paused"}
                ]
            }],
            "driftDetection": {"mode": "warn"}
        });
        let beta: KustomizationSpec = serde_json::from_value(spec.clone()).unwrap();
        assert_eq!(serde_json::to_value(&beta).unwrap(), spec);
        let stored: v1::KustomizationSpec = serde_json::from_value(spec.clone()).unwrap();
        assert_eq!(serde_json::to_value(&stored).unwrap(), spec);
        assert_eq!(stored.drift_detection_mode(), DriftDetectionMode::Warn);
    }

    #[test]
    fn enums_use_flux_spellings() {
        for (value, text) in [
            (Validation::None, "none"),
            (Validation::Client, "client"),
            (Validation::Server, "server"),
        ] {
            assert_eq!(serde_json::to_value(value).unwrap(), text);
        }
        for (value, text) in [
            (DriftDetectionMode::Enabled, "enabled"),
            (DriftDetectionMode::Warn, "warn"),
            (DriftDetectionMode::Disabled, "disabled"),
        ] {
            assert_eq!(serde_json::to_value(value).unwrap(), text);
        }
        assert_eq!(
            serde_json::to_value(SourceKind::OciRepository).unwrap(),
            "OCIRepository"
        );
        assert!(serde_json::from_value::<SourceKind>("ExternalArtifact".into()).is_err());
        assert!(serde_json::from_value::<Validation>("Client".into()).is_err());
    }
}
