//! `GitRepository` (`source.toolkit.fluxcd.io`), field for field as source-controller v1.7
//! (Flux 2.7) defines it: `v1` is stored, `v1beta2` is served and deprecated.
//!
//! The CRD uses conversion strategy `None`: the API server only rewrites `apiVersion` and
//! prunes every field the target version's schema lacks. So that nothing a v1beta2 user
//! wrote is lost in storage, the stored v1 schema also carries, marked deprecated:
//! - `spec.gitImplementation` (`go-git|libgit2`; ignored, driftless has one Git client; no
//!   default in v1, so v1 objects do not grow the field),
//! - `spec.accessFrom` (a provisional ACL that Flux never enforced; ignored),
//! - `status.url` and `status.contentConfigChecksum` (v1beta2 status fields; not written).
//!
//! Deliberate differences from Flux:
//! - `spec.url` also accepts `git://` and `file://` URLs (pattern
//!   `^(http|https|ssh|git|file)://.*$`): local and daemon-served repositories work without
//!   an HTTP or SSH server. scp-style `user@host:path` is still refused, as in Flux.
//! - The CRD carries the categories `all`, `fluxcd`, `fluxcd-sources` and the annotation
//!   `kustomize.toolkit.fluxcd.io/substitute: disabled`, which upstream added after 1.7.
//!
//! Types only; fetching and serving artifacts is the source reconciler's job.

pub mod v1;
pub mod v1beta2;

/// API group of GitRepository.
pub const GROUP: &str = "source.toolkit.fluxcd.io";
/// Kind name.
pub const KIND: &str = "GitRepository";

/// Schema pattern of `spec.url`: Flux's `^(http|https|ssh)://.*$` plus `git://` and
/// `file://`.
pub const URL_PATTERN: &str = r"^(http|https|ssh|git|file)://.*$";

/// Branch checked out when `spec.ref` names nothing.
pub const DEFAULT_BRANCH: &str = "master";

/// Git operation timeout when `spec.timeout` is unset (also the schema default).
pub const DEFAULT_TIMEOUT: &str = "60s";
