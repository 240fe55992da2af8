//! ConfigMap and Secret generators: kustomize v5.5.0's `configMapGenerator` and
//! `secretGenerator` (`api/internal/generators`, `api/kv`, `kyaml/yaml/datamap.go`) and the
//! `behavior: merge|replace` fold into an existing object (`resmap/reswrangler.go`).
//!
//! Owns: the generator entry and `generatorOptions` types, reading key/value sources in
//! kustomize's order, building the object, and merging it into an older one.
//! Must not: touch files itself (the caller's `read_file` resolves and confines every path),
//! find the object a merge applies to, or compute the name suffix ([`crate::render::hash`]).

use base64::Engine as _;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The kind of object a generator makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeneratedKind {
    /// `configMapGenerator`.
    ConfigMap,
    /// `secretGenerator`.
    Secret,
}

impl GeneratedKind {
    /// The object's `kind`.
    pub fn kind(self) -> &'static str {
        match self {
            Self::ConfigMap => "ConfigMap",
            Self::Secret => "Secret",
        }
    }

    /// The kustomization field holding generators of this kind.
    pub fn field(self) -> &'static str {
        match self {
            Self::ConfigMap => "configMapGenerator",
            Self::Secret => "secretGenerator",
        }
    }
}

/// What a generated object does to an existing object with the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behavior {
    /// Add a new object; an existing one with the same id is an error.
    #[default]
    Create,
    /// Fold the new data over the existing object's data.
    Merge,
    /// Keep only the new data, with the existing object's name, namespace and metadata merged.
    Replace,
}

impl Behavior {
    /// kustomize's reading of the `behavior` string: any value other than `merge` or
    /// `replace` (including typos and the empty string) means create, without an error.
    pub fn from_kustomize(value: &str) -> Self {
        match value {
            "merge" => Self::Merge,
            "replace" => Self::Replace,
            _ => Self::Create,
        }
    }
}

fn deserialize_behavior<'de, D: Deserializer<'de>>(d: D) -> Result<Behavior, D::Error> {
    let raw: Option<String> = Option::deserialize(d)?;
    Ok(Behavior::from_kustomize(raw.as_deref().unwrap_or("")))
}

/// Go's decoder leaves a field at its zero value when the input is `null`.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A `map[string]string` as Go decodes it: a `null` value becomes `""`.
fn string_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let raw: Option<BTreeMap<String, Option<String>>> = Option::deserialize(d)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}

/// `generatorOptions`, or a generator's own `options`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GeneratorOptions {
    /// Labels added to the generated object.
    #[serde(default, deserialize_with = "string_map")]
    pub labels: BTreeMap<String, String>,
    /// Annotations added to the generated object.
    #[serde(default, deserialize_with = "string_map")]
    pub annotations: BTreeMap<String, String>,
    /// No content-hash suffix on the name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub disable_name_suffix_hash: bool,
    /// Sets `immutable: true` on the object.
    #[serde(default, deserialize_with = "null_as_default")]
    pub immutable: bool,
}

impl GeneratorOptions {
    /// kustomize's `MergeGlobalOptionsIntoLocal`: labels and annotations are unioned with the
    /// local value winning; the booleans are ORed, because a local `false` cannot be told
    /// apart from an unset one.
    pub fn merge_global_into_local(
        local: Option<&GeneratorOptions>,
        global: Option<&GeneratorOptions>,
    ) -> GeneratorOptions {
        let mut merged = local.cloned().unwrap_or_default();
        if let Some(global) = global {
            for (k, v) in &global.labels {
                merged.labels.entry(k.clone()).or_insert_with(|| v.clone());
            }
            for (k, v) in &global.annotations {
                merged
                    .annotations
                    .entry(k.clone())
                    .or_insert_with(|| v.clone());
            }
            merged.disable_name_suffix_hash |= global.disable_name_suffix_hash;
            merged.immutable |= global.immutable;
        }
        merged
    }
}

/// One `configMapGenerator` or `secretGenerator` entry of a kustomization.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GeneratorArgs {
    /// The object's name before prefixes, suffixes and the hash. Required.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// The object's namespace; empty for none.
    #[serde(default, deserialize_with = "null_as_default")]
    pub namespace: String,
    /// create (default), merge or replace.
    #[serde(default, deserialize_with = "deserialize_behavior")]
    pub behavior: Behavior,
    /// `key=value` pairs; one pair of matching surrounding quotes is removed from the value.
    #[serde(default, deserialize_with = "null_as_default")]
    pub literals: Vec<String>,
    /// `path` or `key=path`; the file's content is the value.
    #[serde(default, deserialize_with = "null_as_default")]
    pub files: Vec<String>,
    /// `.env` files, one `key=value` per line.
    #[serde(default, deserialize_with = "null_as_default")]
    pub envs: Vec<String>,
    /// The older singular form of `envs`; kustomize appends it after `envs`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub env: String,
    /// The Secret `type` (default `Opaque`). Only `secretGenerator` entries have it.
    #[serde(default, rename = "type")]
    pub secret_type: Option<String>,
    /// Local options; `generatorOptions` is merged into them.
    #[serde(default)]
    pub options: Option<GeneratorOptions>,
}

const ARGS_FIELDS: &[&str] = &[
    "name",
    "namespace",
    "behavior",
    "literals",
    "files",
    "envs",
    "env",
    "type",
    "options",
];
const OPTIONS_FIELDS: &[&str] = &[
    "labels",
    "annotations",
    "disableNameSuffixHash",
    "immutable",
];

impl GeneratorArgs {
    /// Decodes an entry the way kustomize's `encoding/json` does: field names match
    /// case-insensitively (`Name:` and `LITERALS:` work), an exact match first, and of two
    /// spellings of one field the later wins. Unknown fields are an error.
    pub fn from_value(value: &Value) -> Result<Self, GeneratorError> {
        let mut canonical = value.clone();
        canonicalize_keys(&mut canonical, ARGS_FIELDS);
        if let Some(options) = canonical.get_mut("options") {
            canonicalize_keys(options, OPTIONS_FIELDS);
        }
        serde_json::from_value(canonical).map_err(|e| GeneratorError::Invalid {
            message: e.to_string(),
        })
    }

