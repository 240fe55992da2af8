//! Git sources: what a GitRepository's artifact holds and how it is fetched.
//!
//! - [`git`] fetches the commit `spec.ref` selects (branch, tag, semver range, named ref or
//!   commit pin) with gix into a bare repository kept per source, over `file://`, `git://`,
//!   `http(s)://` and `ssh://`, with the credentials of the GitRepository's Secret.
//! - [`semver`] is Masterminds semver v3, which Flux uses for `spec.ref.semver`.
//! - [`artifact`] reads a fetched commit's tree from the object store, applies the ignore
//!   rules, serves it as a render `FileTree`, and packs it as a deterministic tarball with
//!   its digest.
//! - [`ignore`] holds Flux's `.sourceignore` and `spec.ignore` rules, which
//!   `driftless build` also applies as `flux build` does.
//!
//! Must not: know about Kustomizations, talk to the cluster, or serve HTTP.

pub mod artifact;
pub mod git;
pub mod ignore;
pub mod semver;
