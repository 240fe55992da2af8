//! JSON 6902 patches with the semantics of `gopkg.in/evanphx/json-patch.v4` (v4.12.0), the
//! library kustomize v5.5.0 applies them with.
//!
//! That library is more lenient than RFC 6902 in places kustomizations rely on, and its
//! error texts reach users, so both are kept:
//! - `replace` of a missing object key adds it; `replace` of the whole document with a
//!   scalar does nothing;
//! - negative array indices count from the end; `-` appends (for `add` only);
//! - a null value reads as absent: it cannot be walked through, `test` of a missing path
//!   against `null` passes, and `copy` from a missing key copies `null`;
//! - a path not starting with `/` loses its first segment (`a/b` means `/b`).
//!
//! Owns: applying a decoded operation list to one document. Must not: choose targets or
//! convert YAML patches (the caller converts them with the YAML 1.1 config parser).

use serde_json::Value;

use super::PatchError;

/// Parses JSON 6902 patch text written as JSON (it must start with `[`, leading whitespace
/// aside) into its operation list.
pub fn parse_json6902(text: &str) -> Result<Value, PatchError> {
    if !text.trim_start().starts_with('[') {
        return Err(PatchError::InvalidJsonPatch {
            reason: "JSON patch text must start with '['".to_string(),
        });
    }
    let operations: Value =
        serde_json::from_str(text).map_err(|error| PatchError::InvalidJsonPatch {
            reason: error.to_string(),
        })?;
    check_operations(&operations)?;
    Ok(operations)
}

/// What json-patch's decoder accepts: a list whose items are objects (or null, which then
/// fails as an operation of unknown kind).
fn check_operations(operations: &Value) -> Result<&[Value], PatchError> {
    let Value::Array(items) = operations else {
        return Err(PatchError::InvalidJsonPatch {
            reason: "a JSON 6902 patch must be a list of operations".to_string(),
        });
    };
    if let Some(index) = items
        .iter()
        .position(|item| !matches!(item, Value::Object(_) | Value::Null))
    {
        return Err(PatchError::InvalidJsonPatch {
            reason: format!("operation {index} is not an object"),
        });
    }
    Ok(items)
}

/// Applies JSON 6902 `operations` (as [`parse_json6902`] returns them) to `target`, in
/// order; the first failing operation fails the patch.
pub fn apply_json6902(target: &Value, operations: &Value) -> Result<Value, PatchError> {
    let operations = check_operations(operations)?;
    if !matches!(target, Value::Object(_) | Value::Array(_)) {
        return Err(PatchError::InvalidJsonPatch {
            reason: "the patched document must be an object or a list".to_string(),
        });
    }
    let mut doc = target.clone();
    for (index, operation) in operations.iter().enumerate() {
        let op = Operation(operation.as_object());
        let kind = op.kind();
        let result = match kind {
            "add" => add(&mut doc, &op),
            "remove" => remove(&mut doc, &op),
            "replace" => replace(&mut doc, &op),
            "move" => move_value(&mut doc, &op),
            "test" => test(&doc, &op),
            "copy" => copy(&mut doc, &op),
            other => Err(format!("Unexpected kind: {other}")),
        };
        result.map_err(|message| PatchError::JsonPatchOperation {
            index,
            op: kind.to_string(),
            message,
        })?;
    }
    Ok(doc)
}

/// Go's `errors.Wrapf` text for json-patch's `ErrMissing`.
const MISSING: &str = "missing value";
/// json-patch's `ErrInvalidIndex`.
const INVALID_INDEX: &str = "invalid index referenced";

struct Operation<'a>(Option<&'a serde_json::Map<String, Value>>);

