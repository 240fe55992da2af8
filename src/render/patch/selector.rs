//! kustomize's patch target selector (`api/types/selector.go`, `resWrangler.Select`).
//!
//! group, version, kind, name and namespace are Go regular expressions anchored as
//! `^(?:pattern)$`; an empty field matches anything. The name matches a resource's original
//! or current name, the namespace its original or current *effective* namespace (empty and
//! `default` are both `default`), the group/version/kind its current ones. Label and
//! annotation selectors use Kubernetes label-selector syntax (`k8s.io/apimachinery`
//! `labels.Parse`).
//!
//! Owns: parsing and matching selectors. Must not: track a resource's previous ids (the
//! pipeline supplies them in a [`SelectorInput`]).

use std::collections::BTreeMap;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::PatchError;

/// The effective namespace of a namespaced object without one.
pub const DEFAULT_NAMESPACE: &str = "default";

/// The effective namespace kustomize gives cluster-scoped objects (`resid.TotallyNotANamespace`).
pub const NON_NAMESPACEABLE: &str = "_non_namespaceable_";

/// kustomize's `ResId.EffectiveNamespace`: [`NON_NAMESPACEABLE`] for a cluster-scoped
/// object, `default` for an empty namespace, else the namespace itself.
///
/// For a previous id, pass what kustomize recorded (already effective) with
/// `cluster_scoped: false`: kustomize rebuilds previous ids without the scope flag.
pub fn effective_namespace(namespace: &str, cluster_scoped: bool) -> &str {
    if cluster_scoped {
        NON_NAMESPACEABLE
    } else if namespace.is_empty() {
        DEFAULT_NAMESPACE
    } else {
        namespace
    }
}

/// A patch `target` as written in a kustomization.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Selector {
    /// API group regex (`""` is the core group when matched, anything when empty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// API version regex.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Kind regex.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Name regex, matched against the original and the current name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Namespace regex, matched against the original and the current effective namespace.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// A Kubernetes label selector over `metadata.labels`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub label_selector: String,
    /// A Kubernetes label selector over `metadata.annotations`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub annotation_selector: String,
}

/// What a selector needs to know about one resource; the pipeline fills it.
#[derive(Debug, Clone, Copy)]
pub struct SelectorInput<'a> {
    /// The current `apiVersion`.
    pub api_version: &'a str,
    /// The current `kind`.
    pub kind: &'a str,
    /// The original name and the current name.
    pub names: &'a [&'a str],
    /// The original and the current effective namespace (see [`effective_namespace`]).
    pub namespaces: &'a [&'a str],
    /// `metadata.labels` as text (see [`metadata_strings`]).
    pub labels: &'a BTreeMap<String, String>,
    /// `metadata.annotations` as text.
    pub annotations: &'a BTreeMap<String, String>,
}

/// `metadata.<field>` (`labels` or `annotations`) of a resource as kyaml reads it: every
/// value as its scalar text (`1` → `"1"`, null → `""`).
pub fn metadata_strings(resource: &Value, field: &str) -> BTreeMap<String, String> {
    let Some(Value::Object(map)) = resource.get("metadata").and_then(|meta| meta.get(field)) else {
        return BTreeMap::new();
    };
    map.iter()
        .map(|(key, value)| {
            let text = match value {
                Value::String(text) => text.clone(),
                Value::Null | Value::Object(_) | Value::Array(_) => String::new(),
                other => other.to_string(),
            };
            (key.clone(), text)
        })
        .collect()
}

/// One anchored selector field. Most targets name a kind or an object outright, and
/// building a regex automaton for each would cost more than the whole match.
#[derive(Debug, Clone)]
enum Pattern {
    Literal(String),
    Regex(Regex),
}

impl Pattern {
    fn is_match(&self, text: &str) -> bool {
        match self {
            Self::Literal(literal) => literal == text,
            Self::Regex(regex) => regex.is_match(text),
        }
    }
}

/// A [`Selector`] with its regexes compiled and its label selectors parsed.
#[derive(Debug, Clone)]
pub struct CompiledSelector {
    group: Option<Pattern>,
    version: Option<Pattern>,
    kind: Option<Pattern>,
    name: Option<Pattern>,
    namespace: Option<Pattern>,
    // kustomize parses these per resource, so a bad one only fails once a resource gets
    // that far: keep the parse error until then.
    labels: Result<LabelSelector, PatchError>,
    annotations: Result<LabelSelector, PatchError>,
}

