//! Why a render failed. Every variant names the file (tree path) or object involved and
//! what to do; all are permanent (a person must fix the source) except a tree that could not
//! be read, which may succeed on a retry.

use super::kustomization::KustomizationError;
use super::transform::TransformError;
use super::tree::{PathError, TreeError};

/// A render error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Tree(#[from] TreeError),
    #[error(transparent)]
    Path(#[from] PathError),
    #[error(
        "security; file '{file}' is not in or below '{root}' (the load restrictor is root-only)"
    )]
    Restricted { file: String, root: String },
    #[error(
        "{file}: remote {field} entry '{entry}' is not supported: driftless renders only what the source holds; vendor it into the repository"
    )]
    Remote {
        file: String,
        field: &'static str,
        entry: String,
    },
    #[error("{0}")]
    Yaml(String),
    #[error("{file}: {problem}")]
    Kustomization {
        file: String,
        problem: KustomizationError,
    },
    #[error("no kustomization.yaml, kustomization.yml or Kustomization in '{dir}'")]
    MissingKustomization { dir: String },
    #[error("found multiple kustomization files under '{dir}'; keep one")]
    MultipleKustomizations { dir: String },
    #[error(
        "{file}: resources entry '{entry}' is neither a readable file ({file_error}) nor a kustomization directory ({dir_error})"
    )]
    Unresolvable {
        file: String,
        entry: String,
        file_error: String,
        dir_error: String,
    },
    #[error("{file}: '{entry}' is a {found}, but {field} must name {wanted}")]
    WrongEntryKind {
        file: String,
        field: &'static str,
        entry: String,
        found: &'static str,
        wanted: &'static str,
    },
    #[error(
        "cycle detected: '{candidate}' contains or equals '{visited}', which is already being built"
    )]
    Cycle { candidate: String, visited: String },
    #[error("{file}: may not add resource with an already registered id: {id}")]
    DuplicateId { file: String, id: String },
    #[error("{file}: object {index} has no metadata.name")]
    MissingName { file: String, index: usize },
    #[error("{file}: object {index} has no kind")]
    MissingKind { file: String, index: usize },
    #[error("{file}: object {index} is not a mapping")]
    NotAnObject { file: String, index: usize },
    #[error("{file}: {field}: {message}")]
    Field {
        file: String,
        field: &'static str,
        message: String,
    },
    #[error("{file}: {problem}")]
    Transform {
        file: String,
        problem: TransformError,
    },
    #[error("{file}: '{field}' is not supported: {why}")]
    Unsupported {
        file: String,
        field: String,
        why: String,
    },
    #[error("{object}: every object must have apiVersion, kind and metadata.name")]
    IncompleteObject { object: String },
    #[error(transparent)]
    PostBuild(#[from] super::flux::substitute::PostBuildError),
    #[error("{what} nests deeper than {limit} kustomizations")]
    TooDeep { what: String, limit: usize },
}

impl RenderError {
    /// Whether a retry may succeed without anyone changing the source.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Tree(TreeError::Io { .. }))
    }
}
