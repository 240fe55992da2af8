//! kustomize's built-in transformers that need no patch engine: namespace, name prefix and
//! suffix, labels, annotations, images and replica counts. Each is a plain function over the
//! resources of one kustomization level.

use serde_json::{Map, Value};

use super::fieldspec::{self, FieldSpec, visit_specs};
use super::kustomization::{ImageEntry, LabelEntry, ReplicaEntry, StringMap};
use super::resource::{ResId, Resource, map_at, split_api_version};
use super::scope::is_cluster_scoped;

/// Why a transformer failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransformError {
    #[error("namespace transformation produces ID conflict: {id}")]
    NamespaceConflict { id: String },
    #[error("resource with name {name} does not match a config with the following GVK {gvks}")]
    ReplicaTargetMissing { name: String, gvks: String },
    #[error("invalid field spec in '{field}': {message}")]
    FieldSpec {
        field: &'static str,
        message: String,
    },
}

/// `namespace:`: moves every namespaced object into `namespace`, renames `v1` Namespace
/// objects to it, and fills in the namespace of `default` subjects of role bindings.
pub fn set_namespace(resources: &mut [Resource], namespace: &str) -> Result<(), TransformError> {
    set_namespace_with(resources, namespace, &NamespaceOptions::default())
}

/// Which role-binding subjects the namespace transformer fills in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubjectMode {
    /// Subjects named `default`, of any kind (the kustomization field's behaviour).
    #[default]
    DefaultOnly,
    /// Every ServiceAccount subject.
    AllServiceAccounts,
    /// None.
    None,
}

/// The `NamespaceTransformer` plugin's settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct NamespaceOptions {
    /// Only fill namespaces that are empty.
    pub unset_only: bool,
    pub subjects: SubjectMode,
}

/// The namespace transformer with the plugin's options.
pub fn set_namespace_with(
    resources: &mut [Resource],
    namespace: &str,
    options: &NamespaceOptions,
) -> Result<(), TransformError> {
    let fill = |slot: &mut serde_json::Map<String, Value>, key: &str| {
        let empty = slot
            .get(key)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        if !options.unset_only || empty {
            slot.insert(key.into(), Value::String(namespace.into()));
        }
    };
    for resource in resources.iter_mut() {
        resource.remember_id();
        let api_version = resource.api_version().to_string();
        let kind = resource.kind().to_string();
        if !is_cluster_scoped(&api_version, &kind)
            && (!options.unset_only || resource.namespace().is_empty())
        {
            resource.set_namespace(namespace);
        }
        if kind == "Namespace" && api_version == "v1" && !options.unset_only {
            resource.set_name(namespace);
        }
        let (group, _) = split_api_version(&api_version);
        if group == "apiregistration.k8s.io"
            && kind == "APIService"
            && let Some(service) = map_at(&mut resource.object, &["spec", "service"])
        {
            fill(service, "namespace");
        }
        if kind == "CustomResourceDefinition"
            && let Some(service) = resource
                .object
                .pointer_mut("/spec/conversion/webhook/clientConfig/service")
                .and_then(Value::as_object_mut)
            && service.contains_key("namespace")
        {
            fill(service, "namespace");
        }
        if group == "rbac.authorization.k8s.io"
            && (kind == "RoleBinding" || kind == "ClusterRoleBinding")
            && let Some(subjects) = resource
                .object
                .pointer_mut("/subjects")
                .and_then(Value::as_array_mut)
        {
            for subject in subjects.iter_mut().filter_map(Value::as_object_mut) {
                let selected = match options.subjects {
                    SubjectMode::DefaultOnly => {
                        subject.get("name").and_then(Value::as_str) == Some("default")
                    }
                    SubjectMode::AllServiceAccounts => {
                        subject.get("kind").and_then(Value::as_str) == Some("ServiceAccount")
                    }
                    SubjectMode::None => false,
                };
                if selected {
                    fill(subject, "namespace");
                }
            }
        }
    }
    check_unique(resources)
}

fn check_unique(resources: &[Resource]) -> Result<(), TransformError> {
    let mut seen = std::collections::HashSet::with_capacity(resources.len());
    for resource in resources {
        let id = resource.id();
        if !seen.insert(id.identity_key()) {
            return Err(TransformError::NamespaceConflict { id: id.to_string() });
        }
    }
    Ok(())
}

/// Kinds whose names prefixes and suffixes never touch, by original kind.
fn keeps_its_name(original: &ResId) -> bool {
    original.kind == "CustomResourceDefinition"
        || original.kind == "Namespace"
        || (original.kind == "APIService" && original.group == "apiregistration.k8s.io")
}

