//! `replacements:`: copy a field of one resource into fields of others (kustomize v5.5.0's
//! replacement filter).
//!
//! Field paths split on `.` (`\.` escapes a dot; a bracketed `[name=value]` segment may hold
//! dots). Sources are looked up exactly; targets are matched the way kyaml's PathMatcher
//! matches them: `*` for every element, an index, or `[field=regex]` (an unanchored regular
//! expression, as in kyaml). A scalar target keeps its own type and takes the source's text.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::patch::selector::Selector;
use super::resource::{ResId, Resource};

/// One replacement.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Replacement {
    #[serde(default)]
    pub source: Option<Source>,
    #[serde(default)]
    pub targets: Option<Vec<Target>>,
}

/// Exact-match id fields (empty matches anything).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IdSelector {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
}

impl IdSelector {
    fn selects(&self, id: &ResId) -> bool {
        (self.name.is_empty() || self.name == id.name)
            && (self.namespace.is_empty() || effective(&self.namespace) == id.effective_namespace())
            && (self.group.is_empty() || self.group == id.group)
            && (self.version.is_empty() || self.version == id.version)
            && (self.kind.is_empty() || self.kind == id.kind)
    }

    fn is_empty(&self) -> bool {
        self == &IdSelector::default()
    }
}

fn effective(namespace: &str) -> &str {
    if namespace.is_empty() {
        "default"
    } else {
        namespace
    }
}

/// The source of a replacement.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    #[serde(flatten)]
    pub id: IdSelector,
    #[serde(default)]
    pub field_path: String,
    #[serde(default)]
    pub options: Option<FieldOptions>,
}

/// A selector with label and annotation selectors, for targets.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetSelector {
    #[serde(flatten)]
    pub id: IdSelector,
    #[serde(default)]
    pub label_selector: String,
    #[serde(default)]
    pub annotation_selector: String,
}

/// The targets of a replacement.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Target {
    #[serde(default)]
    pub select: Option<TargetSelector>,
    #[serde(default)]
    pub reject: Vec<TargetSelector>,
    #[serde(default)]
    pub field_paths: Vec<String>,
    #[serde(default)]
    pub options: Option<FieldOptions>,
}

/// `options` of a source or target.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldOptions {
    #[serde(default)]
    pub delimiter: String,
    #[serde(default)]
    pub index: i64,
    #[serde(default)]
    pub encoding: String,
    #[serde(default)]
    pub create: bool,
}

const DEFAULT_FIELD_PATH: &str = "metadata.name";

/// Applies every replacement, in order.
pub fn apply(resources: &mut [Resource], replacements: &[Value]) -> Result<(), String> {
    for raw in replacements {
        let replacement: Replacement =
            serde_json::from_value(raw.clone()).map_err(|error| error.to_string())?;
        let (Some(source), Some(targets)) = (&replacement.source, &replacement.targets) else {
            return Err("replacements must specify a source and at least one target".into());
        };
        let value = source_value(resources, source)?;
        for target in targets {
            apply_target(resources, &value, target)?;
        }
    }
    Ok(())
}

fn describe(selector: &IdSelector) -> String {
    let id = ResId {
        group: selector.group.clone(),
        version: selector.version.clone(),
        kind: selector.kind.clone(),
        name: selector.name.clone(),
        namespace: selector.namespace.clone(),
    };
    id.to_string()
}

fn source_value(resources: &[Resource], source: &Source) -> Result<Value, String> {
    let mut matches = resources
        .iter()
        .filter(|resource| resource.all_ids().iter().any(|id| source.id.selects(id)));
    let Some(found) = matches.next() else {
        return Err(format!("nothing selected by {}", describe(&source.id)));
    };
    if matches.next().is_some() {
        return Err(format!(
            "multiple matches for selector {}",
            describe(&source.id)
        ));
    }
    let field_path = if source.field_path.is_empty() {
        DEFAULT_FIELD_PATH
    } else {
        &source.field_path
    };
    let path = split_path(field_path);
    let value = lookup(&found.object, &path)
        .filter(|value| !is_nil_or_empty(value))
        .ok_or_else(|| {
            format!(
                "fieldPath `{field_path}` is missing for replacement source {}",
                describe(&source.id)
            )
        })?;
    match &source.options {
        Some(options) if !options.delimiter.is_empty() => {
            let text =
                scalar_text(value).ok_or("delimiter option can only be used with scalar nodes")?;
            let pieces: Vec<&str> = text.split(options.delimiter.as_str()).collect();
            let piece = usize::try_from(options.index)
                .ok()
                .and_then(|index| pieces.get(index))
                .ok_or_else(|| {
                    format!(
                        "options.index {} is out of bounds for value {text}",
                        options.index
                    )
                })?;
            Ok(Value::String(piece.to_string()))
        }
        _ => Ok(value.clone()),
    }
}

