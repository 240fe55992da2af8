//! From bytes to node trees: the checks libyaml's reader makes, kyaml's document splitting,
//! and the parser's events collected into one arena per document.
//!
//! Owns the syntax layer only. What scalars mean, merge keys, and the conversion to JSON live
//! in `convert`. Nothing here recurses, so hostile nesting cannot overflow the stack: the
//! parser is a state machine and the tree is built with an explicit stack, bounded by
//! [`MAX_DEPTH`].

use std::collections::HashMap;

use serde_saphyr::granit_parser::{
    self, ErrorKind, Event, Parser, ScalarStyle, ScanError, StructureStyle,
};

use super::error::{Position, Problem, YamlError};
use super::resolve::short_tag;

/// How deeply collections may nest in a document, in the source and in the value after
/// aliases are expanded. Kubernetes objects stay far below this (deep CRD schemas reach a
/// few dozen levels); the bound keeps every later recursive walk shallow.
pub const MAX_DEPTH: usize = 500;

/// Index of a node in its document's arena.
pub(super) type NodeId = usize;

/// How a scalar was written, as far as meaning is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    Plain,
    /// Single- or double-quoted.
    Quoted,
    /// Literal block (`|`).
    Literal,
    /// Folded block (`>`).
    Folded,
}

/// A node as written, before any resolution.
#[derive(Debug)]
pub(super) enum NodeKind {
    Scalar {
        text: String,
        style: Style,
        /// The explicit tag in short form (`!!int`, `!foo`, `!`), if any.
        tag: Option<String>,
    },
    Sequence {
        items: Vec<NodeId>,
        /// Written in flow style (`[a, b]`).
        flow: bool,
    },
    Mapping {
        pairs: Vec<(NodeId, NodeId)>,
        /// Written in flow style (`{a: b}`).
        flow: bool,
    },
    /// An alias to a complete node defined earlier in the same document.
    Alias(NodeId),
}

/// One node of a document.
#[derive(Debug)]
pub(super) struct Node {
    pub kind: NodeKind,
    pub position: Position,
    /// The anchor name, for messages about aliases.
    pub anchor: Option<String>,
}

/// One parsed document.
#[derive(Debug)]
pub(super) struct Document {
    pub nodes: Vec<Node>,
    pub root: NodeId,
}

impl Document {
    pub fn node(&self, id: NodeId) -> &Node {
        // Ids are only ever created by the builder for this arena.
        &self.nodes[id]
    }
}

/// Checks the bytes are UTF-8 and free of the characters libyaml's reader refuses anywhere
/// in a stream (even in comments): C0 controls other than TAB, LF and CR, DEL, C1 controls
/// other than NEL, surrogates, U+FFFE and U+FFFF.
pub(super) fn check_text<'a>(bytes: &'a [u8], origin: &str) -> Result<&'a str, YamlError> {
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let offset = error.valid_up_to();
        YamlError::parse(
            origin,
            Some(position_at(bytes, offset)),
            Problem::InvalidUtf8 { offset },
        )
    })?;
    if let Some((offset, c)) = text.char_indices().find(|&(_, c)| !readable(c)) {
        return Err(YamlError::parse(
            origin,
            Some(position_at(bytes, offset)),
            Problem::ControlCharacter { code: u32::from(c) },
        ));
    }
    Ok(text)
}

/// Whether libyaml's reader accepts the character in its input.
pub(super) fn readable(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r' | '\u{20}'..='\u{7E}' | '\u{85}' | '\u{A0}'..='\u{D7FF}'
        | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn position_at(bytes: &[u8], offset: usize) -> Position {
    let before = bytes.get(..offset).unwrap_or(bytes);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    Position { line, column }
}

/// A piece of a resource file between separators, and the line it starts on (0-based).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Piece {
    pub text: String,
    pub first_line: usize,
}

