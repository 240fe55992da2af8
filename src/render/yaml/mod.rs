//! YAML reading and printing with kustomize's exact rules.
//!
//! kustomize v5.5.0 reads resource files with yaml.v3 through kyaml, reads kustomization
//! and other config files with goyaml.v2 through sigs.k8s.io/yaml, and prints every object
//! by converting it to JSON and then to YAML with goyaml.v2. None of the input's form
//! survives: what matters is how each scalar resolves (which differs between the two
//! libraries) and how goyaml.v2 chooses key order and scalar styles. This module reproduces
//! those rules on top of the `granit_parser` event parser (re-exported by serde-saphyr),
//! building values itself instead of using a serde deserializer, whose resolution differs.
//!
//! Owns: turning bytes into `serde_json::Value`s ([`parse_resources`], [`parse_config`]) and
//! values into text ([`to_yaml`], [`to_yaml_stream`]), plus the check of what kustomize
//! cannot print ([`check_printable`]).
//! Must not: know about Kubernetes objects (flattening `List` kinds, metadata checks and
//! annotation handling belong to the pipeline), or read files itself.
//!
//! Hostile input is bounded: nesting deeper than [`MAX_DEPTH`] (in the source, or in the
//! value once aliases are expanded) is an error, alias expansion may produce at most
//! [`MAX_ALIAS_NODES`] nodes and [`MAX_ALIAS_BYTES`] bytes of text per file, and merge keys
//! may merge maps into maps at most [`MAX_MERGE_DEPTH`] levels deep. Parsing and conversion
//! use explicit stacks; only printing recurses, once per nesting level.
//!
//! Known gaps (differences from kustomize that remain): raw U+2028/U+2029 in the input are
//! ordinary characters here (YAML 1.2) but line breaks to libyaml; a plain scalar starting
//! with `?` inside a flow collection; UTF-16 input (libyaml converts it, this module refuses
//! it as invalid UTF-8).

mod convert;
mod emit;
mod error;
mod number;
mod parse;
mod resolve;
mod sort;
#[cfg(test)]
mod tests;
mod unicode_tables;

use serde_json::Value;

pub use convert::{BareNulls, MAX_ALIAS_BYTES, MAX_ALIAS_NODES, MAX_MERGE_DEPTH};
pub use error::{Position, Problem, YamlError};
pub use parse::MAX_DEPTH;

/// Reads a resource file (any number of documents) the way kustomize does: kyaml's document
/// splitting, yaml.v3's scalar resolution, anchors and merge keys expanded per document,
/// then the conversion to JSON (timestamps become RFC 3339 strings, `!!binary` is decoded,
/// whole floats become integers, `.inf`/`.nan`, duplicate keys and non-string keys below the
/// root are errors).
///
/// Documents that kustomize drops are skipped: empty, comment-only or null documents and an
/// empty mapping or sequence. `List` kinds are returned as they are.
pub fn parse_resources(text: &[u8], origin: &str) -> Result<Vec<Value>, YamlError> {
    Ok(parse_resources_noting_bare_nulls(text, origin)?
        .into_iter()
        .map(|(value, _)| value)
        .collect())
}

/// [`parse_resources`], with each document's [`BareNulls`]: where it holds a value written
/// as nothing, which a strategic merge into it treats apart from a written `null`.
pub fn parse_resources_noting_bare_nulls(
    text: &[u8],
    origin: &str,
) -> Result<Vec<(Value, BareNulls)>, YamlError> {
    let text = parse::check_text(text, origin)?;
    let mut budget = convert::Budget::default();
    let mut values = Vec::new();
    for piece in parse::split_documents(text, origin)? {
        let Some(doc) = parse::first_document(&piece.text, piece.first_line, origin)? else {
            continue;
        };
        if let Some(value) = convert::resource(&doc, origin, &mut budget)? {
            values.push(value);
        }
    }
    Ok(values)
}

