//! The name-suffix hash kustomize appends to generated ConfigMaps and Secrets
//! (`api/hasher/hasher.go` in kustomize v5.5.0).
//!
//! Owns: building the hash input (a Go `encoding/json` document), the SHA-256 and the
//! 10-character encoding. Must not: decide which objects get a suffix or rename them; the
//! pipeline does that once, at the top kustomization, after every transformer.
//!
//! The input is encoded exactly as Go's `encoding/json` writes it, because the suffix is a
//! hash of those bytes: map keys sorted bytewise, no spaces, `<`, `>` and `&` escaped as
//! `\u003c`, `\u003e` and `\u0026`, U+2028 and U+2029 escaped, `\b` `\f` `\n` `\r` `\t`
//! written with their short escapes (Go 1.22 and later, which builds both kubectl 1.32 and
//! Flux 2.7; older Go wrote `\u0008` and `\u000c`) and other control characters as `\u00XX`
//! with lower-case hex.

use serde_json::{Map, Value};
use std::fmt::Write as _;

/// Why a hash could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// Kubernetes objects are mappings; anything else cannot be named, so hashing it is a bug
    /// upstream of this module.
    #[error("cannot hash a {found}: a resource must be a mapping")]
    NotAnObject { found: &'static str },
}

impl HashError {
    /// Whether trying again may succeed. Never: the input decides the outcome.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// The 10-character suffix kustomize appends (after a `-`) to the name of a generated object.
///
/// ConfigMaps hash `{"data":…,"kind":"ConfigMap","name":""}` (plus `binaryData` when it is a
/// mapping), Secrets `{"data":…,"kind":"Secret","name":"","type":…}` (plus `stringData`);
/// labels, annotations, `immutable`, the name and the namespace never count. Other kinds hash
/// the JSON of the whole object.
pub fn content_hash(object: &Value) -> Result<String, HashError> {
    let input = hash_input(object)?;
    Ok(encode_digest(&input))
}

/// The exact bytes [`content_hash`] feeds to SHA-256, exposed for diagnostics and tests.
pub fn hash_input(object: &Value) -> Result<String, HashError> {
    let Value::Object(map) = object else {
        return Err(HashError::NotAnObject {
            found: value_type_name(object),
        });
    };
    let mut out = String::new();
    match map.get("kind").and_then(Value::as_str) {
        Some("ConfigMap") => {
            let mut doc = Map::new();
            doc.insert("kind".into(), Value::String("ConfigMap".into()));
            doc.insert("name".into(), field_for_hash(map, "metadata/name"));
            doc.insert("data".into(), field_for_hash(map, "data"));
            if let Some(binary) = optional_map_for_hash(map, "binaryData") {
                doc.insert("binaryData".into(), binary);
            }
            write_go_json(&mut out, &Value::Object(doc), NumberStyle::Float64);
        }
        Some("Secret") => {
            let mut doc = Map::new();
            doc.insert("kind".into(), Value::String("Secret".into()));
            doc.insert("type".into(), field_for_hash(map, "type"));
            doc.insert("name".into(), field_for_hash(map, "metadata/name"));
            doc.insert("data".into(), field_for_hash(map, "data"));
            if let Some(string_data) = optional_map_for_hash(map, "stringData") {
                doc.insert("stringData".into(), string_data);
            }
            write_go_json(&mut out, &Value::Object(doc), NumberStyle::Float64);
        }
        // kustomize marshals the yaml.v3 node itself here, which only non-builtin generator
        // plugins reach; the object's JSON is the closest stand-in we can compute.
        _ => write_go_json(&mut out, object, NumberStyle::AsWritten),
    }
    Ok(out)
}

/// SHA-256 of `input`, first 10 hex digits, with kustomize's substitutions so the suffix has
/// no vowels and no easily confused digits.
fn encode_digest(input: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, input.as_bytes());
    let mut hex = String::with_capacity(10);
    for byte in digest.as_ref().iter().take(5) {
        let _ = write!(hex, "{byte:02x}");
    }
    hex.chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            other => other,
        })
        .collect()
}

