//! `vars:` (deprecated, still common): `$(NAME)` in the varReference fields is replaced with
//! a field of the object the var names. Vars attach to their object at the level that
//! declares them and are resolved once at the top, after hashing and name references, so
//! they see final names.

use serde::Deserialize;
use serde_json::Value;

use super::fieldspec::{FieldSpec, visit_specs};
use super::resource::{ResId, Resource};
use super::scope::is_cluster_scoped;

/// One var.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Var {
    pub name: String,
    #[serde(rename = "objref")]
    pub object: ObjectRef,
    #[serde(default, rename = "fieldref")]
    pub field: FieldRef,
}

/// The object a var reads.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    #[serde(default)]
    pub api_version: String,
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

/// The field a var reads (`metadata.name` by default).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldRef {
    #[serde(default)]
    pub field_path: String,
}

impl ObjectRef {
    fn id(&self) -> ResId {
        let (mut group, mut version) = (self.group.clone(), self.version.clone());
        if !self.api_version.is_empty() {
            match self.api_version.split_once('/') {
                Some((g, v)) => {
                    group = g.to_string();
                    version = v.to_string();
                }
                None => version = self.api_version.clone(),
            }
        }
        ResId {
            group,
            version,
            kind: self.kind.clone(),
            name: self.name.clone(),
            namespace: self.namespace.clone(),
        }
    }
}

/// The varReference fields kustomize v5.5.0 substitutes in by default.
pub fn default_references() -> Vec<FieldSpec> {
    let container_paths = |base: &str| -> Vec<String> {
        let mut paths = Vec::new();
        for list in ["containers", "initContainers"] {
            for field in ["args", "command", "env/value", "volumeMounts/mountPath"] {
                paths.push(format!("{base}/{list}/{field}"));
            }
        }
        paths
    };
    let mut specs = Vec::new();
    let mut add = |kind: &str, paths: Vec<String>| {
        for path in paths {
            specs.push(FieldSpec {
                kind: kind.into(),
                path,
                ..FieldSpec::default()
            });
        }
    };
    let mut cron = container_paths("spec/jobTemplate/spec/template/spec");
    cron.push("spec/jobTemplate/spec/template/volumes/nfs/server".into());
    add("CronJob", cron);
    for kind in ["DaemonSet", "Deployment", "Job", "ReplicaSet"] {
        let mut paths = container_paths("spec/template/spec");
        paths.push("spec/template/spec/volumes/nfs/server".into());
        if kind == "Deployment" {
            paths.push("spec/template/metadata/annotations".into());
        }
        add(kind, paths);
    }
    add(
        "Ingress",
        vec![
            "spec/rules/host".into(),
            "spec/tls/hosts".into(),
            "spec/tls/secretName".into(),
        ],
    );
    let mut pod = container_paths("spec");
    pod.push("spec/volumes/nfs/server".into());
    add("Pod", pod);
    add(
        "Service",
        vec!["spec/ports/port".into(), "spec/ports/targetPort".into()],
    );
    let mut stateful = container_paths("spec/template/spec");
    stateful.push("spec/volumeClaimTemplates/spec/nfs/server".into());
    add("StatefulSet", stateful);
    add("PersistentVolume", vec!["spec/nfs/server".into()]);
    add(
        "",
        vec!["metadata/labels".into(), "metadata/annotations".into()],
    );
    specs
}