    /// The env files in the order kustomize reads them: `envs`, then the legacy `env`.
    pub fn env_files(&self) -> Vec<&str> {
        let mut files: Vec<&str> = self.envs.iter().map(String::as_str).collect();
        if !self.env.is_empty() {
            files.push(&self.env);
        }
        files
    }
}

/// Renames the keys of a mapping to the known field name they fold to, as Go's decoder
/// matches them. Keys matching nothing are left for the strict decode to reject.
fn canonicalize_keys(value: &mut Value, fields: &[&str]) {
    let Value::Object(map) = value else {
        return;
    };
    let mut renamed = Map::new();
    for (key, item) in std::mem::take(map) {
        let target = if fields.contains(&key.as_str()) {
            key
        } else {
            fields
                .iter()
                .find(|f| fold(f) == fold(&key))
                .map_or(key, |f| (*f).to_string())
        };
        renamed.insert(target, item);
    }
    *map = renamed;
}

/// Case folding for field names, including the two non-ASCII characters that Go folds onto
/// ASCII letters (the Kelvin sign and the long s).
fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            '\u{212a}' => 'k',
            '\u{17f}' => 's',
            other => other,
        })
        .collect()
}

/// A generated object and what the pipeline must do with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// The ConfigMap or Secret, without a hash suffix.
    pub object: Value,
    /// How it combines with an existing object of the same id.
    pub behavior: Behavior,
    /// Whether the top-level build appends the content hash to its name.
    pub needs_hash: bool,
}

/// Why a generator failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeneratorError {
    /// The entry did not decode.
    #[error("invalid generator: {message}")]
    Invalid { message: String },
    /// kustomize's message, which says "configmap" for Secrets too.
    #[error("a configmap must have a name")]
    MissingName,
    /// `type` given to a `configMapGenerator` (kustomize: `json: unknown field "type"`).
    #[error("{generator}: unknown field \"type\": only secretGenerator entries have a type")]
    TypeOnConfigMap { generator: String },
    /// kustomize's message, which says "configmap" for Secrets too.
    #[error("configmap {name} illegally repeats the key `{key}`")]
    RepeatedKey { name: String, key: String },
    /// A literal without `=`, or with nothing before it.
    #[error("{generator}: invalid literal source {literal}, expected key=value")]
    InvalidLiteral { generator: String, literal: String },
    /// A `files` entry with a misplaced or extra `=`; `reason` is kustomize's wording.
    #[error("{generator}: {reason}")]
    InvalidFileSource { generator: String, reason: String },
    /// An env file line that is not UTF-8.
    #[error("{generator}: env file '{path}' line {line} has invalid UTF-8")]
    InvalidEnvLine {
        generator: String,
        path: String,
        line: usize,
    },
    /// The caller's `read_file` failed for a path of this generator.
    #[error("{generator}: cannot load '{path}': {message}")]
    Load {
        generator: String,
        path: String,
        message: String,
    },
    /// What a `read_file` callback returns when it cannot serve a path; [`generate`] wraps it
    /// in [`GeneratorError::Load`] with the generator and path.
    #[error("{message}")]
    Read { message: String },
    /// `merge_into` with behavior create: kustomize refuses a second object with one id.
    #[error("{kind} {name} already exists; behavior must be merge or replace")]
    AlreadyExists { kind: String, name: String },
    /// For the caller: merge or replace found no object to apply to.
    #[error("{kind} {name} does not exist; cannot merge or replace")]
    NothingToMerge { kind: String, name: String },
    /// `merge_into` given something other than a mapping.
    #[error("cannot merge {kind} {name} into a non-mapping")]
    NotAnObject { kind: String, name: String },
}

impl GeneratorError {
    /// An error for a `read_file` callback to return.
    pub fn read(message: impl std::fmt::Display) -> Self {
        Self::Read {
            message: message.to_string(),
        }
    }

