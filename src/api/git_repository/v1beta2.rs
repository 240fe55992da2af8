//! `source.toolkit.fluxcd.io/v1beta2` GitRepository: served for old manifests, deprecated,
//! never stored. Field for field as Flux's v1beta2 (plus the wider URL pattern).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::URL_PATTERN;
pub use super::v1::{GitImplementation, GitRepositoryInclude, GitRepositoryRef};
use crate::api::meta::{
    AccessFrom, Artifact, DURATION_NO_HOURS_PATTERN, DURATION_PATTERN, LocalObjectReference,
};

/// Desired state of a GitRepository (v1beta2).
#[derive(CustomResource, Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1beta2",
    kind = "GitRepository",
    namespaced,
    status = "GitRepositoryStatus",
    derive = "PartialEq",
    storage = false,
    deprecated = "v1beta2 GitRepository is deprecated, upgrade to v1",
    shortname = "gitrepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    printcolumn = r#"{"name":"URL","type":"string","jsonPath":".spec.url"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    doc = "A Git repository that driftless fetches at an interval and serves as an artifact (deprecated version)."
)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositorySpec {
    /// Repository URL: `http(s)://`, `ssh://` (scp-style `user@host:path` is refused), and,
    /// unlike Flux, also `git://` and `file://`.
    #[schemars(regex(pattern = URL_PATTERN))]
    pub url: String,

    /// Secret with credentials: `username` and `password` or `bearerToken` for HTTPS,
    /// `identity` and `known_hosts` for SSH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,

    /// How often to check the repository for changes.
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub interval: String,

    /// Timeout of Git operations such as clone and fetch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_NO_HOURS_PATTERN), extend("default" = "60s"))]
    pub timeout: Option<String>,

    /// Git reference to check out and watch; branch `master` when unset.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<GitRepositoryRef>,

    /// Verification of the HEAD commit signature.
    #[serde(rename = "verify", default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<GitRepositoryVerification>,

    /// Exclusion patterns in .gitignore format; replaces the default exclusions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,

    /// Stop fetching and producing artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,

    /// Deprecated: Git client implementation; ignored, there is only one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "go-git"))]
    pub git_implementation: Option<GitImplementation>,

    /// Also fetch the repository's submodules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurse_submodules: Option<bool>,

    /// Other GitRepositories whose artifact contents are copied into this one's artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<GitRepositoryInclude>>,

    /// Provisional cross-namespace ACL; not enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_from: Option<AccessFrom>,
}

/// Signature verification of the HEAD commit (v1beta2).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryVerification {
    /// What to verify; only `head` exists in v1beta2.
    pub mode: VerificationMode,
    /// Secret with trusted public keys.
    pub secret_ref: LocalObjectReference,
}

/// v1beta2 verification mode.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[schemars(description = "")]
pub enum VerificationMode {
    /// The HEAD commit.
    #[serde(rename = "head")]
    Head,
}

/// Observed state of a GitRepository (v1beta2).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("default" = { "observedGeneration": -1 }))]
pub struct GitRepositoryStatus {
    /// Last generation the controller observed (-1 before the first reconcile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Conditions of the GitRepository.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,

    /// Download URL of the latest artifact (best effort; prefer `artifact`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,

    /// The artifact of the last successful reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,

    /// Artifacts of the included repositories at the last successful reconcile.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub included_artifacts: Vec<Artifact>,

    /// Deprecated: checksum of the content-affecting spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_config_checksum: Option<String>,

    /// The `spec.ignore` the current artifact was built with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_ignore: Option<String>,

    /// The `spec.recurseSubmodules` the current artifact was built with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_recurse_submodules: Option<bool>,

    /// The `spec.include` the current artifact was built with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observed_include: Vec<GitRepositoryInclude>,

    /// The last `reconcile.fluxcd.io/requestedAt` value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}