impl Selector {
    /// Compiles the regexes (an invalid one fails here, as in kustomize) and parses the
    /// label and annotation selectors (whose errors surface when matching).
    pub fn compile(&self) -> Result<CompiledSelector, PatchError> {
        let anchored =
            |field: &'static str, pattern: &str| -> Result<Option<Pattern>, PatchError> {
                if pattern.is_empty() {
                    return Ok(None);
                }
                if pattern
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
                {
                    return Ok(Some(Pattern::Literal(pattern.to_string())));
                }
                Regex::new(&format!("^(?:{pattern})$"))
                    .map(|regex| Some(Pattern::Regex(regex)))
                    .map_err(|error| PatchError::InvalidSelectorRegex {
                        field,
                        pattern: pattern.to_string(),
                        reason: error.to_string(),
                    })
            };
        Ok(CompiledSelector {
            group: anchored("group", &self.group)?,
            version: anchored("version", &self.version)?,
            kind: anchored("kind", &self.kind)?,
            name: anchored("name", &self.name)?,
            namespace: anchored("namespace", &self.namespace)?,
            labels: LabelSelector::parse(&self.label_selector).map_err(|reason| {
                PatchError::InvalidLabelSelector {
                    field: "labelSelector",
                    selector: self.label_selector.clone(),
                    reason,
                }
            }),
            annotations: LabelSelector::parse(&self.annotation_selector).map_err(|reason| {
                PatchError::InvalidLabelSelector {
                    field: "annotationSelector",
                    selector: self.annotation_selector.clone(),
                    reason,
                }
            }),
        })
    }
}

impl CompiledSelector {
    /// Whether the resource is selected, in kustomize's order of checks: namespace, name,
    /// group/version/kind, labels, annotations. An invalid label or annotation selector
    /// fails only for a resource that passed the earlier checks.
    /// A cheap first test on group, version and kind alone: `false` means [`Self::matches`]
    /// would say `Ok(false)` too, so the rest of the input need not be gathered.
    pub fn may_match_kind(&self, api_version: &str, kind: &str) -> bool {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let fits = |regex: &Option<Pattern>, text: &str| {
            regex.as_ref().is_none_or(|regex| regex.is_match(text))
        };
        fits(&self.group, group) && fits(&self.version, version) && fits(&self.kind, kind)
    }

    pub fn matches(&self, input: &SelectorInput<'_>) -> Result<bool, PatchError> {
        let any = |regex: &Option<Pattern>, candidates: &[&str]| {
            regex
                .as_ref()
                .is_none_or(|regex| candidates.iter().any(|text| regex.is_match(text)))
        };
        if !any(&self.namespace, input.namespaces) || !any(&self.name, input.names) {
            return Ok(false);
        }
        let (group, version) = input
            .api_version
            .split_once('/')
            .unwrap_or(("", input.api_version));
        if !any(&self.group, &[group])
            || !any(&self.version, &[version])
            || !any(&self.kind, &[input.kind])
        {
            return Ok(false);
        }
        let labels = self.labels.as_ref().map_err(Clone::clone)?;
        if !labels.matches(input.labels) {
            return Ok(false);
        }
        let annotations = self.annotations.as_ref().map_err(Clone::clone)?;
        Ok(annotations.matches(input.annotations))
    }
}

/// A parsed Kubernetes label selector: requirements that must all hold.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LabelSelector(Vec<Requirement>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Requirement {
    key: String,
    op: Operator,
    values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Equals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

impl LabelSelector {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|requirement| requirement.matches(labels))
    }

    fn parse(text: &str) -> Result<Self, String> {
        let tokens = lex(text)?;
        Parser {
            tokens,
            position: 0,
        }
        .parse()
        .map(Self)
    }
}