impl Operation<'_> {
    fn kind(&self) -> &str {
        self.0
            .and_then(|op| op.get("op"))
            .and_then(Value::as_str)
            .unwrap_or("unknown")
    }

    /// A string member; `Err` carries json-patch's inner error text.
    fn string(&self, name: &str, missing: &str) -> Result<&str, String> {
        match self.0.and_then(|op| op.get(name)) {
            None | Some(Value::Null) => Err(format!("{missing}: {MISSING}")),
            Some(Value::String(text)) => Ok(text),
            Some(other) => Err(format!(
                "json: cannot unmarshal {} into Go value of type string",
                go_json_type(other)
            )),
        }
    }

    fn path(&self) -> Result<&str, String> {
        self.string("path", "operation missing path field")
    }

    fn from(&self) -> Result<&str, String> {
        self.string("from", "operation, missing from field")
    }

    /// `None` when the operation has no `value` member at all (json-patch then holds a nil
    /// node, which `add` writes as null).
    fn value(&self) -> Option<&Value> {
        self.0.and_then(|op| op.get("value"))
    }
}

fn go_json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// RFC 6901 unescaping (`~1` → `/`, then `~0` → `~`, in one left-to-right pass).
fn decode_key(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    let mut chars = segment.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('~', Some('1')) => {
                out.push('/');
                chars.next();
            }
            ('~', Some('0')) => {
                out.push('~');
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// json-patch `findObject`: the container holding the last segment of `path`, and that
/// segment. Every segment but the first and the last is walked; each must name an object or
/// a list (a null or a scalar ends the walk).
fn find_object<'a>(doc: &'a mut Value, path: &str) -> Option<(&'a mut Value, String)> {
    let segments: Vec<&str> = path.split('/').collect();
    let (last, parents) = segments.split_last()?;
    let parents = parents.get(1..)?;
    let mut current = doc;
    for segment in parents {
        let key = decode_key(segment);
        let next = match current {
            Value::Object(map) => map.get_mut(&key),
            Value::Array(items) => {
                let index = array_index(&key, items.len()).ok()?;
                items.get_mut(index)
            }
            _ => None,
        }?;
        if !matches!(next, Value::Object(_) | Value::Array(_)) {
            return None;
        }
        current = next;
    }
    Some((current, decode_key(last)))
}

/// Go's `strconv.Atoi` as json-patch reports it.
fn atoi(key: &str) -> Result<i64, String> {
    let digits = key.strip_prefix(['+', '-']).unwrap_or(key);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.Atoi: parsing {key:?}: invalid syntax"));
    }
    key.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {key:?}: value out of range"))
}

fn invalid_index(index: i64) -> String {
    format!("Unable to access invalid index: {index}: {INVALID_INDEX}")
}

/// An existing element's index (`get`, `set`, `remove`): negative counts from the end.
fn array_index(key: &str, len: usize) -> Result<usize, String> {
    let index = atoi(key)?;
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let adjusted = if index < 0 {
        if index < -len {
            return Err(invalid_index(index));
        }
        index + len
    } else {
        index
    };
    if adjusted >= len {
        return Err(invalid_index(index));
    }
    usize::try_from(adjusted).map_err(|_| invalid_index(index))
}

/// The container's value at `key`; a null or missing object member reads as `None`.
fn get(container: &Value, key: &str) -> Result<Option<Value>, String> {
    match container {
        Value::Object(map) => Ok(map.get(key).filter(|value| !value.is_null()).cloned()),
        Value::Array(items) => {
            let index = array_index(key, items.len())?;
            Ok(items.get(index).filter(|value| !value.is_null()).cloned())
        }
        _ => Ok(None),
    }
}

fn add_to(container: &mut Value, key: &str, value: Value) -> Result<(), String> {
    match container {
        Value::Object(map) => {
            map.insert(key.to_string(), value);
            Ok(())
        }
        Value::Array(items) => {
            if key == "-" {
                items.push(value);
                return Ok(());
            }
            let index = atoi(key)
                .map_err(|error| format!("value was not a proper array index: '{key}': {error}"))?;
            let len = i64::try_from(items.len()).unwrap_or(i64::MAX) + 1;
            if index >= len || index < -len {
                return Err(invalid_index(index));
            }
            let position = if index < 0 { index + len } else { index };
            let position = usize::try_from(position).map_err(|_| invalid_index(index))?;
            items.insert(position, value);
            Ok(())
        }
        _ => Err(MISSING.to_string()),
    }
}

