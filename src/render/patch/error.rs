//! Why a patch or a patch target selector could not be applied.

/// A patch, a JSON 6902 operation or a selector that failed. Every variant is permanent:
/// the same inputs fail the same way, so a render stalls until the source changes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The target or the patch of a strategic merge is not a YAML map.
    #[error("strategic merge patch {what} is not a map")]
    NotAMap { what: &'static str },
    /// A `$patch` directive with a value other than `delete`, `replace` or `merge`.
    #[error("unknown patch strategy '{value}' at '{path}'")]
    UnknownDirective { path: String, value: String },
    /// Patch and target disagree on the kind of a node (map, list or scalar).
    #[error("wrong node kind at '{path}': expected {expected} but got {found}")]
    WrongNodeKind {
        path: String,
        expected: &'static str,
        found: &'static str,
    },
    /// kyaml's merge refused an associative list it cannot merge (for example a scalar
    /// element in a list merged by key).
    #[error("cannot merge list at '{path}': {reason}")]
    UnmergeableList { path: String, reason: String },
    /// The JSON 6902 patch text or value is not a list of operation objects.
    #[error("invalid JSON 6902 patch: {reason}")]
    InvalidJsonPatch { reason: String },
    /// One JSON 6902 operation failed; `message` is json-patch's own wording.
    #[error("JSON 6902 operation {index} ({op}) failed: {message}")]
    JsonPatchOperation {
        index: usize,
        op: String,
        message: String,
    },
    /// A selector field is not a valid regular expression.
    #[error("invalid {field} regex '{pattern}' in patch target: {reason}")]
    InvalidSelectorRegex {
        field: &'static str,
        pattern: String,
        reason: String,
    },
    /// A label or annotation selector does not parse.
    #[error("invalid {field} '{selector}' in patch target: {reason}")]
    InvalidLabelSelector {
        field: &'static str,
        selector: String,
        reason: String,
    },
}

impl PatchError {
    /// Always true: retrying a patch on the same inputs cannot succeed.
    pub const fn is_permanent(&self) -> bool {
        true
    }
}