fn is_nil_or_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// The text of a scalar as YAML would hold it.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

/// Splits a field path on unescaped dots, keeping `[a=b.c]` whole.
pub fn split_path(path: &str) -> Vec<String> {
    let mut pieces: Vec<String> = Vec::new();
    for piece in path.split('.') {
        match pieces.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push('.');
                last.push_str(piece);
            }
            _ => pieces.push(piece.to_string()),
        }
    }
    if pieces.len() > 1 && pieces[0].is_empty() {
        pieces.remove(0);
    }
    let mut result = Vec::new();
    let mut index = 0;
    while index < pieces.len() {
        let piece = &pieces[index];
        if piece.starts_with('[') && !piece.ends_with(']') {
            let mut joined = vec![piece.clone()];
            while index + 1 < pieces.len() {
                index += 1;
                joined.push(pieces[index].clone());
                if pieces[index].ends_with(']') {
                    break;
                }
            }
            let whole = joined.join(".");
            if whole.contains('=') {
                result.push(whole);
            } else {
                result.push(whole.trim_matches(|c| c == '[' || c == ']').to_string());
            }
        } else {
            result.push(piece.clone());
        }
        index += 1;
    }
    result
}

/// Exact lookup for sources: fields, indexes, `-` for the last element, `[k=v]` equality.
fn lookup<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut current = value;
    for part in path {
        current = match current {
            Value::Array(items) => {
                if part == "-" {
                    items.last()?
                } else if let Ok(index) = part.parse::<usize>() {
                    items.get(index)?
                } else if let Some((field, wanted)) = list_index(part) {
                    items
                        .iter()
                        .find(|item| element_matches_exactly(item, field, wanted))?
                } else {
                    return None;
                }
            }
            Value::Object(map) => map.get(part.as_str())?,
            _ => return None,
        };
    }
    Some(current)
}

fn list_index(part: &str) -> Option<(&str, &str)> {
    let inner = part.strip_prefix('[')?.strip_suffix(']')?;
    inner.split_once('=')
}

fn element_matches_exactly(item: &Value, field: &str, wanted: &str) -> bool {
    let candidate = if field.is_empty() {
        Some(item)
    } else {
        item.get(field)
    };
    candidate
        .and_then(scalar_text)
        .is_some_and(|text| text == wanted)
}

fn apply_target(resources: &mut [Resource], value: &Value, target: &Target) -> Result<(), String> {
    let Some(select) = &target.select else {
        return Err("target must specify resources to select".into());
    };
    let field_paths: Vec<String> = if target.field_paths.is_empty() {
        vec![DEFAULT_FIELD_PATH.to_string()]
    } else {
        target.field_paths.clone()
    };
    let create = target
        .options
        .as_ref()
        .is_some_and(|options| options.create);
    for resource in resources.iter_mut() {
        if !matches_label_and_annotation(resource, select)? {
            continue;
        }
        let mut rejected = false;
        for reject in &target.reject {
            if (!reject.label_selector.is_empty() || !reject.annotation_selector.is_empty())
                && matches_label_and_annotation(resource, reject)?
            {
                rejected = true;
            }
        }
        if rejected {
            continue;
        }
        let ids = resource.all_ids();
        let rejected_by_id = target
            .reject
            .iter()
            .filter(|reject| !reject.id.is_empty())
            .any(|reject| ids.iter().any(|id| reject.id.selects(id)));
        if rejected_by_id || !ids.iter().any(|id| select.id.selects(id)) {
            continue;
        }
        for field_path in &field_paths {
            let path = split_path(field_path);
            let mut slots = 0usize;
            let mut failure = None;
            visit_targets(&mut resource.object, &path, create, value, &mut |slot| {
                slots += 1;
                if let Err(error) = set_value(slot, value, target.options.as_ref()) {
                    failure = Some(error);
                }
            })
            .map_err(|error| format!("{}: {error}", retrieval_error(field_path, create)))?;
            if let Some(error) = failure {
                return Err(error);
            }
            if slots == 0 {
                return Err(retrieval_error(field_path, create));
            }
        }
    }
    Ok(())
}