impl Requirement {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        let has = |value: &String| self.values.contains(value);
        match self.op {
            Operator::Equals | Operator::In => value.is_some_and(has),
            Operator::NotEquals | Operator::NotIn => !value.is_some_and(has),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(Ok(actual)), [bound]) =
                    (value.map(|v| v.parse::<i64>()), self.values.as_slice())
                else {
                    return false;
                };
                let Ok(bound) = bound.parse::<i64>() else {
                    return false;
                };
                if self.op == Operator::GreaterThan {
                    actual > bound
                } else {
                    actual < bound
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    End,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier(String),
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

impl Token {
    fn literal(&self) -> &str {
        match self {
            Token::End => "",
            Token::ClosedPar => ")",
            Token::Comma => ",",
            Token::DoesNotExist => "!",
            Token::DoubleEquals => "==",
            Token::Equals => "=",
            Token::GreaterThan => ">",
            Token::Identifier(text) => text,
            Token::In => "in",
            Token::LessThan => "<",
            Token::NotEquals => "!=",
            Token::NotIn => "notin",
            Token::OpenPar => "(",
        }
    }

    fn symbol(text: &[u8]) -> Option<Token> {
        Some(match text {
            b")" => Token::ClosedPar,
            b"," => Token::Comma,
            b"!" => Token::DoesNotExist,
            b"==" => Token::DoubleEquals,
            b"=" => Token::Equals,
            b">" => Token::GreaterThan,
            b"<" => Token::LessThan,
            b"!=" => Token::NotEquals,
            b"(" => Token::OpenPar,
            _ => return None,
        })
    }

    /// In a value position `in` and `notin` are plain identifiers.
    fn as_value(&self) -> Token {
        match self {
            Token::In | Token::NotIn => Token::Identifier(self.literal().to_string()),
            other => other.clone(),
        }
    }
}

fn is_special(byte: u8) -> bool {
    matches!(byte, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

/// apimachinery's selector lexer: symbols are scanned greedily while they still form a
/// known operator; anything else up to a symbol or a blank is an identifier or keyword.
fn lex(text: &str) -> Result<Vec<Token>, String> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut pos = 0;
    loop {
        while bytes.get(pos).is_some_and(|b| is_space(*b)) {
            pos += 1;
        }
        let Some(&first) = bytes.get(pos) else {
            tokens.push(Token::End);
            return Ok(tokens);
        };
        if is_special(first) {
            let start = pos;
            let mut last = None;
            while let Some(&byte) = bytes.get(pos) {
                if !is_special(byte) {
                    break;
                }
                match Token::symbol(&bytes[start..=pos]) {
                    Some(token) => last = Some(token),
                    None if last.is_some() => break,
                    None => {}
                }
                pos += 1;
            }
            match last {
                Some(token) => {
                    // Give back what the last recognised symbol did not use.
                    pos = start + token.literal().len();
                    tokens.push(token);
                }
                None => {
                    let found = String::from_utf8_lossy(&bytes[start..pos]);
                    return Err(format!("error expected: keyword found '{found}'"));
                }
            }
        } else {
            let start = pos;
            while bytes
                .get(pos)
                .is_some_and(|b| !is_special(*b) && !is_space(*b))
            {
                pos += 1;
            }
            let word = String::from_utf8_lossy(&bytes[start..pos]).into_owned();
            tokens.push(match word.as_str() {
                "in" => Token::In,
                "notin" => Token::NotIn,
                _ => Token::Identifier(word),
            });
        }
    }
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
}

impl Parser {
    fn peek(&self) -> Token {
        self.tokens
            .get(self.position)
            .cloned()
            .unwrap_or(Token::End)
    }

    fn next(&mut self) -> Token {
        let token = self.peek();
        self.position += 1;
        token
    }

    fn parse(mut self) -> Result<Vec<Requirement>, String> {
        let mut requirements = Vec::new();
        loop {
            match self.peek().as_value() {
                Token::Identifier(_) | Token::DoesNotExist => {
                    let requirement = self
                        .requirement()
                        .map_err(|error| format!("unable to parse requirement: {error}"))?;
                    requirements.push(requirement);
                    match self.next().as_value() {
                        Token::End => return Ok(requirements),
                        Token::Comma => {
                            let after = self.peek().as_value();
                            if !matches!(after, Token::Identifier(_) | Token::DoesNotExist) {
                                return Err(format!(
                                    "found '{}', expected: identifier after ','",
                                    after.literal()
                                ));
                            }
                        }
                        other => {
                            return Err(format!(
                                "found '{}', expected: ',' or 'end of string'",
                                other.literal()
                            ));
                        }
                    }
                }
                Token::End => return Ok(requirements),
                other => {
                    return Err(format!(
                        "found '{}', expected: !, identifier, or 'end of string'",
                        other.literal()
                    ));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        let mut token = self.next().as_value();
        let negated = token == Token::DoesNotExist;
        if negated {
            token = self.next().as_value();
        }
        let Token::Identifier(key) = token else {
            return Err(format!("found '{}', expected: identifier", token.literal()));
        };
        validate_key(&key)?;
        // `!key` is complete on its own; whatever follows it is the caller's to reject.
        if negated || matches!(self.peek().as_value(), Token::End | Token::Comma) {
            let op = if negated {
                Operator::DoesNotExist
            } else {
                Operator::Exists
            };
            return Ok(Requirement {
                key,
                op,
                values: Vec::new(),
            });
        }
        let op = match self.next() {
            Token::In => Operator::In,
            Token::NotIn => Operator::NotIn,
            Token::Equals | Token::DoubleEquals => Operator::Equals,
            Token::NotEquals => Operator::NotEquals,
            Token::GreaterThan => Operator::GreaterThan,
            Token::LessThan => Operator::LessThan,
            other => {
                return Err(format!(
                    "found '{}', expected: in, notin, =, ==, !=, gt, lt",
                    other.literal()
                ));
            }
        };
        let values = match op {
            Operator::In | Operator::NotIn => self.set_values()?,
            _ => self.exact_value()?,
        };
        validate_requirement(&key, op, &values)?;
        Ok(Requirement { key, op, values })
    }

    fn set_values(&mut self) -> Result<Vec<String>, String> {
        let open = self.next().as_value();
        if open != Token::OpenPar {
            return Err(format!("found '{}' expected: '('", open.literal()));
        }
        let mut values = Vec::new();
        match self.peek().as_value() {
            Token::ClosedPar => {
                self.next();
                return Ok(vec![String::new()]);
            }
            Token::Identifier(_) | Token::Comma => {}
            other => {
                return Err(format!(
                    "found '{}', expected: ',', ')' or identifier",
                    other.literal()
                ));
            }
        }
        loop {
            match self.next().as_value() {
                Token::Identifier(value) => {
                    values.push(value);
                    match self.peek().as_value() {
                        Token::Comma => continue,
                        Token::ClosedPar => break,
                        other => {
                            return Err(format!(
                                "found '{}', expected: ',' or ')'",
                                other.literal()
                            ));
                        }
                    }
                }
                Token::Comma => {
                    // `(,a`, `a,,b` and `a,)` all contribute an empty value.
                    if values.is_empty() {
                        values.push(String::new());
                    }
                    match self.peek().as_value() {
                        Token::ClosedPar => {
                            values.push(String::new());
                            break;
                        }
                        Token::Comma => values.push(String::new()),
                        _ => {}
                    }
                }
                other => {
                    return Err(format!(
                        "found '{}', expected: ',', or identifier",
                        other.literal()
                    ));
                }
            }
        }
        let close = self.next();
        if close != Token::ClosedPar {
            return Err(format!("found '{}', expected: ')'", close.literal()));
        }
        values.sort();
        values.dedup();
        Ok(values)
    }

    fn exact_value(&mut self) -> Result<Vec<String>, String> {
        match self.peek().as_value() {
            Token::End | Token::Comma => Ok(vec![String::new()]),
            _ => match self.next().as_value() {
                Token::Identifier(value) => Ok(vec![value]),
                other => Err(format!("found '{}', expected: identifier", other.literal())),
            },
        }
    }
}

fn validate_requirement(key: &str, op: Operator, values: &[String]) -> Result<(), String> {
    if matches!(op, Operator::GreaterThan | Operator::LessThan)
        && !values.iter().all(|value| value.parse::<i64>().is_ok())
    {
        return Err(format!(
            "values[0]: Invalid value: {values:?}: for 'Gt', 'Lt' operators, the value must be an integer"
        ));
    }
    for value in values {
        validate_value(key, value)?;
    }
    Ok(())
}

/// `[A-Za-z0-9]` at both ends, `[-A-Za-z0-9_.]` inside.
fn is_qualified_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let alnum = |b: &u8| b.is_ascii_alphanumeric();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            alnum(first)
                && alnum(last)
                && bytes
                    .iter()
                    .all(|b| alnum(b) || matches!(b, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// An RFC 1123 subdomain: dot-separated lowercase labels of `[a-z0-9-]`, alphanumeric at
/// both ends, at most 253 bytes.
fn is_dns_subdomain(text: &str) -> bool {
    text.len() <= 253
        && text.split('.').all(|label| {
            let bytes = label.as_bytes();
            let edge =
                |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
            edge(bytes.first())
                && edge(bytes.last())
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        })
}

/// A label key: `[prefix/]name`, the prefix a DNS subdomain, the name a qualified name of at
/// most 63 bytes.
fn validate_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split('/').collect::<Vec<_>>().as_slice() {
        [name] => (None, *name),
        [prefix, name] => (Some(*prefix), *name),
        _ => {
            return Err(format!(
                "key: Invalid value: {key:?}: a qualified name must consist of alphanumeric characters, '-', '_' or '.', with an optional DNS subdomain prefix and '/'"
            ));
        }
    };
    if let Some(prefix) = prefix
        && (prefix.is_empty() || !is_dns_subdomain(prefix))
    {
        return Err(format!(
            "key: Invalid value: {key:?}: prefix part must be a lowercase RFC 1123 subdomain"
        ));
    }
    if name.len() > 63 || !is_qualified_name(name) {
        return Err(format!(
            "key: Invalid value: {key:?}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63 characters)"
        ));
    }
    Ok(())
}

/// A label value: empty, or a qualified name of at most 63 bytes.
fn validate_value(key: &str, value: &str) -> Result<(), String> {
    if value.is_empty() || (value.len() <= 63 && is_qualified_name(value)) {
        return Ok(());
    }
    Err(format!(
        "values[{key}]: Invalid value: {value:?}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63 characters)"
    ))
}

#[cfg(test)]
mod tests {
    //! The selections below were checked against `kubectl kustomize` (kustomize v5.5.0).

    use super::*;

    struct Resource {
        api_version: &'static str,
        kind: &'static str,
        name: &'static str,
        namespace: &'static str,
        labels: BTreeMap<String, String>,
    }

    fn resource(
        api_version: &'static str,
        kind: &'static str,
        name: &'static str,
        namespace: &'static str,
        labels: &[(&str, &str)],
    ) -> Resource {
        Resource {
            api_version,
            kind,
            name,
            namespace,
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn resources() -> Vec<Resource> {
        vec![
            resource(
                "v1",
                "ConfigMap",
                "app-one",
                "",
                &[("tier", "fe"), ("x", "1")],
            ),
            resource("v1", "ConfigMap", "app", "default", &[("tier", "be")]),
            resource(
                "v1",
                "ConfigMap",
                "xapp-three",
                "other",
                &[("tier", "db"), ("n", "5")],
            ),
            resource("apps/v1", "Deployment", "app-two", "", &[("n", "12")]),
            resource("example.com/v1", "Widget", "w", "other", &[]),
        ]
    }

    fn select(selector: Selector) -> Result<Vec<&'static str>, PatchError> {
        let compiled = selector.compile()?;
        let empty = BTreeMap::new();
        let mut selected = Vec::new();
        for r in resources() {
            let namespace = effective_namespace(r.namespace, false);
            let input = SelectorInput {
                api_version: r.api_version,
                kind: r.kind,
                names: &[r.name],
                namespaces: &[namespace],
                labels: &r.labels,
                annotations: &empty,
            };
            if compiled.matches(&input)? {
                selected.push(r.name);
            }
        }
        Ok(selected)
    }

    fn labels(selector: &str) -> Result<Vec<&'static str>, PatchError> {
        select(Selector {
            label_selector: selector.to_string(),
            ..Selector::default()
        })
    }

    #[test]
    fn names_are_anchored_regexes() {
        let by_name = |name: &str| {
            select(Selector {
                name: name.to_string(),
                ..Selector::default()
            })
        };
        assert_eq!(by_name("app"), Ok(vec!["app"]));
        assert_eq!(by_name("app-.*"), Ok(vec!["app-one", "app-two"]));
        assert!(matches!(
            by_name("app("),
            Err(PatchError::InvalidSelectorRegex { field: "name", .. })
        ));
    }

    #[test]
    fn default_namespace_matches_objects_without_one() {
        let by_namespace = |namespace: &str| {
            select(Selector {
                namespace: namespace.to_string(),
                ..Selector::default()
            })
        };
        assert_eq!(
            by_namespace("default"),
            Ok(vec!["app-one", "app", "app-two"])
        );
        assert_eq!(by_namespace("other"), Ok(vec!["xapp-three", "w"]));
        assert_eq!(effective_namespace("", true), NON_NAMESPACEABLE);
    }

    #[test]
    fn original_or_current_name_and_namespace_match() {
        let compiled = Selector {
            name: "old".to_string(),
            namespace: "before".to_string(),
            ..Selector::default()
        }
        .compile()
        .expect("valid selector");
        let empty = BTreeMap::new();
        let input = SelectorInput {
            api_version: "v1",
            kind: "ConfigMap",
            names: &["old", "p-old-suffix"],
            namespaces: &["before", "after"],
            labels: &empty,
            annotations: &empty,
        };
        assert_eq!(compiled.matches(&input), Ok(true));
        let renamed = SelectorInput {
            names: &["p-old-suffix"],
            ..input
        };
        assert_eq!(compiled.matches(&renamed), Ok(false));
    }

    #[test]
    fn group_version_kind() {
        let gvk = |group: &str, version: &str, kind: &str| {
            select(Selector {
                group: group.to_string(),
                version: version.to_string(),
                kind: kind.to_string(),
                ..Selector::default()
            })
        };
        assert_eq!(gvk("apps", "", ""), Ok(vec!["app-two"]));
        assert_eq!(
            gvk("", "", "Config.*"),
            Ok(vec!["app-one", "app", "xapp-three"])
        );
        assert_eq!(gvk("example.com", "v1", "Widget"), Ok(vec!["w"]));
    }

    #[test]
    fn label_selector_syntax() {
        assert_eq!(labels("tier in (fe,be)"), Ok(vec!["app-one", "app"]));
        assert_eq!(
            labels("tier notin (fe)"),
            Ok(vec!["app", "xapp-three", "app-two", "w"])
        );
        assert_eq!(
            labels("tier!=fe"),
            Ok(vec!["app", "xapp-three", "app-two", "w"])
        );
        assert_eq!(labels("!tier"), Ok(vec!["app-two", "w"]));
        assert_eq!(labels("tier,x"), Ok(vec!["app-one"]));
        assert_eq!(labels("tier = be"), Ok(vec!["app"]));
        assert_eq!(labels("tier==fe,x=1"), Ok(vec!["app-one"]));
        assert_eq!(labels("n>6"), Ok(vec!["app-two"]));
        assert_eq!(labels("n<6"), Ok(vec!["xapp-three"]));
        assert_eq!(labels("tier in ()"), Ok(vec![]));
        assert_eq!(labels("!tier,n"), Ok(vec!["app-two"]));
        assert_eq!(
            labels(""),
            Ok(vec!["app-one", "app", "xapp-three", "app-two", "w"])
        );
        for bad in ["bad key!", "a in (b", "!tier=x", "a=b=c", "-a"] {
            assert!(
                matches!(labels(bad), Err(PatchError::InvalidLabelSelector { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_invalid_label_selector_fails_only_when_reached() {
        let selector = Selector {
            name: "nothing-has-this-name".to_string(),
            label_selector: "a in (b".to_string(),
            ..Selector::default()
        };
        assert_eq!(select(selector), Ok(vec![]));
    }

    #[test]
    fn annotations_use_label_syntax_and_metadata_is_read_as_text() {
        let resource =
            serde_json::json!({"metadata": {"annotations": {"note": "in", "n": 1, "z": null}}});
        let annotations = metadata_strings(&resource, "annotations");
        assert_eq!(annotations.get("n").map(String::as_str), Some("1"));
        assert_eq!(annotations.get("z").map(String::as_str), Some(""));
        let compiled = Selector {
            annotation_selector: "note in (in,out),n=1".to_string(),
            ..Selector::default()
        }
        .compile()
        .expect("valid selector");
        let empty = BTreeMap::new();
        let input = SelectorInput {
            api_version: "v1",
            kind: "ConfigMap",
            names: &["cm"],
            namespaces: &["default"],
            labels: &empty,
            annotations: &annotations,
        };
        assert_eq!(compiled.matches(&input), Ok(true));
    }

    #[test]
    fn deserializes_a_kustomization_target() {
        let selector: Selector = serde_json::from_value(serde_json::json!({
            "kind": "Deployment", "labelSelector": "app=web", "annotationSelector": "x"
        }))
        .expect("valid target");
        assert_eq!(
            selector,
            Selector {
                kind: "Deployment".to_string(),
                label_selector: "app=web".to_string(),
                annotation_selector: "x".to_string(),
                ..Selector::default()
            }
        );
    }
}
