//! Applying a Kustomization's rendered objects: the plan, decided over data, and the one
//! edge that carries it out against the API server.
//!
//! Owns: the rules of fluxcd/pkg `ssa` and kustomize-controller. As plain functions
//! (`desired`, `flux_crds`, `order`, `prune`, `changes`, `drift`, `health`): which rendered
//! objects are valid, which are set aside (Flux's own CRDs), in which stage and order they
//! are applied, which objects an apply must leave alone, what the inventory becomes and
//! what prune deletes, how a change set reads, whether a live object drifted, whether it
//! is healthy (kstatus). As I/O (`ssa`, only there): discovery, server-side dry-run and
//! apply, waiting for CRDs, deletion, waiting for health.
//!
//! Must not: read sources, render, or write the Kustomization's status (the Kustomization
//! actor in `controller` does).

pub mod changes;
pub mod desired;
pub mod drift;
pub mod flux_crds;
pub mod health;
pub mod managed;
pub mod order;
pub mod prune;
pub mod ssa;

pub use changes::{Action, Change, ChangeSet};
pub use desired::{Desired, ValidationError, validate};
pub use flux_crds::{flux_crds_note, is_flux_crd, set_aside_flux_crds};
pub use health::{Health, HealthError};
pub use order::{Stage, plan};
pub use prune::{
    Exclusion, exclusion, force_enabled, inventory_of, is_owned_by, prune_disabled, stale,
};
pub use ssa::{AppliedObject, Applier, ApplyError, Discovery, Pruned};