/// Reads a single-document config file (a kustomization, a JSON 6902 patch written in YAML,
/// a `configurations:` file) the way sigs.k8s.io/yaml does: goyaml.v2's YAML 1.1 resolution
/// (`y`, `yes`, `on`, ... are booleans), duplicate keys resolved by the last one, non-string
/// keys turned into strings. Only the first document is read. Empty input gives `Null`.
pub fn parse_config(text: &[u8], origin: &str) -> Result<Value, YamlError> {
    let text = parse::check_text(text, origin)?;
    let mut budget = convert::Budget::default();
    match parse::first_document(text, 0, origin)? {
        Some(doc) => convert::config(&doc, origin, &mut budget),
        None => Ok(Value::Null),
    }
}

/// Prints one document exactly as kustomize does (goyaml.v2 after the JSON round trip):
/// keys in goyaml.v2's natural order, scalar styles chosen from the value, 2-space
/// indentation, long lines folded at column 80. The text ends with a line break.
///
/// Values kustomize would refuse to print are printed anyway; call [`check_printable`]
/// first to fail like kustomize does.
pub fn to_yaml(value: &Value) -> String {
    emit::document(value)
}

/// Prints documents separated by `---` lines, as `kustomize build` does: no leading
/// separator, and nothing at all for no documents.
pub fn to_yaml_stream(values: &[Value]) -> String {
    let mut out = String::new();
    for (index, value) in values.iter().enumerate() {
        if index > 0 {
            out.push_str("---\n");
        }
        out.push_str(&to_yaml(value));
    }
    out
}

/// Fails where kustomize's printing fails: its JSON-to-YAML step hands Go's JSON text to
/// goyaml.v2, whose reader refuses DEL, C1 control characters and U+FFFE/U+FFFF anywhere,
/// whose scanner cannot read a key containing U+0085 or one longer than 1024 characters as
/// JSON, and which takes U+0085 followed by `---` or `...` for a document marker. `origin` names the object in the error.
pub fn check_printable(value: &Value, origin: &str) -> Result<(), YamlError> {
    let fail = |problem| {
        Err(YamlError::Print {
            origin: origin.to_string(),
            problem,
        })
    };
    // An explicit stack: values built by callers are not depth-checked.
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::String(s) => {
                if let Some(code) = unprintable(s) {
                    return fail(Problem::ControlCharacter { code });
                }
                if has_marker_after_nel(s) {
                    return fail(Problem::DocumentMarkerAfterNel);
                }
            }
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => {
                for (key, item) in map {
                    if let Some(code) = unprintable(key) {
                        return fail(Problem::ControlCharacter { code });
                    }
                    if key.contains('\u{85}') {
                        return fail(Problem::LineBreakInKey { key: key.clone() });
                    }
                    let length = go_json_length(key);
                    if length > MAX_JSON_KEY {
                        return fail(Problem::KeyTooLong {
                            key: key.chars().take(40).collect::<String>() + "…",
                            length,
                            limit: MAX_JSON_KEY,
                        });
                    }
                    pending.push(item);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The longest key goyaml.v2 can read from JSON: the scanner gives up on a simple key more
/// than 1024 characters long, and the key is written with its two quotes.
const MAX_JSON_KEY: usize = 1022;

/// A character Go's JSON encoder writes raw that libyaml's reader refuses.
fn unprintable(s: &str) -> Option<u32> {
    // DEL is the only ASCII one; most text is ASCII, which is checked a word at a time.
    if s.is_ascii() {
        return s.bytes().any(|byte| byte == 0x7f).then_some(0x7f);
    }
    s.chars()
        .find(|&c| matches!(c, '\u{7F}'..='\u{84}' | '\u{86}'..='\u{9F}' | '\u{FFFE}' | '\u{FFFF}'))
        .map(u32::from)
}

/// U+0085 directly followed by `---` or `...` and a space or another U+0085: goyaml.v2 reads
/// the NEL as a line break and then the marker at the start of a line as a document marker.
fn has_marker_after_nel(s: &str) -> bool {
    s.match_indices('\u{85}').any(|(at, nel)| {
        let rest = &s[at + nel.len()..];
        (rest.starts_with("---") || rest.starts_with("..."))
            && matches!(rest[3..].chars().next(), Some(' ' | '\u{85}'))
    })
}

/// Characters Go's `encoding/json` writes for a string, without the quotes.
fn go_json_length(s: &str) -> usize {
    s.chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{C}' => 2,
            '\u{0}'..='\u{1F}' | '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => 6,
            _ => 1,
        })
        .sum()
}
