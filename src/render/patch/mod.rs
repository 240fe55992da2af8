//! Patches: kustomize's strategic merge (kyaml `merge2`) and JSON 6902 (evanphx json-patch
//! v4) patches, the patch target selector, and the facts of kustomize's built-in Kubernetes
//! v1.21.2 schema that both strategic merge and the namespace transformer rely on, combined
//! when asked with a custom OpenAPI document (a kustomization's `openapi:` field).
//!
//! Owns: merging one patch into one resource, applying JSON 6902 operations to one
//! document, deciding whether one resource matches a selector, the schema tables and the
//! index of a custom schema.
//! Must not: load patch files, pick the resources a patch applies to, restore names after a
//! merge, or parse YAML (the pipeline does all of that and calls in here).

pub mod custom;
mod error;
pub mod json6902;
pub mod schema;
pub mod selector;
pub mod smp;

pub use error::PatchError;