/// `namePrefix:` and `nameSuffix:`, through the field specs kustomize would use for each
/// ([`fieldspec::effective_name_specs`]).
pub fn add_prefix_suffix(
    resources: &mut [Resource],
    prefix: &str,
    suffix: &str,
    prefix_specs: &[FieldSpec],
    suffix_specs: &[FieldSpec],
) {
    if prefix_specs == suffix_specs {
        add_prefix_suffix_at(resources, prefix, suffix, prefix_specs);
    } else {
        // Two transformers in kustomize, each with its own specs.
        add_prefix_suffix_at(resources, prefix, "", prefix_specs);
        add_prefix_suffix_at(resources, "", suffix, suffix_specs);
    }
}

/// Prefixes and suffixes the string fields `specs` select (normally `metadata/name`),
/// skipping the kinds whose names never change.
pub fn add_prefix_suffix_at(
    resources: &mut [Resource],
    prefix: &str,
    suffix: &str,
    specs: &[FieldSpec],
) {
    if prefix.is_empty() && suffix.is_empty() {
        return;
    }
    for resource in resources.iter_mut() {
        if keeps_its_name(&resource.original_id()) {
            continue;
        }
        let id = resource.id();
        let selected: Vec<&FieldSpec> = specs.iter().filter(|spec| spec.selects(&id)).collect();
        // Only a `metadata/name` spec renames the object; others prefix other fields.
        let renames = selected.iter().any(|spec| spec.path == "metadata/name");
        if selected.is_empty() {
            continue;
        }
        if renames {
            resource.remember_id();
        }
        for spec in selected {
            fieldspec::visit(
                &mut resource.object,
                &spec.segments(),
                spec.create,
                &mut |slot| {
                    if let Value::String(text) = slot {
                        *text = format!("{prefix}{text}{suffix}");
                    }
                },
            );
        }
        if renames && !prefix.is_empty() {
            resource.prefixes.push(prefix.to_string());
        }
        if renames && !suffix.is_empty() {
            resource.suffixes.push(suffix.to_string());
        }
    }
}

/// Writes each pair into the map at every place `specs` select, creating maps as allowed.
pub fn set_pairs(resources: &mut [Resource], pairs: &StringMap, specs: &[FieldSpec]) {
    if pairs.is_empty() {
        return;
    }
    for resource in resources.iter_mut() {
        let id = resource.id();
        visit_specs(&mut resource.object, &id, specs, &mut |slot| {
            if slot.is_null() {
                *slot = Value::Object(Map::new());
            }
            if let Some(map) = slot.as_object_mut() {
                for (key, value) in pairs {
                    map.insert(key.clone(), Value::String(value.clone()));
                }
            }
        });
    }
}

/// Field specs that `configurations:` added for labels.
#[derive(Debug, Clone, Copy, Default)]
pub struct LabelConfig<'a> {
    pub labels: &'a [FieldSpec],
    pub common_labels: &'a [FieldSpec],
    pub template_labels: &'a [FieldSpec],
}

/// One `labels:` entry: metadata labels always, templates with `includeTemplates`, and
/// everywhere `commonLabels` goes with `includeSelectors`.
/// `config` holds the `labels`, `commonLabels` and `templateLabels` field specs that
/// `configurations:` added.
pub fn apply_label_entry(
    resources: &mut [Resource],
    entry: &LabelEntry,
    config: &LabelConfig<'_>,
) -> Result<(), TransformError> {
    let mut specs: Vec<FieldSpec> = entry
        .fields
        .iter()
        .map(|field| {
            serde_json::from_value(field.clone()).map_err(|error| TransformError::FieldSpec {
                field: "labels",
                message: error.to_string(),
            })
        })
        .collect::<Result<_, _>>()?;
    specs.extend_from_slice(config.labels);
    if entry.include_selectors {
        specs.extend(fieldspec::common_labels());
        specs.extend_from_slice(config.common_labels);
    } else {
        if entry.include_templates {
            specs.extend(fieldspec::metadata_labels());
            specs.extend_from_slice(config.template_labels);
        }
        specs.push(FieldSpec {
            path: "metadata/labels".into(),
            create: true,
            ..FieldSpec::default()
        });
    }
    set_pairs(resources, &entry.pairs, &specs);
    Ok(())
}