fn remove_from(container: &mut Value, key: &str) -> Result<(), String> {
    match container {
        Value::Object(map) => match map.remove(key) {
            Some(_) => Ok(()),
            None => Err(format!(
                "Unable to remove nonexistent key: {key}: {MISSING}"
            )),
        },
        Value::Array(items) => {
            let index = array_index(key, items.len())?;
            items.remove(index);
            Ok(())
        }
        _ => Err(MISSING.to_string()),
    }
}

fn add(doc: &mut Value, op: &Operation) -> Result<(), String> {
    let path = op
        .path()
        .map_err(|_| format!("add operation failed to decode path: {MISSING}"))?;
    let Some((container, key)) = find_object(doc, path) else {
        return Err(format!(
            "add operation does not apply: doc is missing path: \"{path}\": {MISSING}"
        ));
    };
    let value = op.value().cloned().unwrap_or(Value::Null);
    add_to(container, &key, value)
        .map_err(|error| format!("error in add for path: '{path}': {error}"))
}

fn remove(doc: &mut Value, op: &Operation) -> Result<(), String> {
    let path = op
        .path()
        .map_err(|_| format!("remove operation failed to decode path: {MISSING}"))?;
    let Some((container, key)) = find_object(doc, path) else {
        return Err(format!(
            "remove operation does not apply: doc is missing path: \"{path}\": {MISSING}"
        ));
    };
    remove_from(container, &key)
        .map_err(|error| format!("error in remove for path: '{path}': {error}"))
}

fn replace(doc: &mut Value, op: &Operation) -> Result<(), String> {
    let path = op
        .path()
        .map_err(|error| format!("replace operation failed to decode path: {error}"))?;
    if path.is_empty() {
        match op.value() {
            Some(value @ (Value::Object(_) | Value::Array(_))) => *doc = value.clone(),
            // json-patch wraps a nil error here, so a scalar whole-document replace is a no-op.
            Some(_) => {}
            None => return Err("replace operation value must be object or array".to_string()),
        }
        return Ok(());
    }
    let Some((container, key)) = find_object(doc, path) else {
        return Err(format!(
            "replace operation does not apply: doc is missing path: {path}: {MISSING}"
        ));
    };
    if get(container, &key).is_err() {
        return Err(format!(
            "replace operation does not apply: doc is missing key: {path}: {MISSING}"
        ));
    }
    let value = op.value().cloned().unwrap_or(Value::Null);
    match container {
        // An absent key is simply set: json-patch's object `get` never fails.
        Value::Object(map) => {
            map.insert(key, value);
        }
        Value::Array(items) => {
            let index = array_index(&key, items.len())
                .map_err(|error| format!("error in remove for path: '{path}': {error}"))?;
            if let Some(slot) = items.get_mut(index) {
                *slot = value;
            }
        }
        _ => {}
    }
    Ok(())
}

fn move_value(doc: &mut Value, op: &Operation) -> Result<(), String> {
    let from = op
        .from()
        .map_err(|error| format!("move operation failed to decode from: {error}"))?;
    let Some((container, key)) = find_object(doc, from) else {
        return Err(format!(
            "move operation does not apply: doc is missing from path: {from}: {MISSING}"
        ));
    };
    let value = get(container, &key)
        .map_err(|error| format!("error in move for path: '{key}': {error}"))?;
    remove_from(container, &key)
        .map_err(|error| format!("error in move for path: '{key}': {error}"))?;
    let path = op
        .path()
        .map_err(|error| format!("move operation failed to decode path: {error}"))?;
    let Some((container, key)) = find_object(doc, path) else {
        return Err(format!(
            "move operation does not apply: doc is missing destination path: {path}: {MISSING}"
        ));
    };
    add_to(container, &key, value.unwrap_or(Value::Null))
        .map_err(|error| format!("error in move for path: '{path}': {error}"))
}

