//! The kustomization `crds:` field: legacy OpenAPI definition files whose extension markers
//! tell kustomize where custom resources hold annotations, label selectors and references to
//! other objects (kustomize's `LoadConfigFromCRDs`).

use serde_json::{Value, json};

use super::fieldspec::FieldSpec;

/// Field specs one definitions file adds.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CrdConfig {
    pub common_annotations: Vec<FieldSpec>,
    pub common_labels: Vec<FieldSpec>,
    pub name_prefix: Vec<FieldSpec>,
    /// Back references in the `nameReference` configuration format.
    pub name_reference: Vec<Value>,
}

/// Reads a definitions map (`{"<type name>": {"Schema": {...}}}`).
pub fn config_from_definitions(definitions: &Value) -> Result<CrdConfig, String> {
    let Some(types) = definitions.as_object() else {
        return Err("expected a map of OpenAPI definitions".into());
    };
    let mut config = CrdConfig::default();
    for (type_name, definition) in types {
        let properties = definition
            .pointer("/Schema/properties")
            .and_then(Value::as_object);
        let looks_like_kubernetes_type = properties.is_some_and(|properties| {
            ["kind", "apiVersion", "metadata"]
                .iter()
                .all(|key| properties.contains_key(*key))
        });
        if !looks_like_kubernetes_type {
            continue;
        }
        let kind = type_name.rsplit('.').next().unwrap_or(type_name);
        walk(types, type_name, kind, &mut Vec::new(), &mut config, 0);
    }
    Ok(config)
}

fn spec_at(kind: &str, path: &[String]) -> FieldSpec {
    FieldSpec {
        kind: kind.to_string(),
        path: path.join("/"),
        ..FieldSpec::default()
    }
}

fn walk(
    types: &serde_json::Map<String, Value>,
    type_name: &str,
    kind: &str,
    path: &mut Vec<String>,
    config: &mut CrdConfig,
    depth: usize,
) {
    // Definitions may refer to each other in a cycle.
    if depth > 32 {
        return;
    }
    let Some(properties) = types
        .get(type_name)
        .and_then(|definition| definition.pointer("/Schema/properties"))
        .and_then(Value::as_object)
    else {
        return;
    };
    for (name, property) in properties {
        path.push(name.clone());
        if property
            .get("x-kubernetes-annotation")
            .is_some_and(Value::is_string)
        {
            config.common_annotations.push(spec_at(kind, path));
        }
        if property
            .get("x-kubernetes-label-selector")
            .is_some_and(Value::is_string)
        {
            config.common_labels.push(spec_at(kind, path));
        }
        if property
            .get("x-kubernetes-identity")
            .is_some_and(Value::is_string)
        {
            config.name_prefix.push(spec_at(kind, path));
        }
        if let (Some(version), Some(target_kind)) = (
            property
                .get("x-kubernetes-object-ref-api-version")
                .and_then(Value::as_str),
            property
                .get("x-kubernetes-object-ref-kind")
                .and_then(Value::as_str),
        ) {
            let name_key = property
                .get("x-kubernetes-object-ref-name-key")
                .and_then(Value::as_str)
                .unwrap_or("name");
            config.name_reference.push(json!({
                "kind": target_kind,
                "version": version,
                "fieldSpecs": [{"kind": kind, "path": format!("{}/{name_key}", path.join("/"))}],
            }));
        }
        if let Some(reference) = property.get("$ref").and_then(Value::as_str) {
            walk(types, reference, kind, path, config, depth + 1);
        }
        path.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_become_field_specs() {
        let definitions = json!({
            "example.com.v1.Widget": {"Schema": {"properties": {
                "apiVersion": {}, "kind": {}, "metadata": {},
                "spec": {"$ref": "example.com.v1.WidgetSpec"}
            }}},
            "example.com.v1.WidgetSpec": {"Schema": {"properties": {
                "configRef": {"x-kubernetes-object-ref-api-version": "v1", "x-kubernetes-object-ref-kind": "ConfigMap"},
                "selector": {"x-kubernetes-label-selector": ""},
                "notes": {"x-kubernetes-annotation": ""}
            }}}
        });
        let config = config_from_definitions(&definitions).expect("config");
        assert_eq!(
            config.common_labels,
            vec![spec_at("Widget", &["spec".into(), "selector".into()])]
        );
        assert_eq!(
            config.common_annotations,
            vec![spec_at("Widget", &["spec".into(), "notes".into()])]
        );
        assert_eq!(
            config.name_reference,
            vec![
                json!({"kind": "ConfigMap", "version": "v1", "fieldSpecs": [{"kind": "Widget", "path": "spec/configRef/name"}]})
            ]
        );
    }
}