    /// Whether trying again may succeed. Never: the files and the kustomization decide the
    /// outcome, so a person has to change them first.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// Runs one generator entry.
///
/// `global` is the kustomization's `generatorOptions`. `read_file` receives each env and file
/// path exactly as written in the kustomization; resolving it against the kustomization's
/// directory and confining it is the caller's job.
pub fn generate(
    kind: GeneratedKind,
    args: &GeneratorArgs,
    global: Option<&GeneratorOptions>,
    read_file: &mut dyn FnMut(&str) -> Result<Vec<u8>, GeneratorError>,
) -> Result<Generated, GeneratorError> {
    let generator = format!("{} {:?}", kind.field(), args.name);
    if args.name.is_empty() {
        return Err(GeneratorError::MissingName);
    }
    if kind == GeneratedKind::ConfigMap && args.secret_type.is_some() {
        return Err(GeneratorError::TypeOnConfigMap { generator });
    }
    let options = GeneratorOptions::merge_global_into_local(args.options.as_ref(), global);

    let pairs = load_pairs(&generator, args, read_file)?;
    let mut values: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (key, value) in pairs {
        if values.contains_key(&key) {
            return Err(GeneratorError::RepeatedKey {
                name: args.name.clone(),
                key,
            });
        }
        values.insert(key, value);
    }

    let mut object = Map::new();
    object.insert("apiVersion".into(), Value::String("v1".into()));
    object.insert("kind".into(), Value::String(kind.kind().into()));
    let mut metadata = Map::new();
    metadata.insert("name".into(), Value::String(args.name.clone()));
    if !args.namespace.is_empty() {
        metadata.insert("namespace".into(), Value::String(args.namespace.clone()));
    }
    if !options.labels.is_empty() {
        metadata.insert("labels".into(), string_map_value(&options.labels));
    }
    if !options.annotations.is_empty() {
        metadata.insert("annotations".into(), string_map_value(&options.annotations));
    }
    object.insert("metadata".into(), Value::Object(metadata));

    match kind {
        GeneratedKind::ConfigMap => {
            let mut data = Map::new();
            let mut binary = Map::new();
            for (key, value) in values {
                match String::from_utf8(value) {
                    Ok(text) => {
                        data.insert(key, Value::String(text));
                    }
                    Err(e) => {
                        binary.insert(key, Value::String(encode_base64(e.as_bytes())));
                    }
                }
            }
            // Each map appears only once a key lands in it.
            if !data.is_empty() {
                object.insert("data".into(), Value::Object(data));
            }
            if !binary.is_empty() {
                object.insert("binaryData".into(), Value::Object(binary));
            }
        }
        GeneratedKind::Secret => {
            let secret_type = match args.secret_type.as_deref() {
                None | Some("") => "Opaque",
                Some(t) => t,
            };
            object.insert("type".into(), Value::String(secret_type.into()));
            // A Secret always gets `data`, `{}` when there are no sources (verified).
            let data: Map<String, Value> = values
                .into_iter()
                .map(|(k, v)| (k, Value::String(encode_base64(&v))))
                .collect();
            object.insert("data".into(), Value::Object(data));
        }
    }
    if options.immutable {
        object.insert("immutable".into(), Value::Bool(true));
    }

    Ok(Generated {
        object: Value::Object(object),
        behavior: args.behavior,
        needs_hash: !options.disable_name_suffix_hash,
    })
}

/// Key/value pairs in kustomize's order: env files, then literals, then files.
fn load_pairs(
    generator: &str,
    args: &GeneratorArgs,
    read_file: &mut dyn FnMut(&str) -> Result<Vec<u8>, GeneratorError>,
) -> Result<Vec<(String, Vec<u8>)>, GeneratorError> {
    let mut load = |path: &str| {
        read_file(path).map_err(|e| GeneratorError::Load {
            generator: generator.to_string(),
            path: path.to_string(),
            message: e.to_string(),
        })
    };
    let mut pairs = Vec::new();
    for path in args.env_files() {
        let content = load(path)?;
        let lines = parse_env_file(&content).map_err(|line| GeneratorError::InvalidEnvLine {
            generator: generator.to_string(),
            path: path.to_string(),
            line,
        })?;
        pairs.extend(lines.into_iter().map(|(k, v)| (k, v.into_bytes())));
    }
    for literal in &args.literals {
        let (key, value) =
            parse_literal(literal).ok_or_else(|| GeneratorError::InvalidLiteral {
                generator: generator.to_string(),
                literal: literal.clone(),
            })?;
        pairs.push((key, value.into_bytes()));
    }
    for source in &args.files {
        let (key, path) =
            parse_file_source(source).map_err(|reason| GeneratorError::InvalidFileSource {
                generator: generator.to_string(),
                reason,
            })?;
        let content = load(&path)?;
        pairs.push((key, content));
    }
    Ok(pairs)
}

/// The longest line Go's `bufio.Scanner` accepts with its default buffer, counting the `\n`.
const MAX_SCAN_TOKEN: usize = 64 * 1024;

/// Parses an env file as kustomize's `keyValuesFromLines` does. Returns the 1-based number
/// of the first line that is not UTF-8 as the error.
///
/// Lines are read with `bufio.Scanner`: a trailing `\r` is dropped, and a line too long for
/// its 64 KiB buffer ends the scan silently (kustomize never checks the scanner's error), so
/// the rest of the file is ignored.
fn parse_env_file(content: &[u8]) -> Result<Vec<(String, String)>, usize> {
    let mut pairs = Vec::new();
    let mut rest = content;
    let mut line_number = 0;
    while !rest.is_empty() {
        let window = &rest[..rest.len().min(MAX_SCAN_TOKEN)];
        let (mut line, next) = match window.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None if rest.len() < MAX_SCAN_TOKEN => (rest, &rest[rest.len()..]),
            // No newline within the buffer: bufio.ErrTooLong, swallowed by kustomize.
            None => break,
        };
        rest = next;
        if let Some(stripped) = line.strip_suffix(b"\r") {
            line = stripped;
        }
        line_number += 1;
        let Ok(mut text) = std::str::from_utf8(line) else {
            return Err(line_number);
        };
        if line_number == 1 {
            text = text.strip_prefix('\u{feff}').unwrap_or(text);
        }
        // Go's unicode.IsSpace and Rust's char::is_whitespace are the same set.
        let text = text.trim_start();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let (key, value) = text.split_once('=').unwrap_or((text, ""));
        // A line like `=value` has an empty key, which kustomize takes for a blank line.
        if key.is_empty() {
            continue;
        }
        pairs.push((key.to_string(), value.to_string()));
    }
    Ok(pairs)
}

/// `key=value`, split at the first `=`; `None` for no `=` or a leading one.
fn parse_literal(source: &str) -> Option<(String, String)> {
    let (key, value) = source.split_once('=')?;
    if key.is_empty() {
        return None;
    }
    Some((key.to_string(), remove_quotes(value).to_string()))
}

/// Removes one pair of surrounding quotes, only when both ends carry the same quote.
fn remove_quotes(value: &str) -> &str {
    let bytes = value.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last))
            if bytes.len() >= 2 && first == last && (first == b'"' || first == b'\'') =>
        {
            // Both ends are ASCII quotes, so slicing stays on character boundaries.
            &value[1..value.len() - 1]
        }
        _ => value,
    }
}