/// What kustomize's `getNodeValues` yields for one top-level field.
///
/// The lookup treats its argument as one field name, so `metadata/name` is looked up as a
/// top-level key of that literal name and is, in practice, never found: the name is `""`.
fn field_for_hash(map: &Map<String, Value>, field: &str) -> Value {
    match map.get(field) {
        None => Value::String(String::new()),
        Some(value) => node_value_for_hash(value),
    }
}

/// `binaryData` and `stringData` join the input only when they are mappings. kustomize
/// decodes a non-scalar into a Go map, so a sequence becomes a nil map, which also passes
/// its "is a map" test and is written as `null`.
fn optional_map_for_hash(map: &Map<String, Value>, field: &str) -> Option<Value> {
    match map.get(field) {
        Some(Value::Object(inner)) => Some(Value::Object(inner.clone())),
        Some(Value::Array(_)) => Some(Value::Null),
        _ => None,
    }
}

fn node_value_for_hash(value: &Value) -> Value {
    match value {
        Value::Object(inner) => Value::Object(inner.clone()),
        // A sequence does not decode into the Go map kustomize expects: nil, written `null`.
        Value::Array(_) => Value::Null,
        // Scalars contribute their YAML text. A null's text ("", "~" or "null") is lost in
        // a JSON value; "" (the empty `data:` form) is the likeliest spelling.
        Value::Null => Value::String(String::new()),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Number(n) => Value::String(n.to_string()),
        Value::String(s) => Value::String(s.clone()),
    }
}

/// How numbers are written by [`write_go_json`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberStyle {
    /// Every number as Go writes a `float64`: kustomize round-trips data maps through
    /// `map[string]interface{}`, which turns every number into a `float64`.
    Float64,
    /// Integers as integers, other numbers as Go writes a `float64`.
    AsWritten,
}

/// Appends `value` to `out` exactly as Go's `json.Marshal` writes the equivalent
/// `interface{}` value (HTML escaping on, map keys sorted bytewise).
pub fn write_go_json(out: &mut String, value: &Value, numbers: NumberStyle) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            let integer = n
                .as_i64()
                .map(|i| i.to_string())
                .or_else(|| n.as_u64().map(|u| u.to_string()));
            match (numbers, integer) {
                (NumberStyle::AsWritten, Some(text)) => out.push_str(&text),
                _ => out.push_str(&go_float(n.as_f64().unwrap_or(0.0))),
            }
        }
        Value::String(s) => write_go_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(out, item, numbers);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // Go sorts map keys with a bytewise string compare; `str` ordering is the same.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_string(out, key);
                out.push(':');
                write_go_json(out, item, numbers);
            }
            out.push('}');
        }
    }
}

/// A JSON string literal as Go's `encoding/json` writes it with HTML escaping on.
fn write_go_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let bytes = s.as_bytes();
    // Runs of bytes Go writes as they are are copied whole: generated ConfigMaps hold whole
    // dashboards, and a character at a time was most of hashing them.
    let mut plain_from = 0;
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let escaped: Option<(&str, usize)> = match byte {
            b'\\' => Some(("\\\\", 1)),
            b'"' => Some(("\\\"", 1)),
            0x08 => Some(("\\b", 1)),
            0x0c => Some(("\\f", 1)),
            b'\n' => Some(("\\n", 1)),
            b'\r' => Some(("\\r", 1)),
            b'\t' => Some(("\\t", 1)),
            b'<' | b'>' | b'&' | 0x00..=0x1f => Some(("", 1)),
            // U+2028 and U+2029 are E2 80 A8 and E2 80 A9 in UTF-8.
            0xe2 if bytes.get(index + 1) == Some(&0x80)
                && matches!(bytes.get(index + 2), Some(0xa8 | 0xa9)) =>
            {
                Some((
                    if bytes[index + 2] == 0xa8 {
                        "\\u2028"
                    } else {
                        "\\u2029"
                    },
                    3,
                ))
            }
            _ => None,
        };
        let Some((text, length)) = escaped else {
            index += 1;
            continue;
        };
        out.push_str(&s[plain_from..index]);
        if text.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        } else {
            out.push_str(text);
        }
        index += length;
        plain_from = index;
    }
    out.push_str(&s[plain_from..]);
    out.push('"');
}