/// Splits a resource file the way kyaml's `ByteReader` does before any YAML parsing:
/// CRLF becomes LF, then every line starting with `---` (after a line break) ends a
/// document. Only white space or a comment may follow `---` on that line. Each piece is
/// later parsed on its own and only its first document is read, so anchors never cross a
/// separator and anything after a `...` inside a piece is ignored, as in kustomize.
pub(super) fn split_documents(text: &str, origin: &str) -> Result<Vec<Piece>, YamlError> {
    let text = text.replace("\r\n", "\n");
    let mut pieces = Vec::new();
    if text.is_empty() {
        return Ok(pieces);
    }
    let mut start = 0;
    // Line breaks before `start`, kept incrementally so long files stay linear.
    let mut lines_before_start = 0;
    // kyaml's pattern is `\n---.*\n`, matched left to right without overlap.
    while let Some(found) = text[start..].find("\n---") {
        let separator = start + found;
        let Some(length) = text[separator + 1..].find('\n') else {
            break;
        };
        let line_end = separator + 1 + length;
        let separator_line = lines_before_start + text[start..=separator].matches('\n').count();
        let rest = text[separator + 4..line_end].trim();
        if !rest.is_empty() && !rest.starts_with('#') {
            return Err(YamlError::parse(
                origin,
                Some(Position {
                    line: separator_line + 1,
                    column: 1,
                }),
                Problem::InvalidSeparator {
                    separator: text[separator + 1..line_end].trim().to_string(),
                },
            ));
        }
        // The separator consumed the line break that ended the document; kyaml puts it back.
        pieces.push(Piece {
            text: format!("{}\n", &text[start..separator]),
            first_line: lines_before_start,
        });
        start = line_end + 1;
        lines_before_start = separator_line + 1;
    }
    pieces.push(Piece {
        text: text[start..].to_string(),
        first_line: lines_before_start,
    });
    Ok(pieces)
}

/// Parser options matching libyaml where they differ from the YAML test suite.
fn options() -> granit_parser::Options {
    granit_parser::options! {
        // libyaml ends a block scalar at end of input without adding a line feed.
        block_scalar_eof_without_line_feed: true,
        // libyaml reads a BOM inside a document as content.
        bom_inside_document_as_content: true,
        emit_anchor_events: true,
        emit_comments: false,
        flow_nesting_limit: MAX_DEPTH,
        block_nesting_limit: MAX_DEPTH,
    }
}

/// Parses the first document of `text`; `None` when there is none (empty input, only
/// comments). Lines in positions are shifted by `first_line`.
///
/// libyaml accepts two things YAML 1.2 and this parser do not: `\'` in double-quoted
/// scalars, and a plain `-` directly followed by `,`, `]` or `}` in a flow collection. When
/// the parser stops on one of them, the text is rewritten to an equivalent this parser
/// reads (`\x27`, `'-'`) and parsing starts again, at most [`MAX_REPAIRS`] times. Columns
/// reported later on the same line then shift.
pub(super) fn first_document(
    text: &str,
    first_line: usize,
    origin: &str,
) -> Result<Option<Document>, YamlError> {
    // libyaml (YAML 1.1) reads U+0085 as a line break everywhere and stores it as a line
    // feed; YAML 1.2, and so this parser, reads it as an ordinary character.
    let mut text = if text.contains('\u{85}') {
        std::borrow::Cow::Owned(text.replace('\u{85}', "\n"))
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    for _ in 0..=MAX_REPAIRS {
        match parse_first(&text, first_line, origin) {
            Err(Failure::Escape(offset)) => match repair_single_quote_escapes(&text, offset) {
                Some(repaired) => text = std::borrow::Cow::Owned(repaired),
                None => return Err(Failure::error_at(&text, offset, first_line, origin)),
            },
            Err(Failure::Dash(offset, error)) => match repair_flow_dash(&text, offset) {
                Some(repaired) => text = std::borrow::Cow::Owned(repaired),
                None => return Err(*error),
            },
            Err(Failure::Fatal(error)) => return Err(error),
            Ok(doc) => return Ok(doc),
        }
    }
    Err(YamlError::parse(
        origin,
        None,
        Problem::Syntax(format!(
            "more than {MAX_REPAIRS} places use libyaml-only syntax (\\' escapes, a bare - in a flow collection)"
        )),
    ))
}

/// How many places with libyaml-only syntax one document may contain: each costs a parse.
const MAX_REPAIRS: usize = 64;

/// Why a parse stopped.
enum Failure {
    /// The parser found an unknown escape in the double-quoted scalar starting at this byte
    /// offset; it may be libyaml's `\'`.
    Escape(usize),
    /// The parser refused a plain scalar starting with `-` at this byte offset in a flow
    /// collection; libyaml reads `-` followed by `,`, `]` or `}` as the string "-".
    Dash(usize, Box<YamlError>),
    Fatal(YamlError),
}

impl Failure {
    fn error_at(text: &str, offset: usize, first_line: usize, origin: &str) -> YamlError {
        let mut position = position_at(text.as_bytes(), offset);
        position.line += first_line;
        YamlError::parse(
            origin,
            Some(position),
            Problem::Syntax(
                "while parsing a quoted scalar, found unknown escape character".to_string(),
            ),
        )
    }
}

/// Quotes the `-` at `offset` when a flow indicator that ends the scalar follows it.
fn repair_flow_dash(text: &str, offset: usize) -> Option<String> {
    let rest = text.get(offset..)?;
    let mut chars = rest.chars();
    if chars.next() != Some('-') || !matches!(chars.next(), Some(',' | ']' | '}')) {
        return None;
    }
    Some(format!("{}'-'{}", &text[..offset], &rest[1..]))
}

/// Rewrites every `\'` of the double-quoted scalar whose opening quote is at `offset`;
/// `None` when it has none (the unknown escape is something else).
fn repair_single_quote_escapes(text: &str, offset: usize) -> Option<String> {
    let rest = text.get(offset..)?;
    let mut chars = rest.char_indices();
    if chars.next().map(|(_, c)| c) != Some('"') {
        return None;
    }
    let mut escapes = Vec::new();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => break,
            '\\' => {
                if let Some((_, '\'')) = chars.next() {
                    escapes.push(offset + at);
                }
            }
            _ => {}
        }
    }
    if escapes.is_empty() {
        return None;
    }
    let mut repaired = String::with_capacity(text.len() + 2 * escapes.len());
    let mut copied = 0;
    for at in escapes {
        repaired.push_str(&text[copied..at]);
        repaired.push_str("\\x27");
        copied = at + 2;
    }
    repaired.push_str(&text[copied..]);
    Some(repaired)
}