fn retrieval_error(field_path: &str, create: bool) -> String {
    if create {
        format!("unable to find or create field \"{field_path}\" in replacement target")
    } else {
        format!("unable to find field \"{field_path}\" in replacement target")
    }
}

fn matches_label_and_annotation(
    resource: &Resource,
    selector: &TargetSelector,
) -> Result<bool, String> {
    if selector.label_selector.is_empty() && selector.annotation_selector.is_empty() {
        return Ok(true);
    }
    let compiled = Selector {
        label_selector: selector.label_selector.clone(),
        annotation_selector: selector.annotation_selector.clone(),
        ..Selector::default()
    }
    .compile()
    .map_err(|error| error.to_string())?;
    super::patching::selects(&compiled, resource).map_err(|error| error.to_string())
}

/// The kind a missing field is created as, from the next path segment.
fn fresh_for(next: Option<&String>, value: &Value) -> Value {
    match next {
        Some(part)
            if part.parse::<usize>().is_ok() || (part.starts_with('[') && part.ends_with(']')) =>
        {
            Value::Array(Vec::new())
        }
        Some(_) => Value::Object(Map::new()),
        None => match value {
            Value::Object(_) => Value::Object(Map::new()),
            Value::Array(_) => Value::Array(Vec::new()),
            _ => Value::Null,
        },
    }
}

fn visit_targets(
    node: &mut Value,
    path: &[String],
    create: bool,
    value: &Value,
    apply: &mut dyn FnMut(&mut Value),
) -> Result<(), String> {
    let Some((part, rest)) = path.split_first() else {
        apply(node);
        return Ok(());
    };
    if let Ok(index) = part.parse::<usize>() {
        let Value::Array(items) = node else {
            return Ok(());
        };
        if items.len() == index && create {
            items.push(fresh_for(rest.first(), value));
        }
        let count = items.len();
        let item = items
            .get_mut(index)
            .ok_or_else(|| format!("index {index} specified but only {count} elements found"))?;
        return visit_targets(item, rest, create, value, apply);
    }
    if part == "*" {
        if let Value::Array(items) = node {
            for item in items.iter_mut() {
                visit_targets(item, rest, create, value, apply)?;
            }
        }
        return Ok(());
    }
    if let Some((field, pattern)) = list_index(part) {
        let Value::Array(items) = node else {
            return Ok(());
        };
        let matcher = regex::Regex::new(pattern).map_err(|error| error.to_string())?;
        let matches = |item: &Value| -> bool {
            let candidate = if field.is_empty() {
                Some(item)
            } else {
                item.get(field)
            };
            candidate
                .and_then(scalar_text)
                .is_some_and(|text| matcher.is_match(text.trim()))
        };
        let mut any = false;
        for item in items.iter_mut() {
            if matches(item) {
                any = true;
                visit_targets(item, rest, create, value, apply)?;
            }
        }
        if !any && create {
            let element = if field.is_empty() {
                Value::String(pattern.to_string())
            } else {
                let mut map = Map::new();
                map.insert(field.to_string(), Value::String(pattern.to_string()));
                Value::Object(map)
            };
            items.push(element);
            if let Some(last) = items.last_mut() {
                visit_targets(last, rest, create, value, apply)?;
            }
        }
        return Ok(());
    }
    let Value::Object(map) = node else {
        return Ok(());
    };
    if !map.contains_key(part.as_str()) {
        if !create {
            return Ok(());
        }
        map.insert(part.clone(), fresh_for(rest.first(), value));
    }
    match map.get_mut(part.as_str()) {
        Some(child) => visit_targets(child, rest, create, value, apply),
        None => Ok(()),
    }
}

/// The value of an untagged plain YAML scalar with this text (integers, booleans, null).
fn typed_scalar(text: &str) -> Value {
    match text {
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => text
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(text.to_string())),
    }
}

