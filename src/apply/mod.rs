//! The apply plan of a Kustomization, decided over data: which rendered objects are valid,
//! in which stage and order they are applied, which objects an apply must leave alone, what
//! the inventory becomes and what prune deletes, and how a change set reads.
//!
//! Owns: the rules of fluxcd/pkg `ssa` and kustomize-controller that need no API server
//! (staging, kind order, exclusion labels, the inventory diff, the change-set summary).
//!
//! Must not: talk to the API server, read the source or render; `controller::applier`
//! carries out the plan, the Kustomization actor writes status.

pub mod changes;
pub mod desired;
pub mod order;
pub mod prune;

pub use changes::{Action, Change, ChangeSet};
pub use desired::{Desired, ValidationError, validate};
pub use order::{Stage, plan};
pub use prune::{Exclusion, exclusion, inventory_of, is_owned_by, prune_disabled, stale};
