//! Whether kustomize treats a kind as cluster-scoped: only what its built-in Kubernetes
//! v1.21.2 schema knows as cluster-scoped; every other kind, CRs included, is namespaced.
//! The facts live with the schema table in `patch::schema`; this is the name the pipeline
//! uses.

pub use super::patch::schema::is_cluster_scoped;