/// Writes the source into a target: a scalar keeps its own type and takes the text; anything
/// else is replaced whole.
fn set_value(
    slot: &mut Value,
    value: &Value,
    options: Option<&FieldOptions>,
) -> Result<(), String> {
    let mut value = value.clone();
    if let Some(options) = options.filter(|options| !options.delimiter.is_empty()) {
        let current =
            scalar_text(slot).ok_or("delimiter option can only be used with scalar nodes")?;
        let mut pieces: Vec<String> = current
            .split(options.delimiter.as_str())
            .map(str::to_string)
            .collect();
        let text = scalar_text(&value).unwrap_or_default();
        match usize::try_from(options.index) {
            Err(_) => pieces.insert(0, text),
            Ok(index) if index >= pieces.len() => pieces.push(text),
            Ok(index) => pieces[index] = text,
        }
        value = Value::String(pieces.join(&options.delimiter));
    }
    let is_scalar = |value: &Value| !matches!(value, Value::Object(_) | Value::Array(_));
    if is_scalar(slot) {
        let Some(text) = scalar_text(&value) else {
            *slot = value;
            return Ok(());
        };
        *slot = match slot {
            Value::String(_) => Value::String(text),
            Value::Number(_) => text
                .parse::<i64>()
                .map(Value::from)
                .or_else(|_| text.parse::<f64>().map(Value::from))
                .unwrap_or(Value::String(text)),
            Value::Bool(_) => match text.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::String(text),
            },
            // A field the replacement created has no tag of its own, so its text is
            // read back by YAML's rules: "3" becomes the number 3.
            Value::Null => match &value {
                Value::String(text) => typed_scalar(text),
                other => other.clone(),
            },
            _ => Value::String(text),
        };
    } else {
        *slot = value;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resources() -> Vec<Resource> {
        let mut service = Resource::new(
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}, "spec": {"ports": [{"port": 8080}]}}),
            None,
        );
        service.remember_id();
        service.set_name("p-svc");
        let deployment = Resource::new(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "p-web"},
                "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "c", "env": [{"name": "PORT", "value": "x"}]}]}}}}),
            None,
        );
        let config = Resource::new(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p-cfg"}, "data": {"count": "3"}}),
            None,
        );
        vec![service, deployment, config]
    }

    #[test]
    fn the_reference_worked_example() {
        let mut resources = resources();
        let replacements = json!([
            {"source": {"kind": "Service", "name": "svc", "fieldPath": "spec.ports.0.port"},
             "targets": [{"select": {"kind": "Deployment"}, "fieldPaths": [
                "spec.template.spec.containers.[name=c].env.[name=PORT].value",
                "metadata.annotations.a\\.b/c"]}]},
            {"source": {"kind": "ConfigMap", "name": "p-cfg", "fieldPath": "data.count"},
             "targets": [{"select": {"kind": "Deployment"}, "fieldPaths": ["spec.replicas"]}]}
        ]);
        let error = apply(&mut resources, replacements.as_array().expect("list"))
            .expect_err("annotation missing without create");
        assert!(
            error.contains("unable to find field \"metadata.annotations.a\\.b/c\""),
            "{error}"
        );

        let mut resources = super::tests::resources();
        let replacements = json!([
            {"source": {"kind": "Service", "name": "svc", "fieldPath": "spec.ports.0.port"},
             "targets": [{"select": {"kind": "Deployment"}, "options": {"create": true}, "fieldPaths": [
                "spec.template.spec.containers.[name=c].env.[name=PORT].value",
                "metadata.annotations.a\\.b/c"]}]},
            {"source": {"kind": "ConfigMap", "name": "p-cfg", "fieldPath": "data.count"},
             "targets": [{"select": {"kind": "Deployment"}, "fieldPaths": ["spec.replicas"]}]}
        ]);
        apply(&mut resources, replacements.as_array().expect("list")).expect("apply");
        let deployment = &resources[1].object;
        assert_eq!(
            deployment["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"],
            "8080"
        );
        // A created field takes the source's type; annotations become strings only when
        // the build finishes.
        assert_eq!(deployment["metadata"]["annotations"]["a.b/c"], 8080);
        assert_eq!(deployment["spec"]["replicas"], 3);
    }

    #[test]
    fn paths_split_like_kustomize() {
        assert_eq!(
            split_path("a.b\\.c.[name=x.y].d"),
            vec!["a", "b.c", "[name=x.y]", "d"]
        );
        assert_eq!(
            split_path("spec.containers.0"),
            vec!["spec", "containers", "0"]
        );
    }

    #[test]
    fn delimiters_pick_and_place_pieces() {
        let mut resources = vec![
            Resource::new(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s"}, "data": {"v": "x-8080-y"}}),
                None,
            ),
            Resource::new(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "t"}, "data": {"v": "a.b.c"}}),
                None,
            ),
        ];
        let replacements = json!([{
            "source": {"name": "s", "fieldPath": "data.v", "options": {"delimiter": "-", "index": 1}},
            "targets": [{"select": {"name": "t"}, "fieldPaths": ["data.v"], "options": {"delimiter": ".", "index": 1}}]
        }]);
        apply(&mut resources, replacements.as_array().expect("list")).expect("apply");
        assert_eq!(resources[1].object["data"]["v"], "a.8080.c");
    }
}
