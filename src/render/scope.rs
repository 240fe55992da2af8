//! Whether kustomize treats a kind as cluster-scoped: only what its built-in Kubernetes
//! v1.21.2 schema knows as cluster-scoped, plus what a custom `openapi:` schema's API paths
//! declare so; every other kind, CRs included, is namespaced. The facts live with the schema
//! table in `patch::schema` and the build's schema state in `openapi`; this is the name the
//! pipeline uses.

pub use super::openapi::is_cluster_scoped;