/// `images:`: the walk over every `containers` and `initContainers` list at any depth
/// (except in CRDs), then the image field specs.
pub fn apply_image(resources: &mut [Resource], image: &ImageEntry, extra_specs: &[FieldSpec]) {
    let Some(matcher) = image_matcher(&image.name) else {
        return;
    };
    let mut specs = fieldspec::images();
    specs.extend_from_slice(extra_specs);
    for resource in resources.iter_mut() {
        if resource.kind() != "CustomResourceDefinition" {
            rewrite_container_images(&mut resource.object, &matcher, image);
        }
        let id = resource.id();
        visit_specs(&mut resource.object, &id, &specs, &mut |slot| {
            rewrite_image_value(slot, &matcher, image);
        });
    }
}

/// kustomize inserts the configured name into the pattern unescaped, so `.` matches any
/// character; an invalid pattern matches nothing.
fn image_matcher(name: &str) -> Option<regex::Regex> {
    regex::Regex::new(&format!(
        "^{name}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$"
    ))
    .ok()
}

fn rewrite_container_images(value: &mut Value, matcher: &regex::Regex, image: &ImageEntry) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                rewrite_container_images(child, matcher, image);
                if (key == "containers" || key == "initContainers")
                    && let Value::Array(containers) = child
                {
                    for container in containers.iter_mut() {
                        if let Some(slot) = container.get_mut("image") {
                            rewrite_image_value(slot, matcher, image);
                        }
                    }
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                rewrite_container_images(item, matcher, image);
            }
        }
        _ => {}
    }
}

fn rewrite_image_value(slot: &mut Value, matcher: &regex::Regex, image: &ImageEntry) {
    let Value::String(current) = slot else {
        return;
    };
    if !matcher.is_match(current) {
        return;
    }
    let (mut name, mut tag, mut digest) = split_image(current);
    if !image.new_name.is_empty() {
        name = image.new_name.clone();
    }
    if !image.new_tag.is_empty() && !image.digest.is_empty() {
        tag = image.new_tag.clone();
        digest = image.digest.clone();
    } else if !image.new_tag.is_empty() {
        tag = image.new_tag.clone();
        digest.clear();
    } else if !image.digest.is_empty() {
        tag.clear();
        digest = image.digest.clone();
    } else if !image.tag_suffix.is_empty() {
        tag.push_str(&image.tag_suffix);
        digest.clear();
    }
    let mut result = name;
    if !tag.is_empty() {
        result.push(':');
        result.push_str(&tag);
    }
    if !digest.is_empty() {
        result.push('@');
        result.push_str(&digest);
    }
    *slot = Value::String(result);
}

/// Splits an image into name, tag and digest, looking for `:` and `@` only after the first
/// `/` so that a registry port is not taken for a tag.
pub fn split_image(image: &str) -> (String, String, String) {
    let offset = match image.find('/') {
        Some(index) if index > 0 => index,
        _ => 0,
    };
    let search = &image[offset..];
    let at = search.find('@').map(|index| index + offset);
    let colon = search.find(':').map(|index| index + offset);
    match (colon, at) {
        (None, None) => (image.to_string(), String::new(), String::new()),
        (colon, Some(at)) if colon.is_none_or(|colon| at < colon) => (
            image[..at].to_string(),
            String::new(),
            image[at + 1..].to_string(),
        ),
        (Some(colon), Some(at)) => (
            image[..colon].to_string(),
            image[colon + 1..at].to_string(),
            image[at + 1..].to_string(),
        ),
        (Some(colon), None) => (
            image[..colon].to_string(),
            image[colon + 1..].to_string(),
            String::new(),
        ),
        (None, Some(_)) => (image.to_string(), String::new(), String::new()),
    }
}

/// `replicas:`: sets the count of every object of a replica kind whose current or earlier
/// name is the entry's name; an entry that matches nothing is an error.
pub fn apply_replicas(
    resources: &mut [Resource],
    entry: &ReplicaEntry,
    extra_specs: &[FieldSpec],
) -> Result<(), TransformError> {
    let mut specs = fieldspec::replicas();
    specs.extend_from_slice(extra_specs);
    apply_replicas_at(resources, entry, &specs)
}

