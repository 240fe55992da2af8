//! The native kustomize engine: renders a kustomization (or a plain directory of manifests,
//! as Flux does) from a [`tree::FileTree`] into Kubernetes objects, byte-for-byte as
//! kustomize v5.5.0 prints them, then applies Flux's overrides and postBuild substitution.
//!
//! Owns: the file-tree abstraction and path confinement, YAML parsing and printing with
//! kustomize's exact rules, the kustomization pipeline (resources, generators, components,
//! transformers, patches, replacements, vars, name references, ordering) and Flux's
//! generator, overrides and substitution.
//! Must not: talk to a cluster, or read anything but the confined file tree.

pub mod build;
pub mod crds;
pub mod error;
pub mod fieldspec;
pub mod flux;
pub mod generators;
pub mod hash;
pub mod kustomization;
pub mod nameref;
pub mod openapi;
pub mod patch;
pub mod patching;
pub mod plugins;
pub mod replacements;
pub mod resource;
pub mod scope;
pub mod sort;
pub mod transform;
pub mod tree;
pub mod vars;
pub mod yaml;