fn copy(doc: &mut Value, op: &Operation) -> Result<(), String> {
    let from = op
        .from()
        .map_err(|error| format!("copy operation failed to decode from: {error}"))?;
    let Some((container, key)) = find_object(doc, from) else {
        return Err(format!(
            "copy operation does not apply: doc is missing from path: {from}: {MISSING}"
        ));
    };
    let value = get(container, &key)
        .map_err(|error| format!("error in copy for from: '{from}': {error}"))?;
    let path = op
        .path()
        .map_err(|_| format!("copy operation failed to decode path: {MISSING}"))?;
    let Some((container, key)) = find_object(doc, path) else {
        return Err(format!(
            "copy operation does not apply: doc is missing destination path: {path}: {MISSING}"
        ));
    };
    add_to(container, &key, value.unwrap_or(Value::Null))
        .map_err(|error| format!("error while adding value during copy: {error}"))
}

fn test(doc: &Value, op: &Operation) -> Result<(), String> {
    let path = op
        .path()
        .map_err(|error| format!("test operation failed to decode path: {error}"))?;
    let failed = || format!("testing value {path} failed: test failed");
    if path.is_empty() {
        return match op.value() {
            Some(expected) if same(doc, expected) => Ok(()),
            _ => Err(failed()),
        };
    }
    // find_object needs a mutable document only to share code with the writers.
    let mut scratch = doc.clone();
    let Some((container, key)) = find_object(&mut scratch, path) else {
        return Err(format!(
            "test operation does not apply: is missing path: {path}: {MISSING}"
        ));
    };
    let actual = get(container, &key)
        .map_err(|error| format!("error in test for path: '{path}': {error}"))?;
    match (actual, op.value()) {
        // A missing or null value equals an explicit null.
        (None, Some(Value::Null)) => Ok(()),
        (Some(actual), Some(expected)) if same(&actual, expected) => Ok(()),
        _ => Err(failed()),
    }
}

/// json-patch's structural equality. Numbers compare by value (json-patch compares their
/// JSON text, which for documents read from YAML is Go's canonical rendering).
fn same(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Number(a), Value::Number(b)) => {
            match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
                (Some(x), Some(y), _, _) => x == y,
                (_, _, Some(x), Some(y)) => x == y,
                _ => a.as_f64() == b.as_f64(),
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(key, x)| b.get(key).is_some_and(|y| same(x, y)))
        }
        _ => left == right,
    }
}

#[cfg(test)]
mod tests {
    //! Expected documents and error texts were checked against `kubectl kustomize`
    //! (kustomize v5.5.0).

    use serde_json::json;

    use super::*;

