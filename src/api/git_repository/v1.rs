//! `source.toolkit.fluxcd.io/v1` GitRepository, the stored version.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{DEFAULT_BRANCH, URL_PATTERN};
use crate::api::meta::{
    AccessFrom, Artifact, DURATION_NO_HOURS_PATTERN, DURATION_PATTERN, DurationError,
    LocalObjectReference, parse_duration,
};

/// Desired state of a GitRepository: which repository and reference to fetch, how often,
/// and what to put in the artifact.
#[derive(CustomResource, Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "GitRepository",
    namespaced,
    status = "GitRepositoryStatus",
    derive = "PartialEq",
    shortname = "gitrepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    printcolumn = r#"{"name":"URL","type":"string","jsonPath":".spec.url"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    doc = "A Git repository that driftless fetches at an interval and serves as an artifact."
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "!has(self.serviceAccountName) || (has(self.provider) && self.provider == 'azure')",
    "message": "serviceAccountName can only be set when provider is 'azure'"
}]))]
pub struct GitRepositorySpec {
    /// Repository URL: `http(s)://`, `ssh://` (scp-style `user@host:path` is refused), and,
    /// unlike Flux, also `git://` and `file://`.
    #[schemars(regex(pattern = URL_PATTERN))]
    pub url: String,

    /// Secret with credentials: `username` and `password` or `bearerToken` for HTTPS,
    /// `identity` and `known_hosts` for SSH, optional `ca.crt`, `tls.crt` and `tls.key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,

    /// Authentication provider; `generic` (Secret-based) when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<GitProvider>,

    /// ServiceAccount whose workload identity authenticates to the repository (provider
    /// `azure` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,

    /// How often to check the repository for changes (approximate, jittered).
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub interval: String,

    /// Timeout of Git operations such as clone and fetch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_NO_HOURS_PATTERN), extend("default" = "60s"))]
    pub timeout: Option<String>,

    /// Git reference to check out and watch; branch `master` when unset.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<GitRepositoryRef>,

    /// Verification of commit or tag signatures.
    #[serde(rename = "verify", default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<GitRepositoryVerification>,

    /// Secret with the proxy to use: `address`, and optional `username` and `password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,

    /// Exclusion patterns in .gitignore format; replaces the default exclusions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,

    /// Stop fetching and producing artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,

    /// Also fetch the repository's submodules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurse_submodules: Option<bool>,

    /// Other GitRepositories whose artifact contents are copied into this one's artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<GitRepositoryInclude>>,

    /// Directories to check out; only these end up in the artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sparse_checkout: Option<Vec<String>>,

    /// Deprecated (v1beta2): Git client implementation. Kept so v1beta2 objects lose
    /// nothing in storage; ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_implementation: Option<GitImplementation>,

    /// Deprecated (v1beta2): provisional cross-namespace ACL. Kept so v1beta2 objects lose
    /// nothing in storage; ignored, as in Flux.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_from: Option<AccessFrom>,
}

impl GitRepositorySpec {
    /// The authentication provider, `generic` when unset.
    pub fn provider(&self) -> GitProvider {
        self.provider.unwrap_or_default()
    }

    /// The poll interval.
    pub fn interval(&self) -> Result<Duration, DurationError> {
        parse_duration(&self.interval)
    }

    /// The Git operation timeout, 60s when unset.
    pub fn timeout(&self) -> Result<Duration, DurationError> {
        parse_duration(self.timeout.as_deref().unwrap_or(super::DEFAULT_TIMEOUT))
    }

    /// Whether the repository is suspended.
    pub fn is_suspended(&self) -> bool {
        self.suspend.unwrap_or(false)
    }
}

/// Authentication provider of a GitRepository.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[schemars(description = "")]
pub enum GitProvider {
    /// Credentials from `secretRef`.
    #[default]
    #[serde(rename = "generic")]
    Generic,
    /// Azure DevOps with workload identity.
    #[serde(rename = "azure")]
    Azure,
    /// GitHub App credentials from `secretRef`.
    #[serde(rename = "github")]
    Github,
}

/// Deprecated v1beta2 choice of Git client library.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[schemars(description = "")]
pub enum GitImplementation {
    /// The go-git library.
    #[serde(rename = "go-git")]
    GoGit,
    /// The libgit2 library.
    #[serde(rename = "libgit2")]
    Libgit2,
}

/// The Git reference to check out. Precedence: commit, then name, semver, tag, branch.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryRef {
    /// Branch to check out; `master` when no other field is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Tag to check out; wins over branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// SemVer range over tags; the highest match is checked out. Wins over tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver: Option<String>,
    /// Full reference name, e.g. `refs/heads/main` or `refs/pull/420/head`. Wins over
    /// branch, tag and semver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Commit SHA to check out; wins over everything. With branch, the branch is fetched
    /// shallowly and must contain the commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

impl GitRepositoryRef {
    /// The branch to use when the reference names nothing else: the branch if set, else
    /// `master`.
    pub fn branch_or_default(&self) -> &str {
        self.branch.as_deref().unwrap_or(DEFAULT_BRANCH)
    }
}

/// Another GitRepository whose artifact is copied into this one.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryInclude {
    /// The GitRepository to include, in the same namespace.
    #[serde(rename = "repository")]
    pub git_repository_ref: LocalObjectReference,
    /// Path in the included artifact to copy from; its root when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_path: Option<String>,
    /// Path in this artifact to copy to; the included repository's name when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_path: Option<String>,
}