/// `path` (key = the path's base name) or `key=path`, with kustomize's error wording.
fn parse_file_source(source: &str) -> Result<(String, String), String> {
    match source.matches('=').count() {
        0 => Ok((go_path_base(source).to_string(), source.to_string())),
        1 => {
            let (key, path) = source.split_once('=').unwrap_or((source, ""));
            if key.is_empty() {
                Err(format!(
                    "missing key name for file path {path:?} in source {source:?}"
                ))
            } else if path.is_empty() {
                Err(format!(
                    "missing file path for key name {key:?} in source {source:?}"
                ))
            } else {
                Ok((key.to_string(), path.to_string()))
            }
        }
        _ => Err(format!(
            "source {source:?} key name or file path contains '='"
        )),
    }
}

/// Go's `path.Base`: the last element after trailing slashes are removed; `.` for an empty
/// path and `/` for a path of slashes.
fn go_path_base(path: &str) -> &str {
    if path.is_empty() {
        return ".";
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/";
    }
    match trimmed.rfind('/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

/// Standard padded base64, cut into 70-character lines each ending in `\n` once the encoding
/// reaches 70 characters (kyaml's `encodeBase64`); shorter encodings stay on one line.
pub fn encode_base64(bytes: &[u8]) -> String {
    const LINE: usize = 70;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    if encoded.len() < LINE {
        return encoded;
    }
    let mut out = String::with_capacity(encoded.len() + encoded.len() / LINE + 1);
    // Base64 is ASCII, so any byte offset is a character boundary.
    let mut rest = encoded.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(LINE));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out
}

fn string_map_value(map: &BTreeMap<String, String>) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// Annotations kustomize keeps for its own bookkeeping. On a merge or replace their values
/// come from the old object only (`mergeStringMapsWithBuildAnnotations`).
const BUILD_ANNOTATIONS: &[&str] = &[
    "internal.config.kubernetes.io/previousKinds",
    "internal.config.kubernetes.io/previousNames",
    "internal.config.kubernetes.io/prefixes",
    "internal.config.kubernetes.io/suffixes",
    "internal.config.kubernetes.io/previousNamespaces",
    "internal.config.kubernetes.io/allowNameChange",
    "internal.config.kubernetes.io/allowKindChange",
    "internal.config.kubernetes.io/refBy",
    "internal.config.kubernetes.io/generatorBehavior",
    NEEDS_HASH_ANNOTATION,
    "internal.config.kubernetes.io/path",
    "internal.config.kubernetes.io/index",
    "internal.config.kubernetes.io/seqindent",
    "internal.config.kubernetes.io/id",
    "internal.config.kubernetes.io/annotations-migration-resource-id",
    "config.kubernetes.io/path",
    "config.kubernetes.io/index",
    "config.k8s.io/id",
];
const NEEDS_HASH_ANNOTATION: &str = "internal.config.kubernetes.io/needsHashSuffix";
const ORIGIN_ANNOTATION: &str = "config.kubernetes.io/origin";

/// Folds a `merge` or `replace` generator result into the existing object it matched
/// (kustomize's `appendReplaceOrMerge` with one match).
///
/// Both: labels and annotations are the old ones overlaid with the new ones; the name and
/// namespace are the old object's. Merge: `data` and `binaryData` are the old maps overlaid
/// key by key with the new ones, and the old origin annotation is kept. Replace: the new data
/// only. Everything else (`type`, `immutable`) is the new object's. The object keeps the old
/// one's place in the resource list; the caller puts it there. Its hash flag is
/// [`merged_needs_hash`].
pub fn merge_into(existing: &Value, generated: &Generated) -> Result<Value, GeneratorError> {
    let Value::Object(new) = &generated.object else {
        return Err(GeneratorError::NotAnObject {
            kind: String::new(),
            name: String::new(),
        });
    };
    let kind = new
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let name = meta_string(new, "name");
    let Value::Object(old) = existing else {
        return Err(GeneratorError::NotAnObject { kind, name });
    };
    let merge = match generated.behavior {
        Behavior::Create => return Err(GeneratorError::AlreadyExists { kind, name }),
        Behavior::Merge => true,
        Behavior::Replace => false,
    };

    let mut result = new.clone();

    let mut labels = meta_string_map(old, "labels");
    labels.extend(meta_string_map(new, "labels"));
    set_meta_map(&mut result, "labels", &labels);

    let old_annotations = meta_string_map(old, "annotations");
    let new_annotations = meta_string_map(new, "annotations");
    let new_wants_hash =
        generated.needs_hash || new_annotations.contains_key(NEEDS_HASH_ANNOTATION);
    let mut annotations = old_annotations.clone();
    annotations.extend(new_annotations);
    for key in BUILD_ANNOTATIONS {
        match old_annotations.get(*key) {
            Some(value) => annotations.insert((*key).to_string(), value.clone()),
            None => annotations.remove(*key),
        };
    }
    if !new_wants_hash {
        annotations.remove(NEEDS_HASH_ANNOTATION);
    }
    if merge && let Some(origin) = old_annotations.get(ORIGIN_ANNOTATION) {
        annotations.insert(ORIGIN_ANNOTATION.to_string(), origin.clone());
    }
    set_meta_map(&mut result, "annotations", &annotations);

    ensure_metadata(&mut result);
    if let Some(Value::Object(metadata)) = result.get_mut("metadata") {
        metadata.insert("name".into(), Value::String(meta_string(old, "name")));
        let namespace = meta_string(old, "namespace");
        if namespace.is_empty() {
            metadata.remove("namespace");
        } else {
            metadata.insert("namespace".into(), Value::String(namespace));
        }
    }

    if merge {
        for field in ["data", "binaryData"] {
            let mut data = data_string_map(old, field);
            data.extend(data_string_map(new, field));
            // kyaml clears the field and only recreates it for a non-empty map.
            if data.is_empty() {
                result.remove(field);
            } else {
                result.insert(field.to_string(), string_map_value(&data));
            }
        }
    }
    Ok(Value::Object(result))
}

/// Whether an object produced by [`merge_into`] still gets a hash suffix: only when the old
/// object had the flag and the new generator wants one too (verified: merging a generator
/// into a plain ConfigMap from `resources` leaves its name without a suffix).
pub fn merged_needs_hash(old_needs_hash: bool, generated: &Generated) -> bool {
    old_needs_hash && generated.needs_hash
}

/// Makes sure `metadata` is a mapping, as kyaml's `LookupCreate` would.
fn ensure_metadata(object: &mut Map<String, Value>) {
    if !matches!(object.get("metadata"), Some(Value::Object(_))) {
        object.insert("metadata".into(), Value::Object(Map::new()));
    }
}

/// `metadata.<field>` as kyaml's `GetName`/`GetNamespace` read it.
fn meta_string(object: &Map<String, Value>, field: &str) -> String {
    match object.get("metadata").and_then(|m| m.get(field)) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// `metadata.labels` or `metadata.annotations` as kyaml's `getMapFromMeta` reads it: each
/// value's YAML text.
fn meta_string_map(object: &Map<String, Value>, field: &str) -> BTreeMap<String, String> {
    let Some(Value::Object(map)) = object.get("metadata").and_then(|m| m.get(field)) else {
        return BTreeMap::new();
    };
    map.iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                // The node's text; `null` is the usual spelling of a null.
                Value::Null => "null".to_string(),
                Value::Array(_) | Value::Object(_) => String::new(),
            };
            (k.clone(), text)
        })
        .collect()
}