/// Registers the vars a level declares: each attaches to the one object it names (by any
/// id), and joins the set of known vars.
pub fn register(
    resources: &mut [Resource],
    declared: &[Value],
    known: &mut Vec<Var>,
) -> Result<(), String> {
    for raw in declared {
        let var: Var =
            serde_json::from_value(normalise_keys(raw)).map_err(|error| error.to_string())?;
        let target = var.object.id();
        let exact_namespace =
            !target.namespace.is_empty() || is_cluster_scoped(&target.api_version(), &target.kind);
        let matches = |id: &ResId| {
            id.same_gvk(&target)
                && id.name == target.name
                && (!exact_namespace || id.effective_namespace() == target.effective_namespace())
        };
        let matched: Vec<usize> = resources
            .iter()
            .enumerate()
            .filter(|(_, resource)| resource.all_ids().iter().any(matches))
            .map(|(index, _)| index)
            .collect();
        if matched.len() > 1 {
            return Err(format!(
                "found {} resId matches for var {} (unable to disambiguate)",
                matched.len(),
                var.name
            ));
        }
        if let Some(index) = matched.first() {
            resources[*index].var_names.push(var.name.clone());
        }
        merge(known, var)?;
    }
    Ok(())
}

/// Go's decoder matches field names without regard to case (`fieldpath` works for
/// `fieldPath`); serde does not, so the known names are respelled first.
fn normalise_keys(value: &Value) -> Value {
    const NAMES: [&str; 10] = [
        "name",
        "objref",
        "fieldref",
        "apiVersion",
        "group",
        "version",
        "kind",
        "namespace",
        "fieldPath",
        "fieldpath",
    ];
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    let canonical = NAMES
                        .iter()
                        .find(|name| name.eq_ignore_ascii_case(key))
                        .map_or(key.clone(), |name| {
                            if name.eq_ignore_ascii_case("fieldpath") {
                                "fieldPath".to_string()
                            } else {
                                name.to_string()
                            }
                        });
                    (canonical, normalise_keys(value))
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Adds a var to the known set; a name seen before is an error, even with the same
/// definition (a var reached through two overlays of one base, as kustomize has it).
pub fn merge(known: &mut Vec<Var>, var: Var) -> Result<(), String> {
    if known.iter().any(|existing| existing.name == var.name) {
        return Err(format!("var '{}' already encountered", var.name));
    }
    known.push(var);
    Ok(())
}

fn field_path(var: &Var) -> &str {
    if var.field.field_path.is_empty() {
        "metadata.name"
    } else {
        &var.field.field_path
    }
}

/// Replaces `$(NAME)` in every varReference field.
pub fn resolve(
    resources: &mut [Resource],
    known: &[Var],
    extra: &[FieldSpec],
) -> Result<(), String> {
    if known.is_empty() {
        return Ok(());
    }
    let mut values: Vec<(String, Value)> = Vec::new();
    for var in known {
        let owner = resources
            .iter()
            .find(|resource| resource.var_names.contains(&var.name))
            .ok_or_else(|| {
                format!(
                    "var '{}' cannot be mapped to a field in the set of known resources",
                    var.name
                )
            })?;
        let value = field_value(&owner.object, field_path(var)).ok_or_else(|| {
            format!(
                "field specified in var '{}' not found in corresponding resource",
                var.name
            )
        })?;
        values.push((var.name.clone(), value));
    }
    let mut specs = default_references();
    specs.extend_from_slice(extra);
    for resource in resources.iter_mut() {
        let id = resource.id();
        for spec in specs.iter().filter(|spec| spec.selects(&id)) {
            visit_specs(
                &mut resource.object,
                &id,
                std::slice::from_ref(spec),
                &mut |slot| substitute(slot, &values),
            );
        }
    }
    Ok(())
}

fn substitute(slot: &mut Value, values: &[(String, Value)]) {
    match slot {
        Value::String(text) => *slot = expand(text, values),
        Value::Object(map) => {
            for value in map.values_mut() {
                if let Value::String(text) = value {
                    *value = expand(text, values);
                }
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                if let Value::String(text) = item {
                    *item = expand(text, values);
                }
            }
        }
        _ => {}
    }
}

/// Expands `$(NAME)`; `$$` is a literal `$`; a string that is exactly one reference takes
/// the value's own type.
pub fn expand(input: &str, values: &[(String, Value)]) -> Value {
    let lookup = |name: &str| {
        values
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, value)| value)
    };
    if let Some(name) = input
        .strip_prefix("$(")
        .and_then(|rest| rest.strip_suffix(')'))
        && !name.contains(')')
        && let Some(value) = lookup(name)
    {
        return value.clone();
    }
    let bytes = input.as_bytes();
    let mut out = String::new();
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'$' && index + 1 < bytes.len() {
            match bytes[index + 1] {
                b'$' => {
                    out.push('$');
                    index += 2;
                }
                b'(' => match input[index + 2..].find(')') {
                    Some(close) => {
                        let name = &input[index + 2..index + 2 + close];
                        match lookup(name) {
                            Some(Value::String(text)) => out.push_str(text),
                            Some(other) => out.push_str(&other.to_string()),
                            None => {
                                out.push_str("$(");
                                out.push_str(name);
                                out.push(')');
                            }
                        }
                        index += 2 + close + 1;
                    }
                    None => {
                        out.push_str("$(");
                        index += 2;
                    }
                },
                _ => {
                    let next = input[index + 1..].chars().next().unwrap_or('$');
                    out.push('$');
                    out.push(next);
                    index += 1 + next.len_utf8();
                }
            }
        } else {
            let next = input[index..].chars().next().unwrap_or(' ');
            out.push(next);
            index += next.len_utf8();
        }
    }
    Value::String(out)
}

