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
    /// The file is not UTF-8 (kustomize's reader refuses it too).
    #[error("invalid UTF-8 at byte {offset}")]
    InvalidUtf8 { offset: usize },
    /// A character libyaml's reader refuses anywhere in a stream.
    #[error("control characters are not allowed (U+{code:04X})")]
    ControlCharacter { code: u32 },
    /// A `---` line with more than a comment after it (kyaml's splitter).
    #[error("invalid document separator: {separator}")]
    InvalidSeparator { separator: String },
    /// The parser's own message for text that is not YAML.
    #[error("{0}")]
    Syntax(String),
    /// A key written twice in one mapping of a resource (yaml.v3 refuses it).
    #[error("mapping key \"{key}\" already defined at line {first_line}")]
    DuplicateKey { key: String, first_line: usize },
    /// A key below the root of a resource that is not a string.
    #[error(
        "mapping key {key} is not a string; JSON, and so Kubernetes, needs string keys: quote it"
    )]
    NonStringKey { key: String },
    /// A mapping or sequence used as a key.
    #[error("a {what} cannot be a mapping key")]
    CollectionKey { what: &'static str },
    /// A key that cannot become a JSON object key (a null, or a too-large integer in a config file).
    #[error("mapping key {key} cannot be converted to a JSON string")]
    UnsupportedKey { key: String },
    /// `.inf` or `.nan` (JSON has no such numbers).
    #[error("{text} is not a number JSON can hold (json: unsupported value)")]
    NotFinite { text: String },
    /// An explicit tag the text does not fit (`!!int abc`).
    #[error("cannot decode {resolved} `{text}` as a {tag}")]
    TagMismatch {
        resolved: String,
        text: String,
        tag: String,
    },
    /// `!!binary` text that is not base64.
    #[error("!!binary value contains invalid base64 data")]
    InvalidBase64,
    /// A timestamp whose offset Go's JSON encoder refuses.
    #[error("timestamp {text} has a time zone offset of 24 hours or more, which JSON cannot hold")]
    TimestampOffset { text: String },
    /// An alias inside the node its anchor names.
    #[error("anchor '{name}' value contains itself")]
    RecursiveAlias { name: String },
    /// Two `<<` keys in one mapping.
    #[error("duplicate merge key")]
    DuplicateMergeKey,
    /// A merge key whose value is neither a mapping nor a list of mappings.
    #[error("map merge requires map or sequence of maps as the value")]
    MergeNotMapping,
    /// A merge key naming an alias of something other than a mapping.
    #[error("invalid map merge: received alias for a non-map value")]
    MergeAliasNotMapping,
    /// A merge key whose list holds a list.
    #[error("invalid map merge: received a nested sequence")]
    MergeNestedSequence,
    /// Collections nested deeper than [`super::MAX_DEPTH`], aliases included.
    #[error("nesting is deeper than {limit} levels")]
    TooDeep { limit: usize },
    /// Maps merged into maps through merge keys too many levels deep.
    #[error("merge keys merge maps into each other more than {limit} levels deep")]
    MergeTooDeep { limit: usize },
    /// Alias expansion producing too many nodes (an alias bomb).
    #[error("aliases expand to more than {limit} nodes; refusing a possible alias bomb")]
    AliasNodes { limit: u64 },
    /// Alias expansion copying too much text (an alias bomb).
    #[error("aliases expand to more than {limit} bytes of text; refusing a possible alias bomb")]
    AliasBytes { limit: u64 },
    /// A key holding U+0085, which kustomize cannot print.
    #[error(
        "mapping key {key} contains a U+0085 line break, which kustomize cannot print in a key"
    )]
    LineBreakInKey { key: String },
    /// U+0085 followed by `---` or `...` in a value, which kustomize cannot print.
    #[error("found unexpected document indicator: a U+0085 line break followed by --- or ...")]
    DocumentMarkerAfterNel,
    /// A key too long for goyaml.v2 to read back from JSON when printing.
    #[error(
        "mapping key {key} is longer than kustomize can print ({length} characters as JSON, limit {limit})"
    )]
    KeyTooLong {
        key: String,
        length: usize,
        limit: usize,
    },
}