/// `data` or `binaryData` as kyaml's `GetDataMap` reads it: nulls and collections are `""`.
fn data_string_map(object: &Map<String, Value>, field: &str) -> BTreeMap<String, String> {
    let Some(Value::Object(map)) = object.get(field) else {
        return BTreeMap::new();
    };
    map.iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null | Value::Array(_) | Value::Object(_) => String::new(),
            };
            (k.clone(), text)
        })
        .collect()
}

/// kyaml's `setMapInMetadata`: the field is cleared, then written only when non-empty.
fn set_meta_map(object: &mut Map<String, Value>, field: &str, map: &BTreeMap<String, String>) {
    ensure_metadata(object);
    if let Some(Value::Object(metadata)) = object.get_mut("metadata") {
        if map.is_empty() {
            metadata.remove(field);
        } else {
            metadata.insert(field.to_string(), string_map_value(map));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::hash::content_hash;
    use serde_json::json;
    use std::collections::HashMap;

    fn files(entries: &[(&str, &[u8])]) -> HashMap<String, Vec<u8>> {
        entries
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.to_vec()))
            .collect()
    }

    fn run(
        kind: GeneratedKind,
        args: Value,
        global: Option<Value>,
        fs: &HashMap<String, Vec<u8>>,
    ) -> Result<Generated, GeneratorError> {
        let args = GeneratorArgs::from_value(&args)?;
        let global: Option<GeneratorOptions> =
            global.map(|g| serde_json::from_value(g).expect("options"));
        let mut read = |path: &str| {
            fs.get(path)
                .cloned()
                .ok_or_else(|| GeneratorError::read(format!("'{path}' does not exist")))
        };
        generate(kind, &args, global.as_ref(), &mut read)
    }

    fn hashed_name(generated: &Generated) -> String {
        let name = generated.object["metadata"]["name"].as_str().expect("name");
        format!("{name}-{}", content_hash(&generated.object).expect("hash"))
    }

    // kustomize.md §4.2 env table plus extras, verified with kubectl 1.32:
    // `env-c7cfc9mtkb`.
    #[test]
    fn env_files_follow_kustomize_line_rules() {
        let app = b"\xef\xbb\xbf# comment\n\n  FOO=bar\nQUOTED=\"q v\"  \nEQ=a=b=c\nEMPTY=\nNOEQ\nSPACE = x\r\nexport X=1\n=skipped\n\t#indented comment\n\xc2\xa0NBSP=1\nLAST=nonl";
        let fs = files(&[
            ("app.env", app),
            ("a2.env", b"ONE=1\n"),
            ("legacy.env", b"LEGACY=1\n"),
        ]);
        let generated = run(
            GeneratedKind::ConfigMap,
            json!({"name": "env", "envs": ["app.env", "a2.env"], "env": "legacy.env"}),
            Some(json!({"labels": {"l": "global", "g": "global"},
                        "annotations": {"g": "global"}, "immutable": true})),
            &fs,
        )
        .expect("generate");
        assert_eq!(
            generated.object,
            json!({
                "apiVersion": "v1", "kind": "ConfigMap", "immutable": true,
                "metadata": {"name": "env", "labels": {"g": "global", "l": "global"},
                             "annotations": {"g": "global"}},
                "data": {
                    "EMPTY": "", "EQ": "a=b=c", "FOO": "bar", "LAST": "nonl", "LEGACY": "1",
                    "NBSP": "1", "NOEQ": "", "ONE": "1", "QUOTED": "\"q v\"  ",
                    "SPACE ": " x", "export X": "1"
                }
            })
        );
        assert!(generated.needs_hash);
        assert_eq!(generated.behavior, Behavior::Create);
        assert_eq!(hashed_name(&generated), "env-c7cfc9mtkb");
    }

    // Literal table of §4.2, files, binaryData (§4.3) and local-over-global options (§4.4),
    // verified with kubectl 1.32: `lit-28d2ftf2gf`.
    #[test]
    fn literals_files_and_binary_data() {
        let fs = files(&[
            ("config.txt", b"hello\nworld\n"),
            ("bin.dat", b"\xff\xfe\x00binary"),
        ]);
        let generated = run(
            GeneratedKind::ConfigMap,
            json!({
                "name": "lit",
                "literals": ["lit1=plain", "lit2=\"double quoted\"", "lit3='single'",
                             "lit4=a=b", "lit5=\"mismatch'", "lit6=\"", "lit7=''",
                             "lit8=  spaces  "],
                "files": ["config.txt", "renamed.txt=config.txt", "bin.dat"],
                "options": {"labels": {"l": "local"}, "annotations": {"a": "local"}}
            }),
            Some(json!({"labels": {"l": "global", "g": "global"},
                        "annotations": {"g": "global"}, "immutable": true})),
            &fs,
        )
        .expect("generate");
        assert_eq!(
            generated.object,
            json!({
                "apiVersion": "v1", "kind": "ConfigMap", "immutable": true,
                "metadata": {"name": "lit", "labels": {"g": "global", "l": "local"},
                             "annotations": {"a": "local", "g": "global"}},
                "binaryData": {"bin.dat": "//4AYmluYXJ5"},
                "data": {
                    "config.txt": "hello\nworld\n", "renamed.txt": "hello\nworld\n",
                    "lit1": "plain", "lit2": "double quoted", "lit3": "single", "lit4": "a=b",
                    "lit5": "\"mismatch'", "lit6": "\"", "lit7": "", "lit8": "  spaces  "
                }
            })
        );
        assert_eq!(hashed_name(&generated), "lit-28d2ftf2gf");
    }

    // §4.3: 83 bytes of `a` (verified: `long-gmdmmbfffh`), and the tls reference value.
    #[test]
    fn secrets_are_base64_with_line_breaks() {
        let long = "a".repeat(83);
        let generated = run(
            GeneratedKind::Secret,
            json!({"name": "long", "literals": [format!("long={long}")]}),
            None,
            &HashMap::new(),
        )
        .expect("generate");
        assert_eq!(
            generated.object["data"]["long"],
            json!(
                "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYW\n\
                 FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=\n"
            )
        );
        assert_eq!(generated.object["type"], json!("Opaque"));
        assert_eq!(hashed_name(&generated), "long-gmdmmbfffh");

        let tls = run(
            GeneratedKind::Secret,
            json!({"name": "tls", "type": "kubernetes.io/tls",
                   "literals": ["tls.crt=c", "tls.key=k"]}),
            None,
            &HashMap::new(),
        )
        .expect("generate");
        assert_eq!(
            tls.object,
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tls"},
                   "type": "kubernetes.io/tls", "data": {"tls.crt": "Yw==", "tls.key": "aw=="}})
        );
        assert_eq!(hashed_name(&tls), "tls-d94tkf5ft2");
    }

    #[test]
    fn base64_line_breaking_threshold() {
        // 51 bytes encode to 68 characters (one line), 52 bytes to 72 (broken).
        assert_eq!(encode_base64(&[0u8; 51]).len(), 68);
        assert!(!encode_base64(&[0u8; 51]).contains('\n'));
        let broken = encode_base64(&[0u8; 52]);
        assert_eq!(broken, format!("{}\n==\n", "A".repeat(70)));
        assert_eq!(encode_base64(&[0u8; 105]).lines().count(), 2);
        assert!(encode_base64(&[0u8; 105]).ends_with("AAAA\n"));
        assert_eq!(encode_base64(b""), "");
    }

    // Verified with kubectl 1.32: no sources gives a ConfigMap without `data`
    // (`empty-6ct58987ht`) and a Secret with `data: {}` (`sempty-46f8b28mk5`).
    #[test]
    fn generators_without_sources() {
        let cm = run(
            GeneratedKind::ConfigMap,
            json!({"name": "empty"}),
            None,
            &HashMap::new(),
        )
        .expect("generate");
        assert_eq!(
            cm.object,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "empty"}})
        );
        assert_eq!(hashed_name(&cm), "empty-6ct58987ht");
        let secret = run(
            GeneratedKind::Secret,
            json!({"name": "sempty", "namespace": "ns"}),
            None,
            &HashMap::new(),
        )
        .expect("generate");
        assert_eq!(
            secret.object,
            json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": {},
                   "metadata": {"name": "sempty", "namespace": "ns"}})
        );
        assert_eq!(hashed_name(&secret), "sempty-46f8b28mk5");
    }

    // bufio.Scanner's 64 KiB limit, verified with kubectl 1.32: a line plus its
    // `\n` (and a `\r` before it) must fit in 65536 bytes, otherwise the rest of the file is
    // silently dropped.
    #[test]
    fn env_file_long_line_stops_the_scan() {
        let long_value = "x".repeat(65533);
        let ok = format!("K={long_value}\nA=1\n");
        assert_eq!(
            parse_env_file(ok.as_bytes()),
            Ok(vec![
                ("K".into(), long_value.clone()),
                ("A".into(), "1".into())
            ])
        );
        let too_long = format!("K={long_value}x\nB=1\n");
        assert_eq!(parse_env_file(too_long.as_bytes()), Ok(vec![]));
        let cr_too_long = format!("K={long_value}\r\nE=1\n");
        assert_eq!(parse_env_file(cr_too_long.as_bytes()), Ok(vec![]));
        let last_ok = format!("C=1\nK={long_value}");
        assert_eq!(
            parse_env_file(last_ok.as_bytes()),
            Ok(vec![
                ("C".into(), "1".into()),
                ("K".into(), long_value.clone())
            ])
        );
        let last_long = format!("D=1\nK={long_value}x");
        assert_eq!(
            parse_env_file(last_long.as_bytes()),
            Ok(vec![("D".into(), "1".into())])
        );

        let fs = files(&[
            ("ok.env", ok.as_bytes()),
            ("last.env", last_long.as_bytes()),
        ]);
        let generated = run(
            GeneratedKind::ConfigMap,
            json!({"name": "ok", "envs": ["ok.env"]}),
            None,
            &fs,
        )
        .expect("generate");
        assert_eq!(hashed_name(&generated), "ok-4k47b7tc85");
        let generated = run(
            GeneratedKind::ConfigMap,
            json!({"name": "lastlong", "envs": ["last.env"]}),
            None,
            &fs,
        )
        .expect("generate");
        assert_eq!(hashed_name(&generated), "lastlong-5t2mf8dct2");
    }

    #[test]
    fn env_file_bom_only_on_first_line_and_invalid_utf8() {
        assert_eq!(
            parse_env_file(b"A=1\n\xef\xbb\xbfB=2\n"),
            Ok(vec![
                ("A".into(), "1".into()),
                ("\u{feff}B".into(), "2".into())
            ])
        );
        assert_eq!(parse_env_file(b"A=1\n\n#c\nB=\xff\n"), Err(4));
        let fs = files(&[("bad.env", b"A=\xff")]);
        let err = run(
            GeneratedKind::Secret,
            json!({"name": "s", "envs": ["bad.env"]}),
            None,
            &fs,
        );
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("secretGenerator \"s\": env file 'bad.env' line 1 has invalid UTF-8".into())
        );
    }

    #[test]
    fn repeated_keys_are_an_error_across_sources() {
        let fs = files(&[("a.env", b"k=1\n"), ("k", b"file")]);
        for args in [
            json!({"name": "cm", "envs": ["a.env"], "literals": ["k=2"]}),
            json!({"name": "cm", "literals": ["k=1", "k=2"]}),
            json!({"name": "cm", "literals": ["k=1"], "files": ["k"]}),
        ] {
            let err = run(GeneratedKind::ConfigMap, args, None, &fs).map_err(|e| e.to_string());
            assert_eq!(
                err,
                Err("configmap cm illegally repeats the key `k`".into())
            );
        }
        // Secrets use the same message.
        let err = run(
            GeneratedKind::Secret,
            json!({"name": "s", "literals": ["k=1", "k=2"]}),
            None,
            &fs,
        );
        assert_eq!(
            err,
            Err(GeneratorError::RepeatedKey {
                name: "s".into(),
                key: "k".into()
            })
        );
    }

    #[test]
    fn invalid_literals_and_file_sources() {
        let fs = HashMap::new();
        for literal in ["novalue", "=v", ""] {
            let err = run(
                GeneratedKind::ConfigMap,
                json!({"name": "cm", "literals": [literal]}),
                None,
                &fs,
            );
            assert_eq!(
                err,
                Err(GeneratorError::InvalidLiteral {
                    generator: "configMapGenerator \"cm\"".into(),
                    literal: literal.into()
                })
            );
        }
        assert_eq!(
            parse_file_source("=a.txt"),
            Err("missing key name for file path \"a.txt\" in source \"=a.txt\"".into())
        );
        assert_eq!(
            parse_file_source("k="),
            Err("missing file path for key name \"k\" in source \"k=\"".into())
        );
        assert_eq!(
            parse_file_source("a=b=c"),
            Err("source \"a=b=c\" key name or file path contains '='".into())
        );
        assert_eq!(
            parse_file_source("dir/sub/f.txt"),
            Ok(("f.txt".into(), "dir/sub/f.txt".into()))
        );
        assert_eq!(parse_file_source("dir/"), Ok(("dir".into(), "dir/".into())));
        let err = run(
            GeneratedKind::ConfigMap,
            json!({"name": "cm", "files": ["missing.txt"]}),
            None,
            &fs,
        )
        .map_err(|e| e.to_string());
        assert_eq!(
            err,
            Err("configMapGenerator \"cm\": cannot load 'missing.txt': 'missing.txt' does not exist"
                .into())
        );
    }

    #[test]
    fn names_types_and_hash_options() {
        let fs = HashMap::new();
        assert_eq!(
            run(
                GeneratedKind::Secret,
                json!({"literals": ["a=b"]}),
                None,
                &fs
            ),
            Err(GeneratorError::MissingName)
        );
        assert!(matches!(
            run(
                GeneratedKind::ConfigMap,
                json!({"name": "c", "type": "x"}),
                None,
                &fs
            ),
            Err(GeneratorError::TypeOnConfigMap { .. })
        ));
        // An empty type is the default.
        let s = run(
            GeneratedKind::Secret,
            json!({"name": "s", "type": ""}),
            None,
            &fs,
        )
        .expect("generate");
        assert_eq!(s.object["type"], json!("Opaque"));
        // A global true cannot be turned off locally.
        let g = run(
            GeneratedKind::ConfigMap,
            json!({"name": "c", "options": {"disableNameSuffixHash": false}}),
            Some(json!({"disableNameSuffixHash": true})),
            &fs,
        )
        .expect("generate");
        assert!(!g.needs_hash);
        let l = run(
            GeneratedKind::ConfigMap,
            json!({"name": "c", "behavior": "merge", "options": {"disableNameSuffixHash": true}}),
            None,
            &fs,
        )
        .expect("generate");
        assert!(!l.needs_hash);
        assert_eq!(l.behavior, Behavior::Merge);
    }

    #[test]
    fn decoding_matches_go() {
        let args = GeneratorArgs::from_value(&json!({
            "NAME": "x", "Literals": ["a=b"], "behavior": "bogus", "env": null,
            "options": {"Labels": {"k": null}, "IMMUTABLE": true}
        }))
        .expect("decode");
        assert_eq!(args.name, "x");
        assert_eq!(args.literals, vec!["a=b".to_string()]);
        assert_eq!(args.behavior, Behavior::Create);
        assert_eq!(args.env, "");
        let options = args.options.expect("options");
        assert!(options.immutable);
        assert_eq!(options.labels.get("k").map(String::as_str), Some(""));
        assert!(matches!(
            GeneratorArgs::from_value(&json!({"name": "x", "foo": 1})),
            Err(GeneratorError::Invalid { .. })
        ));
        assert_eq!(
            GeneratorArgs::from_value(&json!({"name": "x", "behavior": "replace"}))
                .map(|a| a.behavior),
            Ok(Behavior::Replace)
        );
    }

    fn base_cm() -> Value {
        // The base's `cm` after its namePrefix, as the overlay's generator finds it.
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "b-cm", "labels": {"from": "base", "keep": "base"},
                         "annotations": {"ann": "base"}},
            "data": {"a": "1", "b": "2"}
        })
    }

    // §4.5, verified with kubectl 1.32: overlay merge gives `b-cm-fbcmkbc66h`.
    #[test]
    fn merge_overlays_data_and_metadata() {
        let generated = run(
            GeneratedKind::ConfigMap,
            json!({"name": "cm", "behavior": "merge", "literals": ["b=3", "c=4"],
                   "options": {"labels": {"from": "overlay"}}}),
            None,
            &HashMap::new(),
        )
        .expect("generate");
        let merged = merge_into(&base_cm(), &generated).expect("merge");
        assert_eq!(
            merged,
            json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "b-cm", "labels": {"from": "overlay", "keep": "base"},
                             "annotations": {"ann": "base"}},
                "data": {"a": "1", "b": "3", "c": "4"}
            })
        );
        assert!(merged_needs_hash(true, &generated));
        assert_eq!(
            content_hash(&merged).map(|h| format!("b-cm-{h}")),
            Ok("b-cm-fbcmkbc66h".into())
        );
    }

    // Verified with kubectl 1.32: `b-rep-786c7hbck9` with `data: {y: "2"}`.
    #[test]
    fn replace_keeps_only_new_data() {
        let old = json!({"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "b-rep", "namespace": "ns"}, "data": {"x": "1"}});
        let generated = run(
            GeneratedKind::ConfigMap,
            json!({"name": "rep", "behavior": "replace", "literals": ["y=2"]}),
            None,
            &HashMap::new(),
        )
        .expect("generate");
        let replaced = merge_into(&old, &generated).expect("replace");
        assert_eq!(
            replaced,
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "b-rep", "namespace": "ns"}, "data": {"y": "2"}})
        );
        assert_eq!(content_hash(&replaced).as_deref(), Ok("786c7hbck9"));
    }

    // Verified with kubectl 1.32: the new `type` wins, data merges,
    // `b-sec-tmdt5b4d67`.
    #[test]
    fn secret_merge_takes_new_type() {
        let old = json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                         "metadata": {"name": "b-sec"}, "data": {"s": "MQ=="}});
        let generated = run(
            GeneratedKind::Secret,
            json!({"name": "sec", "behavior": "merge", "literals": ["t=2"], "type": "Custom"}),
            None,
            &HashMap::new(),
        )
        .expect("generate");
        let merged = merge_into(&old, &generated).expect("merge");
        assert_eq!(
            merged,
            json!({"apiVersion": "v1", "kind": "Secret", "type": "Custom",
                   "metadata": {"name": "b-sec"}, "data": {"s": "MQ==", "t": "Mg=="}})
        );
        assert_eq!(content_hash(&merged).as_deref(), Ok("tmdt5b4d67"));
    }

    // Verified with kubectl 1.32: merging into a ConfigMap from `resources`
    // keeps its name without a suffix.
    #[test]
    fn merge_into_plain_resource_gets_no_hash() {
        let old = json!({"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "b-plain", "namespace": "ns1", "labels": {"p": "1"}},
                         "data": {"old": "1", "num": 2}});
        let generated = run(
            GeneratedKind::ConfigMap,
            json!({"name": "plain", "namespace": "ns1", "behavior": "merge",
                   "literals": ["new=1"]}),
            None,
            &HashMap::new(),
        )
        .expect("generate");
        let merged = merge_into(&old, &generated).expect("merge");
        assert_eq!(
            merged,
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "b-plain", "namespace": "ns1", "labels": {"p": "1"}},
                   "data": {"new": "1", "num": "2", "old": "1"}})
        );
        assert!(!merged_needs_hash(false, &generated));
    }

    #[test]
    fn merge_bookkeeping_annotations_and_errors() {
        let old = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cm", "annotations": {
                "config.kubernetes.io/origin": "path: base/kustomization.yaml\n",
                "internal.config.kubernetes.io/previousNames": "cm,",
                "internal.config.kubernetes.io/needsHashSuffix": "enabled"}},
            "data": {"a": "1"}});
        let mut generated = run(
            GeneratedKind::ConfigMap,
            json!({"name": "cm", "behavior": "merge", "literals": ["a=2"]}),
            None,
            &HashMap::new(),
        )
        .expect("generate");
        if let Value::Object(map) = &mut generated.object {
            map["metadata"]["annotations"] = json!({
                "config.kubernetes.io/origin": "path: overlay/kustomization.yaml\n",
                "internal.config.kubernetes.io/previousNames": "other,",
                "internal.config.kubernetes.io/prefixes": "p,"});
        }
        let merged = merge_into(&old, &generated).expect("merge");
        assert_eq!(
            merged["metadata"]["annotations"],
            json!({"config.kubernetes.io/origin": "path: base/kustomization.yaml\n",
                   "internal.config.kubernetes.io/previousNames": "cm,",
                   "internal.config.kubernetes.io/needsHashSuffix": "enabled"})
        );
        generated.behavior = Behavior::Replace;
        generated.needs_hash = false;
        let replaced = merge_into(&old, &generated).expect("replace");
        assert_eq!(
            replaced["metadata"]["annotations"],
            json!({"config.kubernetes.io/origin": "path: overlay/kustomization.yaml\n",
                   "internal.config.kubernetes.io/previousNames": "cm,"})
        );
        assert_eq!(replaced["data"], json!({"a": "2"}));
        generated.behavior = Behavior::Create;
        assert_eq!(
            merge_into(&old, &generated),
            Err(GeneratorError::AlreadyExists {
                kind: "ConfigMap".into(),
                name: "cm".into()
            })
        );
    }

    #[test]
    fn merge_of_empty_secrets_drops_data() {
        let old = json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                         "metadata": {"name": "s"}, "data": {}});
        let generated = run(
            GeneratedKind::Secret,
            json!({"name": "s", "behavior": "merge"}),
            None,
            &HashMap::new(),
        )
        .expect("generate");
        let merged = merge_into(&old, &generated).expect("merge");
        assert_eq!(
            merged,
            json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                   "metadata": {"name": "s"}})
        );
    }
}