/// A field by a var's path: `.`-separated, with `name[index]` or `[index]` for list items.
fn field_value(object: &Value, path: &str) -> Option<Value> {
    let mut current = object;
    for part in path.split('.') {
        let (field, indexes) = match part.find('[') {
            Some(open) => (&part[..open], &part[open..]),
            None => (part, ""),
        };
        if !field.is_empty() {
            current = current.get(field)?;
        }
        for index in indexes.split(']').filter(|piece| !piece.is_empty()) {
            let index = index.trim_start_matches('[');
            current = match index.parse::<usize>() {
                Ok(position) => current.get(position)?,
                Err(_) => current.get(index)?,
            };
        }
    }
    match current {
        Value::Object(_) | Value::Array(_) => None,
        other => Some(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expansion_keeps_types_escapes_and_unknowns() {
        let values = vec![
            ("PORT".to_string(), json!(8080)),
            ("NAME".to_string(), json!("svc-x")),
        ];
        assert_eq!(expand("$(PORT)", &values), json!(8080));
        assert_eq!(
            expand("http://$(NAME):$(PORT)/", &values),
            json!("http://svc-x:8080/")
        );
        assert_eq!(
            expand("$$(NAME) $(UNKNOWN)", &values),
            json!("$(NAME) $(UNKNOWN)")
        );
    }

    #[test]
    fn vars_resolve_to_final_names_in_workload_args() {
        let mut resources = vec![
            Resource::new(
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}}),
                None,
            ),
            Resource::new(
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                    "spec": {"template": {"spec": {"containers": [{"name": "c", "args": ["--svc=$(SVC)"]}]}}}}),
                None,
            ),
        ];
        let mut known = Vec::new();
        register(&mut resources, &[json!({"name": "SVC", "objref": {"apiVersion": "v1", "kind": "Service", "name": "svc"}})], &mut known)
            .expect("register");
        resources[0].set_name("o-svc");
        resolve(&mut resources, &known, &[]).expect("resolve");
        assert_eq!(
            resources[1].object["spec"]["template"]["spec"]["containers"][0]["args"][0],
            "--svc=o-svc"
        );
    }

    #[test]
    fn a_var_whose_object_is_missing_is_an_error() {
        let mut resources = vec![Resource::new(
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}}),
            None,
        )];
        let mut known = Vec::new();
        register(&mut resources, &[json!({"name": "X", "objref": {"apiVersion": "v1", "kind": "Service", "name": "nope"}})], &mut known)
            .expect("register");
        let error = resolve(&mut resources, &known, &[]).expect_err("missing");
        assert!(error.contains("cannot be mapped"), "{error}");
    }
}