    fn target() -> Value {
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cm", "labels": {"a": "1"}},
            "data": {"k": "v"},
            "extra": {"list": [1, 2, 3], "nul": null}
        })
    }

    fn apply(operations: &str) -> Result<Value, PatchError> {
        apply_json6902(&target(), &parse_json6902(operations)?)
    }

    fn message(result: Result<Value, PatchError>) -> String {
        match result {
            Err(PatchError::JsonPatchOperation { message, .. }) => message,
            other => panic!("expected an operation error, got {other:?}"),
        }
    }

    #[test]
    fn add_replace_remove() {
        let patched = apply(
            r#"[
              {"op": "add", "path": "/metadata/labels/app.kubernetes.io~1name", "value": "x"},
              {"op": "add", "path": "/extra/list/-", "value": 4},
              {"op": "add", "path": "/extra/list/0", "value": 0},
              {"op": "add", "path": "/extra/list/-1", "value": 9},
              {"op": "replace", "path": "/data/k", "value": "w"},
              {"op": "remove", "path": "/extra/nul"}
            ]"#,
        );
        let mut expected = target();
        expected["metadata"]["labels"]["app.kubernetes.io/name"] = json!("x");
        // -1 counts from the end of the grown list, so it appends too.
        expected["extra"] = json!({"list": [0, 1, 2, 3, 4, 9]});
        expected["data"]["k"] = json!("w");
        assert_eq!(patched, Ok(expected));
    }

    #[test]
    fn add_under_a_missing_parent_fails() {
        assert_eq!(
            message(apply(r#"[{"op": "add", "path": "/spec/x", "value": 1}]"#)),
            "add operation does not apply: doc is missing path: \"/spec/x\": missing value"
        );
        // A null cannot be walked through either.
        assert!(
            message(apply(
                r#"[{"op": "add", "path": "/extra/nul/a", "value": 1}]"#
            ))
            .starts_with("add operation does not apply")
        );
        assert_eq!(
            message(apply(
                r#"[{"op": "add", "path": "/extra/list/4", "value": 9}]"#
            )),
            "error in add for path: '/extra/list/4': Unable to access invalid index: 4: invalid index referenced"
        );
    }

    #[test]
    fn lenient_replace_adds_a_missing_key() {
        let patched = apply(r#"[{"op": "replace", "path": "/data/zz", "value": "new"}]"#);
        let mut expected = target();
        expected["data"]["zz"] = json!("new");
        assert_eq!(patched, Ok(expected));
        assert_eq!(
            message(apply(
                r#"[{"op": "replace", "path": "/extra/list/5", "value": 7}]"#
            )),
            "replace operation does not apply: doc is missing key: /extra/list/5: missing value"
        );
        // A scalar for the whole document is silently ignored.
        assert_eq!(
            apply(r#"[{"op": "replace", "path": "", "value": 3}]"#),
            Ok(target())
        );
    }

    #[test]
    fn remove_of_a_missing_key_fails() {
        assert_eq!(
            message(apply(r#"[{"op": "remove", "path": "/data/zz"}]"#)),
            "error in remove for path: '/data/zz': Unable to remove nonexistent key: zz: missing value"
        );
    }

    #[test]
    fn test_operation() {
        let patched = apply(
            r#"[
              {"op": "test", "path": "/data/k", "value": "v"},
              {"op": "test", "path": "/extra/list", "value": [1, 2, 3]},
              {"op": "test", "path": "/data/missing", "value": null},
              {"op": "test", "path": "/extra/nul", "value": null},
              {"op": "add", "path": "/data/t", "value": "ok"}
            ]"#,
        );
        assert_eq!(patched.map(|doc| doc["data"]["t"].clone()), Ok(json!("ok")));
        assert_eq!(
            message(apply(
                r#"[{"op": "test", "path": "/data/k", "value": "nope"}]"#
            )),
            "testing value /data/k failed: test failed"
        );
    }

    #[test]
    fn copy_and_move() {
        let patched = apply(
            r#"[
              {"op": "copy", "from": "/data/k", "path": "/metadata/labels/b"},
              {"op": "copy", "from": "/data/missing", "path": "/data/c"},
              {"op": "move", "from": "/metadata/labels/a", "path": "/extra/moved"}
            ]"#,
        );
        let mut expected = target();
        expected["metadata"]["labels"] = json!({"b": "v"});
        expected["data"]["c"] = Value::Null;
        expected["extra"]["moved"] = json!("1");
        assert_eq!(patched, Ok(expected));
        assert_eq!(
            message(apply(
                r#"[{"op": "move", "from": "/data/missing", "path": "/data/x"}]"#
            )),
            "error in move for path: 'missing': Unable to remove nonexistent key: missing: missing value"
        );
    }

    #[test]
    fn quirks_of_paths_and_values() {
        // The segment before the first slash is ignored, a missing value adds null.
        let patched = apply(
            r#"[{"op": "add", "path": "data/q", "value": "x"}, {"op": "add", "path": "/data/z"}]"#,
        );
        let mut expected = target();
        expected["q"] = json!("x");
        expected["data"]["z"] = Value::Null;
        assert_eq!(patched, Ok(expected));
        assert_eq!(
            message(apply(r#"[{"op": "frob", "path": "/a"}]"#)),
            "Unexpected kind: frob"
        );
    }

    #[test]
    fn parse_accepts_only_json_operation_lists() {
        assert!(parse_json6902("  [ ]").is_ok());
        assert!(matches!(
            parse_json6902("- op: add"),
            Err(PatchError::InvalidJsonPatch { .. })
        ));
        assert!(matches!(
            parse_json6902("[1]"),
            Err(PatchError::InvalidJsonPatch { .. })
        ));
        assert!(matches!(
            parse_json6902("[{]"),
            Err(PatchError::InvalidJsonPatch { .. })
        ));
    }
}