impl GitRepositoryInclude {
    /// The path to copy from, the artifact root (`""`) when unset.
    pub fn from_path(&self) -> &str {
        self.from_path.as_deref().unwrap_or("")
    }

    /// The path to copy to, the included repository's name when unset or empty.
    pub fn to_path(&self) -> &str {
        match self.to_path.as_deref() {
            Some(path) if !path.is_empty() => path,
            _ => &self.git_repository_ref.name,
        }
    }
}

/// Signature verification of commits or tags.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryVerification {
    /// What to verify: the HEAD commit (`HEAD`, or the legacy `head`), the tag, or both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "HEAD"))]
    pub mode: Option<GitVerificationMode>,
    /// Secret with trusted public keys: `*.asc` PGP keys, `*.sshpub` SSH keys.
    pub secret_ref: LocalObjectReference,
}

impl GitRepositoryVerification {
    /// The verification mode, `HEAD` when unset.
    pub fn mode(&self) -> GitVerificationMode {
        self.mode.unwrap_or_default()
    }
}

/// Which Git objects to verify.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[schemars(description = "")]
pub enum GitVerificationMode {
    /// Legacy spelling of `HEAD`.
    #[serde(rename = "head")]
    LegacyHead,
    /// The commit HEAD points to after checkout.
    #[default]
    #[serde(rename = "HEAD")]
    Head,
    /// The tag object being checked out.
    #[serde(rename = "Tag")]
    Tag,
    /// Both the tag and the commit it points to.
    #[serde(rename = "TagAndHEAD")]
    TagAndHead,
}

impl GitVerificationMode {
    /// Whether the HEAD commit must be verified.
    pub fn verify_head(self) -> bool {
        matches!(self, Self::LegacyHead | Self::Head | Self::TagAndHead)
    }

    /// Whether the tag must be verified.
    pub fn verify_tag(self) -> bool {
        matches!(self, Self::Tag | Self::TagAndHead)
    }
}

/// Observed state of a GitRepository.
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

    /// The artifact of the last successful reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,

    /// Artifacts of the included repositories at the last successful reconcile.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub included_artifacts: Vec<Artifact>,

    /// The `spec.ignore` the current artifact was built with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_ignore: Option<String>,

    /// The `spec.recurseSubmodules` the current artifact was built with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_recurse_submodules: Option<bool>,

    /// The `spec.include` the current artifact was built with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observed_include: Vec<GitRepositoryInclude>,

    /// The `spec.sparseCheckout` the current artifact was built with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observed_sparse_checkout: Vec<String>,

    /// The verification mode last used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_verification_mode: Option<GitVerificationMode>,

    /// The last `reconcile.fluxcd.io/requestedAt` value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,

    /// Deprecated (v1beta2): download URL of the latest artifact. Kept so v1beta2 status
    /// loses nothing; not written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,

    /// Deprecated (v1beta2): checksum of the content-affecting spec. Kept so v1beta2 status
    /// loses nothing; not written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_config_checksum: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap; the lint guards library code
mod tests {
    use super::*;

    #[test]
    fn spec_round_trips_and_reads_defaults() {
        let spec = serde_json::json!({
            "url": "ssh://git@github.com/org/repo.git",
            "interval": "1m",
            "ref": {"branch": "main"},
            "verify": {"mode": "head", "secretRef": {"name": "keys"}},
            "include": [{"repository": {"name": "other"}, "fromPath": "deploy"}],
            "gitImplementation": "go-git"
        });
        let parsed: GitRepositorySpec = serde_json::from_value(spec.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), spec);
        assert_eq!(parsed.provider(), GitProvider::Generic);
        assert_eq!(parsed.timeout().unwrap(), Duration::from_secs(60));
        assert_eq!(parsed.interval().unwrap(), Duration::from_secs(60));
        let include = &parsed.include.as_deref().unwrap_or_default()[0];
        assert_eq!(include.from_path(), "deploy");
        assert_eq!(include.to_path(), "other");
        let mode = parsed.verification.as_ref().map(|v| v.mode());
        assert_eq!(mode, Some(GitVerificationMode::LegacyHead));
        assert!(GitVerificationMode::LegacyHead.verify_head());
        assert!(!GitVerificationMode::Head.verify_tag());
        assert!(GitVerificationMode::TagAndHead.verify_tag());
    }

    #[test]
    fn reference_defaults_to_master() {
        assert_eq!(GitRepositoryRef::default().branch_or_default(), "master");
    }

    #[test]
    fn enums_use_flux_spellings() {
        for (value, text) in [
            (GitVerificationMode::LegacyHead, "head"),
            (GitVerificationMode::Head, "HEAD"),
            (GitVerificationMode::Tag, "Tag"),
            (GitVerificationMode::TagAndHead, "TagAndHEAD"),
        ] {
            assert_eq!(serde_json::to_value(value).unwrap(), text);
        }
        for (value, text) in [
            (GitProvider::Generic, "generic"),
            (GitProvider::Azure, "azure"),
            (GitProvider::Github, "github"),
        ] {
            assert_eq!(serde_json::to_value(value).unwrap(), text);
        }
        assert!(serde_json::from_value::<GitProvider>("aws".into()).is_err());
    }
}
