//! Git sources: what a GitRepository's artifact holds. The ignore rules (which
//! `driftless build` also applies as `flux build` does) and `spec.ref.semver` ranges.
//!
//! Must not: know about Kustomizations.

pub mod git;
pub mod ignore;
pub mod semver;
