//! The Flux API that driftless serves: `GitRepository` (`source.toolkit.fluxcd.io` v1 and
//! v1beta2) and `Kustomization` (`kustomize.toolkit.fluxcd.io` v1 and v1beta2), field for
//! field as Flux 2.7 (source-controller and kustomize-controller v1.7) defines them, plus
//! the shared `meta` types, the inventory, condition names, and the CRDs generated from all
//! of it.
//!
//! This module owns the types and their schemas, and pure helpers over them (defaults,
//! duration parsing, inventory ids). It does no I/O: no API calls, no files, no Git.
//!
//! Conventions: optional spec fields are `Option`, so an object reads back exactly as it
//! was written (the API server fills schema defaults such as `force: false` and
//! `timeout: 60s`); status lists default to empty. String enums carry
//! `#[schemars(description = "")]` so that the field's doc, not the enum's, becomes the
//! schema description of an optional enum field. Each kind's module doc lists the
//! deliberate differences from Flux and the v1beta2-only fields the stored v1 schema keeps.

pub mod conditions;
pub mod crd;
pub mod git_repository;
pub mod inventory;
pub mod kustomization;
pub mod kustomize;
pub mod meta;
