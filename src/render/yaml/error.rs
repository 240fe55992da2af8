//! Why a YAML file could not be read or a value could not be printed.
//!
//! Every error names the file (or object) it is about and, when known, the line and column,
//! and says what is wrong in words a person can act on. All of them are permanent: the same
//! bytes fail the same way until someone edits the file.

use std::fmt;

/// A place in a file: 1-based line and 1-based column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A YAML file that cannot be read, or a value that kustomize would refuse to print.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YamlError {
    /// The file is not YAML that kustomize accepts.
    #[error("failed to parse {origin}{}: {problem}", at(.position))]
    Parse {
        /// The file, as the caller named it.
        origin: String,
        /// Where the problem was found, when the parser knows.
        position: Option<Position>,
        /// What is wrong.
        problem: Problem,
    },
    /// A value holds something kustomize cannot print (its JSON-to-YAML step fails).
    #[error("failed to print {origin}: {problem}")]
    Print {
        /// The object, as the caller named it.
        origin: String,
        /// What is wrong.
        problem: Problem,
    },
}

fn at(position: &Option<Position>) -> String {
    position.map(|p| format!(":{p}")).unwrap_or_default()
}

impl YamlError {
    /// Whether the error goes away without anyone editing the input: never, so callers treat
    /// every YAML error as permanent (stalled until the source changes).
    pub fn is_permanent(&self) -> bool {
        true
    }

    /// What is wrong, without the file name.
    pub fn problem(&self) -> &Problem {
        match self {
            Self::Parse { problem, .. } | Self::Print { problem, .. } => problem,
        }
    }

    pub(super) fn parse(origin: &str, position: Option<Position>, problem: Problem) -> Self {
        Self::Parse {
            origin: origin.to_string(),
            position,
            problem,
        }
    }
}

/// What is wrong with a YAML file or value. Messages follow kustomize's (yaml.v3's) wording
/// where one exists, so people can search for them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("invalid UTF-8 at byte {offset}")]
    InvalidUtf8 { offset: usize },
    #[error("control characters are not allowed (U+{code:04X})")]
    ControlCharacter { code: u32 },
    #[error("invalid document separator: {separator}")]
    InvalidSeparator { separator: String },
    #[error("{0}")]
    Syntax(String),
    #[error("mapping key \"{key}\" already defined at line {first_line}")]
    DuplicateKey { key: String, first_line: usize },
    #[error(
        "mapping key {key} is not a string; JSON, and so Kubernetes, needs string keys: quote it"
    )]
    NonStringKey { key: String },
    #[error("a {what} cannot be a mapping key")]
    CollectionKey { what: &'static str },
    #[error("mapping key {key} cannot be converted to a JSON string")]
    UnsupportedKey { key: String },
    #[error("{text} is not a number JSON can hold (json: unsupported value)")]
    NotFinite { text: String },
    #[error("cannot decode {resolved} `{text}` as a {tag}")]
    TagMismatch {
        resolved: String,
        text: String,
        tag: String,
    },
    #[error("!!binary value contains invalid base64 data")]
    InvalidBase64,
    #[error("timestamp {text} has a time zone offset of 24 hours or more, which JSON cannot hold")]
    TimestampOffset { text: String },
    #[error("anchor '{name}' value contains itself")]
    RecursiveAlias { name: String },
    #[error("duplicate merge key")]
    DuplicateMergeKey,
    #[error("map merge requires map or sequence of maps as the value")]
    MergeNotMapping,
    #[error("invalid map merge: received alias for a non-map value")]
    MergeAliasNotMapping,
    #[error("invalid map merge: received a nested sequence")]
    MergeNestedSequence,
    #[error("nesting is deeper than {limit} levels")]
    TooDeep { limit: usize },
    #[error("merge keys merge maps into each other more than {limit} levels deep")]
    MergeTooDeep { limit: usize },
    #[error("aliases expand to more than {limit} nodes; refusing a possible alias bomb")]
    AliasNodes { limit: u64 },
    #[error("aliases expand to more than {limit} bytes of text; refusing a possible alias bomb")]
    AliasBytes { limit: u64 },
    #[error(
        "mapping key {key} contains a U+0085 line break, which kustomize cannot print in a key"
    )]
    LineBreakInKey { key: String },
    #[error("found unexpected document indicator: a U+0085 line break followed by --- or ...")]
    DocumentMarkerAfterNel,
    #[error(
        "mapping key {key} is longer than kustomize can print ({length} characters as JSON, limit {limit})"
    )]
    KeyTooLong {
        key: String,
        length: usize,
        limit: usize,
    },
}