/// A `float64` as Go's `encoding/json` writes it: the shortest representation that reads
/// back the same, in plain notation unless the magnitude is below 1e-6 or at least 1e21,
/// where it uses an exponent (`1e+21`, `1e-7`).
fn go_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust writes `1e21` / `1e-7`; Go writes `1e+21` / `1e-7` (after trimming `e-07`).
        let text = format!("{f:e}");
        match text.split_once('e') {
            Some((mantissa, exponent)) if !exponent.starts_with('-') => {
                format!("{mantissa}e+{exponent}")
            }
            _ => text,
        }
    } else {
        format!("{f}")
    }
}

fn value_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "sequence",
        Value::Object(_) => "mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn configmap(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": data})
    }

    // The four reference values of kustomize.md §4.6, all verified with kubectl.
    #[test]
    fn reference_values() {
        let cases = [
            (configmap(json!({"k": "v"})), "bdg947hgcc"),
            (configmap(json!({"a": "b"})), "4h2mbtbbt6"),
            (configmap(json!({"x": "y"})), "6gc9d749f7"),
            (
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tls"},
                       "type": "kubernetes.io/tls",
                       "data": {"tls.crt": "Yw==", "tls.key": "aw=="}}),
                "d94tkf5ft2",
            ),
        ];
        for (object, want) in cases {
            assert_eq!(content_hash(&object).as_deref(), Ok(want), "{object}");
        }
    }

    #[test]
    fn input_shape_ignores_name_namespace_labels_and_immutable() {
        let object = json!({
            "apiVersion": "v1", "kind": "ConfigMap", "immutable": true,
            "metadata": {"name": "p-cm-s", "namespace": "ns", "labels": {"a": "b"}},
            "data": {"k": "v"}
        });
        assert_eq!(
            hash_input(&object).as_deref(),
            Ok(r#"{"data":{"k":"v"},"kind":"ConfigMap","name":""}"#)
        );
        assert_eq!(content_hash(&object).as_deref(), Ok("bdg947hgcc"));
    }

    // Verified with kubectl 1.32: a ConfigMap generator with no sources is `empty-6ct58987ht`
    // and a Secret generator with none (`data: {}`) is `sempty-46f8b28mk5`.
    #[test]
    fn empty_generated_objects() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "empty"}});
        assert_eq!(
            hash_input(&cm).as_deref(),
            Ok(r#"{"data":"","kind":"ConfigMap","name":""}"#)
        );
        assert_eq!(content_hash(&cm).as_deref(), Ok("6ct58987ht"));
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                            "metadata": {"name": "sempty"}, "data": {}});
        assert_eq!(content_hash(&secret).as_deref(), Ok("46f8b28mk5"));
    }

    // Verified with kubectl 1.32 (Go 1.23): files holding `x\by` and `x\fy` gave
    // `ctlb-56c24h5464` and `ctlf-cktb2tb5ff`, the hashes of `\b` / `\f`, not `\u0008` /
    // `\u000c`.
    #[test]
    fn backspace_and_form_feed_use_short_escapes() {
        let b = configmap(json!({"b.txt": "x\u{8}y"}));
        assert_eq!(
            hash_input(&b).as_deref(),
            Ok(r#"{"data":{"b.txt":"x\by"},"kind":"ConfigMap","name":""}"#)
        );
        assert_eq!(content_hash(&b).as_deref(), Ok("56c24h5464"));
        let f = configmap(json!({"f.txt": "x\u{c}y"}));
        assert_eq!(content_hash(&f).as_deref(), Ok("cktb2tb5ff"));
    }

    // Verified with kubectl 1.32: the name `ctl2-mfbfbmbdhd` was computed for this content
    // (printing then failed on the control characters, after hashing).
    #[test]
    fn html_separators_and_control_characters() {
        let object = configmap(json!({
            "c.txt": "<>&\u{2028}\u{2029}\u{1}\u{1f}\u{7f}\t\n\r\"\\"
        }));
        assert_eq!(
            hash_input(&object).as_deref(),
            Ok(concat!(
                r#"{"data":{"c.txt":"\u003c\u003e\u0026\u2028\u2029\u0001\u001f"#,
                "\u{7f}",
                r#"\t\n\r\"\\"},"kind":"ConfigMap","name":""}"#
            ))
        );
        assert_eq!(content_hash(&object).as_deref(), Ok("mfbfbmbdhd"));
    }

    #[test]
    fn multibyte_text_around_escapes_is_copied_as_is() {
        // U+2027 shares its first two UTF-8 bytes with U+2028 and is not escaped.
        let object = configmap(json!({"m.txt": "é日本\u{2027}<🙂>\u{2028}z"}));
        assert_eq!(
            hash_input(&object).as_deref(),
            Ok(concat!(
                r#"{"data":{"m.txt":"é日本"#,
                "\u{2027}",
                r#"\u003c🙂\u003e\u2028z"},"kind":"ConfigMap","name":""}"#
            ))
        );
    }

    #[test]
    fn keys_sort_bytewise_and_are_escaped() {
        let object = configmap(json!({"b": "1", "B": "2", "a<": "3", "é": "4", "z": "5"}));
        assert_eq!(
            hash_input(&object).as_deref(),
            Ok(
                r#"{"data":{"B":"2","a\u003c":"3","b":"1","z":"5","é":"4"},"kind":"ConfigMap","name":""}"#
            )
        );
    }

    #[test]
    fn binary_data_and_string_data_only_when_mappings() {
        let cm = json!({"kind": "ConfigMap", "data": {"a": "b"}, "binaryData": {"bin": "AA=="}});
        assert_eq!(
            hash_input(&cm).as_deref(),
            Ok(r#"{"binaryData":{"bin":"AA=="},"data":{"a":"b"},"kind":"ConfigMap","name":""}"#)
        );
        let cm_scalar = json!({"kind": "ConfigMap", "binaryData": "x"});
        assert_eq!(
            hash_input(&cm_scalar).as_deref(),
            Ok(r#"{"data":"","kind":"ConfigMap","name":""}"#)
        );
        let secret = json!({"kind": "Secret", "stringData": {"k": "v"}});
        assert_eq!(
            hash_input(&secret).as_deref(),
            Ok(r#"{"data":"","kind":"Secret","name":"","stringData":{"k":"v"},"type":""}"#)
        );
        let seq = json!({"kind": "Secret", "data": ["a"], "stringData": ["b"]});
        assert_eq!(
            hash_input(&seq).as_deref(),
            Ok(r#"{"data":null,"kind":"Secret","name":"","stringData":null,"type":""}"#)
        );
    }

    #[test]
    fn numbers_in_data_are_written_as_go_float64() {
        let object = configmap(json!({"i": 1, "f": 1.5, "big": 1e21, "small": 1e-7, "neg": -2}));
        assert_eq!(
            hash_input(&object).as_deref(),
            Ok(
                r#"{"data":{"big":1e+21,"f":1.5,"i":1,"neg":-2,"small":1e-7},"kind":"ConfigMap","name":""}"#
            )
        );
        assert_eq!(go_float(100000000000000000000.0), "100000000000000000000");
        assert_eq!(go_float(0.000001), "0.000001");
        assert_eq!(go_float(1.25e-10), "1.25e-10");
        assert_eq!(go_float(-0.0), "-0");
    }

    #[test]
    fn other_kinds_hash_the_whole_object() {
        let object = json!({"kind": "Thing", "apiVersion": "x/v1", "spec": {"n": 3, "s": "&"}});
        assert_eq!(
            hash_input(&object).as_deref(),
            Ok(r#"{"apiVersion":"x/v1","kind":"Thing","spec":{"n":3,"s":"\u0026"}}"#)
        );
    }

    #[test]
    fn non_objects_are_rejected() {
        assert_eq!(
            content_hash(&json!(["a"])),
            Err(HashError::NotAnObject { found: "sequence" })
        );
    }
}