/// The replica count transformer with exactly `specs`.
pub fn apply_replicas_at(
    resources: &mut [Resource],
    entry: &ReplicaEntry,
    specs: &[FieldSpec],
) -> Result<(), TransformError> {
    let mut found = false;
    for spec in specs {
        for resource in resources.iter_mut() {
            let selected = resource
                .all_ids()
                .iter()
                .any(|id| id.name == entry.name && spec.selects(id));
            if !selected {
                continue;
            }
            found = true;
            let id = resource.id();
            visit_specs(
                &mut resource.object,
                &id,
                std::slice::from_ref(spec),
                &mut |slot| {
                    *slot = Value::from(entry.count);
                },
            );
        }
    }
    if found {
        Ok(())
    } else {
        let gvks: Vec<String> = specs
            .iter()
            .map(|spec| {
                let mut parts = Vec::new();
                if !spec.group.is_empty() {
                    parts.push(spec.group.clone());
                }
                parts.push(if spec.version.is_empty() {
                    "~V".into()
                } else {
                    spec.version.clone()
                });
                parts.push(spec.kind.clone());
                parts.join("_")
            })
            .collect();
        Err(TransformError::ReplicaTargetMissing {
            name: entry.name.clone(),
            gvks: format!("[{}]", gvks.join(" ")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resource(value: Value) -> Resource {
        Resource::new(value, None)
    }

    #[test]
    fn namespace_moves_namespaced_objects_and_renames_namespaces() {
        let mut resources = vec![
            resource(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "explicit"}}),
            ),
            resource(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "some-ns"}}),
            ),
            resource(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "b"},
                "subjects": [{"kind": "User", "name": "default"}, {"kind": "ServiceAccount", "name": "sa"}]}),
            ),
        ];
        set_namespace(&mut resources, "target").expect("namespace");
        assert_eq!(resources[0].namespace(), "target");
        assert_eq!(resources[1].name(), "target");
        assert_eq!(resources[1].namespace(), "");
        assert_eq!(resources[2].namespace(), "");
        assert_eq!(resources[2].object["subjects"][0]["namespace"], "target");
        assert!(
            resources[2].object["subjects"][1]
                .get("namespace")
                .is_none()
        );
        assert_eq!(resources[0].original_id().namespace, "explicit");
    }

    #[test]
    fn prefixes_skip_namespaces_and_crds() {
        let mut resources = vec![
            resource(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}})),
            resource(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}})),
        ];
        add_prefix_suffix(
            &mut resources,
            "p-",
            "-s",
            &fieldspec::effective_name_specs(&[]),
            &fieldspec::effective_name_specs(&[]),
        );
        assert_eq!(resources[0].name(), "p-svc-s");
        assert_eq!(resources[1].name(), "ns");
    }

    #[test]
    fn images_follow_kustomize_rules() {
        assert_eq!(
            split_image("registry.local:5000/team/app:1.0"),
            (
                "registry.local:5000/team/app".into(),
                "1.0".into(),
                String::new()
            )
        );
        assert_eq!(
            split_image("nginx@sha256:abc"),
            ("nginx".into(), String::new(), "sha256:abc".into())
        );
        assert_eq!(
            split_image("nginx:1.19@sha256:abc"),
            ("nginx".into(), "1.19".into(), "sha256:abc".into())
        );

        let mut resources = vec![resource(json!({
            "apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"},
            "spec": {"deep": {"nested": {"containers": [{"image": "nginx:1.19@sha256:abc"}]}}, "image": "nginx"}
        }))];
        let entry = ImageEntry {
            name: "nginx".into(),
            new_tag: "2.0".into(),
            ..ImageEntry::default()
        };
        apply_image(&mut resources, &entry, &[]);
        assert_eq!(
            resources[0].object["spec"]["deep"]["nested"]["containers"][0]["image"],
            "nginx:2.0"
        );
        assert_eq!(
            resources[0].object["spec"]["image"], "nginx",
            "only containers lists are walked"
        );

        let mut other = vec![resource(
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"image": "nginxx:1"}, {"image": "docker.io/library/nginx:1.2"}]}}),
        )];
        apply_image(&mut other, &entry, &[]);
        assert_eq!(
            other[0].object["spec"]["containers"][0]["image"],
            "nginxx:1"
        );
        assert_eq!(
            other[0].object["spec"]["containers"][1]["image"],
            "docker.io/library/nginx:1.2"
        );
    }

    #[test]
    fn replicas_need_a_matching_object() {
        let mut resources = vec![resource(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {}}),
        )];
        apply_replicas(
            &mut resources,
            &ReplicaEntry {
                name: "web".into(),
                count: 5,
            },
            &[],
        )
        .expect("replicas");
        assert_eq!(resources[0].object["spec"]["replicas"], 5);
        let error = apply_replicas(
            &mut resources,
            &ReplicaEntry {
                name: "nope".into(),
                count: 1,
            },
            &[],
        )
        .expect_err("missing");
        assert!(
            error
                .to_string()
                .starts_with("resource with name nope does not match"),
            "{error}"
        );
    }
}