/// Escapes this parser (YAML 1.2) accepts in a double-quoted scalar and libyaml refuses:
/// `\/`, and `\u`/`\U` naming a surrogate (the parser combines surrogate pairs).
fn check_escapes(raw: &str) -> Result<(), &'static str> {
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            continue;
        }
        match chars.next() {
            Some('/') => {
                return Err("while parsing a quoted scalar, found unknown escape character");
            }
            Some(kind @ ('u' | 'U')) => {
                let digits: String = chars
                    .clone()
                    .take(if kind == 'u' { 4 } else { 8 })
                    .collect();
                let surrogate =
                    u32::from_str_radix(&digits, 16).is_ok_and(|v| (0xD800..=0xDFFF).contains(&v));
                if surrogate {
                    return Err(
                        "while parsing a quoted scalar, found invalid Unicode character escape code",
                    );
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn parse_first(text: &str, first_line: usize, origin: &str) -> Result<Option<Document>, Failure> {
    let mut builder = Builder::new(origin, first_line);
    for next in Parser::new_from_str_with_options(text, options()) {
        let (event, span) = match next {
            Ok(next) => next,
            Err(error) => {
                let offset = error.marker().byte_offset();
                return Err(match (error.kind(), offset) {
                    (ErrorKind::UnknownQuotedScalarEscape, Some(offset)) => Failure::Escape(offset),
                    (ErrorKind::PlainScalarStartsWithDashFlowIndicator, Some(offset)) => {
                        Failure::Dash(offset, Box::new(builder.scan_error(&error)))
                    }
                    _ => Failure::Fatal(builder.scan_error(&error)),
                });
            }
        };
        let position = builder.position(span.start.line(), span.start.col());
        match event {
            Event::StreamStart | Event::DocumentStart(..) => {}
            Event::DocumentEnd | Event::StreamEnd => break,
            Event::Anchor(id, name) => builder.name_anchor(id, &name),
            Event::Scalar(value, style, anchor, tag) => {
                if style == ScalarStyle::DoubleQuoted {
                    let raw = span
                        .start
                        .byte_offset()
                        .zip(span.end.byte_offset())
                        .and_then(|(start, end)| text.get(start..end))
                        .unwrap_or_default();
                    if raw.contains('\\') {
                        check_escapes(raw).map_err(|message| {
                            Failure::Fatal(YamlError::parse(
                                origin,
                                Some(position),
                                Problem::Syntax(message.to_string()),
                            ))
                        })?;
                    }
                }
                // libyaml (YAML 1.1) ends a plain scalar at `?` inside a flow collection
                // and then reads `?` as a key indicator, which cannot follow a scalar.
                if style == ScalarStyle::Plain
                    && value.get(1..).is_some_and(|rest| rest.contains('?'))
                    && builder.in_flow()
                {
                    let message = "found '?' in a plain scalar inside a flow collection (libyaml ends the scalar there); quote the value";
                    return Err(Failure::Fatal(YamlError::parse(
                        origin,
                        Some(position),
                        Problem::Syntax(message.to_string()),
                    )));
                }
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Style::Quoted,
                    ScalarStyle::Literal => Style::Literal,
                    _ => Style::Folded,
                };
                let tag = tag.map(|t| short_tag(&format!("{}{}", t.handle(), t.suffix())));
                // The parser reports a missing (empty) plain scalar as `~` with an empty
                // span; libyaml reports the empty text, which differs where the text matters
                // (round trips, key text, `!!str`).
                let missing =
                    style == Style::Plain && value == "~" && span.start.index() == span.end.index();
                let kind = NodeKind::Scalar {
                    text: if missing {
                        String::new()
                    } else {
                        value.into_owned()
                    },
                    style,
                    tag,
                };
                let id = builder.add(kind, position, anchor);
                builder.attach(id);
            }
            Event::SequenceStart(style, anchor, _) => {
                let kind = NodeKind::Sequence {
                    items: Vec::new(),
                    flow: style == StructureStyle::Flow,
                };
                builder
                    .open(kind, position, anchor)
                    .map_err(Failure::Fatal)?;
            }
            Event::MappingStart(style, anchor, _) => {
                let kind = NodeKind::Mapping {
                    pairs: Vec::new(),
                    flow: style == StructureStyle::Flow,
                };
                builder
                    .open(kind, position, anchor)
                    .map_err(Failure::Fatal)?;
            }
            Event::SequenceEnd | Event::MappingEnd => builder.close(),
            Event::Alias(id) => {
                let alias = builder.alias(id, position).map_err(Failure::Fatal)?;
                builder.attach(alias);
            }
            // Comments are switched off; unresolved aliases are errors by default.
            _ => {}
        }
    }
    Ok(builder.finish())
}

/// Reads back a folded block scalar written as `x: >…` (see `convert::folded_round_trip`);
/// `None` if the text does not parse as one.
pub(super) fn read_folded(text: &str) -> Option<String> {
    let doc = parse_first(text, 0, "").ok()??;
    let NodeKind::Mapping { pairs, .. } = &doc.node(doc.root).kind else {
        return None;
    };
    let (_, value) = pairs.first()?;
    match &doc.node(*value).kind {
        NodeKind::Scalar { text, .. } => Some(text.clone()),
        _ => None,
    }
}

/// Collects events into an arena.
struct Builder<'a> {
    origin: &'a str,
    first_line: usize,
    nodes: Vec<Node>,
    /// Open collections and the children gathered so far.
    open: Vec<(NodeId, Vec<NodeId>)>,
    /// Whether each node is complete; an alias to an open collection would be a cycle.
    complete: Vec<bool>,
    /// The parser's anchor ids to nodes.
    anchors: HashMap<usize, NodeId>,
    root: Option<NodeId>,
}

impl<'a> Builder<'a> {
    fn new(origin: &'a str, first_line: usize) -> Self {
        Self {
            origin,
            first_line,
            nodes: Vec::new(),
            open: Vec::new(),
            complete: Vec::new(),
            anchors: HashMap::new(),
            root: None,
        }
    }

    fn position(&self, line: usize, column: usize) -> Position {
        Position {
            line: line + self.first_line,
            column: column + 1,
        }
    }

    fn scan_error(&self, error: &ScanError) -> YamlError {
        let marker = error.marker();
        let position = self.position(marker.line(), marker.col());
        let problem = match error.kind() {
            ErrorKind::RecursionLimitExceeded => Problem::TooDeep { limit: MAX_DEPTH },
            _ => Problem::Syntax(error.info()),
        };
        YamlError::parse(self.origin, Some(position), problem)
    }

    fn add(&mut self, kind: NodeKind, position: Position, anchor: usize) -> NodeId {
        let id = self.nodes.len();
        let complete = !matches!(kind, NodeKind::Sequence { .. } | NodeKind::Mapping { .. });
        self.nodes.push(Node {
            kind,
            position,
            anchor: None,
        });
        self.complete.push(complete);
        if anchor != 0 {
            self.anchors.insert(anchor, id);
        }
        id
    }

    fn name_anchor(&mut self, anchor: usize, name: &str) {
        if let Some(&id) = self.anchors.get(&anchor)
            && let Some(node) = self.nodes.get_mut(id)
        {
            node.anchor = Some(name.to_string());
        }
    }

    /// Whether the next node is inside a flow collection.
    fn in_flow(&self) -> bool {
        self.open.iter().any(|&(id, _)| {
            matches!(
                self.nodes.get(id).map(|n| &n.kind),
                Some(NodeKind::Sequence { flow: true, .. } | NodeKind::Mapping { flow: true, .. })
            )
        })
    }

    fn open(&mut self, kind: NodeKind, position: Position, anchor: usize) -> Result<(), YamlError> {
        if self.open.len() >= MAX_DEPTH {
            return Err(YamlError::parse(
                self.origin,
                Some(position),
                Problem::TooDeep { limit: MAX_DEPTH },
            ));
        }
        let id = self.add(kind, position, anchor);
        self.open.push((id, Vec::new()));
        Ok(())
    }

    fn close(&mut self) {
        let Some((id, children)) = self.open.pop() else {
            return;
        };
        if let Some(node) = self.nodes.get_mut(id) {
            match &mut node.kind {
                NodeKind::Sequence { items, .. } => *items = children,
                NodeKind::Mapping { pairs, .. } => {
                    *pairs = children
                        .chunks_exact(2)
                        .map(|pair| (pair[0], pair[1]))
                        .collect();
                }
                _ => {}
            }
        }
        if let Some(done) = self.complete.get_mut(id) {
            *done = true;
        }
        self.attach(id);
    }

    fn alias(&mut self, anchor: usize, position: Position) -> Result<NodeId, YamlError> {
        let target = self
            .anchors
            .get(&anchor)
            .copied()
            .filter(|&t| t < self.nodes.len());
        let Some(target) = target else {
            // The parser reports unknown anchors itself; this only guards the arena.
            return Err(YamlError::parse(
                self.origin,
                Some(position),
                Problem::Syntax("unknown anchor referenced".to_string()),
            ));
        };
        if !self.complete.get(target).copied().unwrap_or(false) {
            let name = self.nodes[target].anchor.clone().unwrap_or_default();
            return Err(YamlError::parse(
                self.origin,
                Some(position),
                Problem::RecursiveAlias { name },
            ));
        }
        Ok(self.add(NodeKind::Alias(target), position, 0))
    }

    fn attach(&mut self, id: NodeId) {
        match self.open.last_mut() {
            Some((_, children)) => children.push(id),
            None => self.root = Some(id),
        }
    }

    fn finish(self) -> Option<Document> {
        let root = self.root?;
        Some(Document {
            nodes: self.nodes,
            root,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &str) -> Vec<(String, usize)> {
        split_documents(text, "f.yaml")
            .expect("split")
            .into_iter()
            .map(|p| (p.text, p.first_line))
            .collect()
    }

    #[test]
    fn splits_like_kyaml() {
        assert_eq!(pieces(""), Vec::<(String, usize)>::new());
        assert_eq!(pieces("a: 1\n"), vec![("a: 1\n".to_string(), 0)]);
        assert_eq!(
            pieces("a: 1\n---\nb: 2\n"),
            vec![("a: 1\n".to_string(), 0), ("b: 2\n".to_string(), 2)]
        );
        assert_eq!(
            pieces("---\na: 1\n--- # c\nb: 2"),
            vec![("---\na: 1\n".to_string(), 0), ("b: 2".to_string(), 3)]
        );
        // The second of two adjacent separators has no line break of its own left.
        assert_eq!(
            pieces("a\n---\n---\nb\n"),
            vec![("a\n".to_string(), 0), ("---\nb\n".to_string(), 2)]
        );
        assert_eq!(
            pieces("a: 1\r\n---\r\nb: 2\r\n"),
            vec![("a: 1\n".to_string(), 0), ("b: 2\n".to_string(), 2)]
        );
        // A separator at the very end without a final line break is not one.
        assert_eq!(pieces("a: 1\n---"), vec![("a: 1\n---".to_string(), 0)]);
    }

    #[test]
    fn refuses_content_after_a_separator() {
        let error = split_documents("a: 1\n--- b: 2\nc: 3\n", "f.yaml").expect_err("separator");
        assert_eq!(
            error.to_string(),
            "failed to parse f.yaml:2:1: invalid document separator: --- b: 2"
        );
    }

    #[test]
    fn checks_encoding_and_control_characters() {
        let error = check_text(b"a: 1\nb: \xff\n", "f.yaml").expect_err("utf-8");
        assert_eq!(
            error.to_string(),
            "failed to parse f.yaml:2:4: invalid UTF-8 at byte 8"
        );
        let error = check_text(b"a: 1\nb: x\x7fy\n", "f.yaml").expect_err("control");
        assert_eq!(
            error.to_string(),
            "failed to parse f.yaml:2:5: control characters are not allowed (U+007F)"
        );
        assert!(
            check_text(
                "a: \"\u{85}\u{A0}\u{FEFF}\u{1F600}\"\n".as_bytes(),
                "f.yaml"
            )
            .is_ok()
        );
        assert!(check_text("a: \u{FFFE}\n".as_bytes(), "f.yaml").is_err());
    }

    #[test]
    fn builds_one_document_and_ignores_the_rest() {
        let doc = first_document("a: [1, &x {b: c}]\nd: *x\n...\ne: 2\n", 0, "f.yaml")
            .expect("parse")
            .expect("document");
        let NodeKind::Mapping { pairs, .. } = &doc.node(doc.root).kind else {
            panic!("not a mapping");
        };
        assert_eq!(pairs.len(), 2);
        assert!(matches!(doc.node(pairs[1].1).kind, NodeKind::Alias(_)));
        assert!(
            first_document("# only a comment\n", 0, "f.yaml")
                .expect("parse")
                .is_none()
        );
        assert!(first_document("", 0, "f.yaml").expect("parse").is_none());
    }

    #[test]
    fn refuses_an_alias_inside_its_own_anchor() {
        let error = first_document("a: &x [1, *x]\n", 0, "f.yaml").expect_err("cycle");
        assert_eq!(
            error.to_string(),
            "failed to parse f.yaml:1:11: anchor 'x' value contains itself"
        );
    }

    #[test]
    fn libyaml_escapes() {
        let doc = first_document("a: \"it\\'s \\'x\\'\"\nb: \"\\'\"\n", 0, "f.yaml")
            .expect("parse")
            .expect("document");
        let texts: Vec<&str> = doc
            .nodes
            .iter()
            .filter_map(|n| match &n.kind {
                NodeKind::Scalar { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(texts, ["a", "it's 'x'", "b", "'"]);
        let error = first_document("a: \"x\\/y\"\n", 0, "f.yaml").expect_err("slash");
        assert_eq!(
            error.to_string(),
            "failed to parse f.yaml:1:4: while parsing a quoted scalar, found unknown escape character"
        );
        let error = first_document("a: \"\\uD83D\\uDE00\"\n", 0, "f.yaml").expect_err("surrogate");
        assert!(error.to_string().contains("invalid Unicode"), "{error}");
        let error = first_document("a: \"x\\qy\"\n", 0, "f.yaml").expect_err("unknown");
        assert!(
            error
                .to_string()
                .contains("f.yaml:1:4: while parsing a quoted scalar"),
            "{error}"
        );
    }

    #[test]
    fn positions_are_shifted_by_the_piece_start() {
        let error = first_document("a: [\n", 4, "f.yaml").expect_err("syntax");
        let YamlError::Parse {
            position: Some(position),
            ..
        } = error
        else {
            panic!("no position: {error}");
        };
        assert!(position.line >= 5, "{position:?}");
    }

    #[test]
    fn deep_nesting_fails_without_overflowing_the_stack() {
        let text = "[".repeat(100_000);
        let error = first_document(&text, 0, "f.yaml").expect_err("too deep");
        assert!(error.to_string().contains("f.yaml:1:"), "{error}");
        let block: String = (0..1000)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect();
        assert!(first_document(&block, 0, "f.yaml").is_err());
    }
}
