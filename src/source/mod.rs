//! Git sources: what a GitRepository's artifact holds. So far the ignore rules, which
//! `driftless build` also applies as `flux build` does.
//!
//! Must not: know about Kustomizations.

pub mod ignore;
