//! Field specs: where in which kinds a transformer writes (labels, annotations, namespaces,
//! names, images, replica counts), kustomize v5.5.0's built-in sets, and the walk that
//! reaches those fields.
//!
//! A path is `/`-separated field names; a field holding a list is walked element by element,
//! and a trailing `[]` on a segment says so explicitly. `create` makes missing maps (never
//! list elements) on the way.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::resource::{ResId, split_api_version};

/// One field spec: a kind filter (empty parts match anything) and a path.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct FieldSpec {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    pub path: String,
    #[serde(default)]
    pub create: bool,
}

impl FieldSpec {
    fn new(group: &str, version: &str, kind: &str, path: &str, create: bool) -> Self {
        Self {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            path: path.into(),
            create,
        }
    }

    /// Whether this spec applies to an object of `id`'s group, version and kind.
    pub fn selects(&self, id: &ResId) -> bool {
        (self.group.is_empty() || self.group == id.group)
            && (self.version.is_empty() || self.version == id.version)
            && (self.kind.is_empty() || self.kind == id.kind)
    }

    fn gvk(&self) -> ResId {
        ResId {
            group: self.group.clone(),
            version: self.version.clone(),
            kind: self.kind.clone(),
            ..ResId::default()
        }
    }

    /// The path's segments, with the `[]` list markers removed and `\/` (a slash inside a
    /// key, as in annotation names) unescaped.
    pub fn segments(&self) -> Vec<String> {
        split_path(&self.path)
    }
}

/// Splits a field-spec path on `/`, honouring `\/` and dropping empty segments. A trailing
/// `[]` marks a list, which is walked but never created.
pub fn split_path(path: &str) -> Vec<String> {
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'/') => {
                current.push('/');
                chars.next();
            }
            '/' => segments.push(std::mem::take(&mut current)),
            other => current.push(other),
        }
    }
    segments.push(current);
    segments
        .into_iter()
        .filter(|segment| !segment.is_empty())
        .collect()
}

/// Calls `apply` on every value the path reaches in `object`. With `create`, missing maps
/// on the way are made, and the last field is created as `Null` for `apply` to fill.
pub fn visit(
    object: &mut Value,
    segments: &[String],
    create: bool,
    apply: &mut dyn FnMut(&mut Value),
) {
    let Some((first, rest)) = segments.split_first() else {
        apply(object);
        return;
    };
    match object {
        Value::Array(items) => {
            for item in items {
                visit(item, segments, create, apply);
            }
        }
        Value::Object(map) => {
            let (key, is_list) = match first.strip_suffix("[]") {
                Some(key) => (key, true),
                None => (first.as_str(), false),
            };
            if !map.contains_key(key) {
                if !create || is_list {
                    return;
                }
                let fresh = if rest.is_empty() {
                    Value::Null
                } else {
                    Value::Object(Map::new())
                };
                map.insert(key.to_string(), fresh);
            }
            if let Some(child) = map.get_mut(key) {
                if child.is_null() && create && !rest.is_empty() {
                    *child = Value::Object(Map::new());
                }
                if let Value::Array(items) = child
                    && !rest.is_empty()
                {
                    for item in items {
                        visit(item, rest, create, apply);
                    }
                    return;
                }
                visit(child, rest, create, apply);
            }
        }
        _ => {}
    }
}

/// Applies every selected spec of `specs` to `object`, once per distinct path.
pub fn visit_specs(
    object: &mut Value,
    id: &ResId,
    specs: &[FieldSpec],
    apply: &mut dyn FnMut(&mut Value),
) {
    let mut done: Vec<&str> = Vec::new();
    for spec in specs.iter().filter(|spec| spec.selects(id)) {
        if done.contains(&spec.path.as_str()) {
            continue;
        }
        done.push(&spec.path);
        visit(object, &spec.segments(), spec.create, apply);
    }
}

/// The workload kinds whose pod template sits at `spec/template`.
const TEMPLATED: [(&str, &str, &str); 6] = [
    ("", "v1", "ReplicationController"),
    ("apps", "", "Deployment"),
    ("apps", "", "ReplicaSet"),
    ("apps", "", "DaemonSet"),
    ("apps", "", "StatefulSet"),
    ("batch", "", "Job"),
];

/// Where `templateLabels` and label entries with `includeTemplates` write.
pub fn metadata_labels() -> Vec<FieldSpec> {
    let mut specs = vec![FieldSpec::new("", "", "", "metadata/labels", true)];
    for (group, version, kind) in TEMPLATED {
        specs.push(FieldSpec::new(
            group,
            version,
            kind,
            "spec/template/metadata/labels",
            true,
        ));
    }
    specs.push(FieldSpec::new(
        "apps",
        "",
        "StatefulSet",
        "spec/volumeClaimTemplates[]/metadata/labels",
        true,
    ));
    specs.push(FieldSpec::new(
        "batch",
        "",
        "CronJob",
        "spec/jobTemplate/metadata/labels",
        true,
    ));
    specs.push(FieldSpec::new(
        "batch",
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/metadata/labels",
        true,
    ));
    specs
}

/// Where `commonLabels` (and label entries with `includeSelectors`) write: the metadata
/// labels plus the selectors.
pub fn common_labels() -> Vec<FieldSpec> {
    let mut specs = metadata_labels();
    specs.extend([
        FieldSpec::new("", "v1", "Service", "spec/selector", true),
        FieldSpec::new("", "v1", "ReplicationController", "spec/selector", true),
        FieldSpec::new("apps", "", "Deployment", "spec/selector/matchLabels", true),
        FieldSpec::new("apps", "", "ReplicaSet", "spec/selector/matchLabels", true),
        FieldSpec::new("apps", "", "DaemonSet", "spec/selector/matchLabels", true),
        FieldSpec::new("apps", "", "StatefulSet", "spec/selector/matchLabels", true),
        FieldSpec::new("batch", "", "Job", "spec/selector/matchLabels", false),
        FieldSpec::new(
            "batch",
            "",
            "CronJob",
            "spec/jobTemplate/spec/selector/matchLabels",
            false,
        ),
        FieldSpec::new(
            "policy",
            "",
            "PodDisruptionBudget",
            "spec/selector/matchLabels",
            false,
        ),
        FieldSpec::new(
            "networking.k8s.io",
            "",
            "NetworkPolicy",
            "spec/podSelector/matchLabels",
            false,
        ),
        FieldSpec::new(
            "networking.k8s.io",
            "",
            "NetworkPolicy",
            "spec/ingress/from/podSelector/matchLabels",
            false,
        ),
        FieldSpec::new(
            "networking.k8s.io",
            "",
            "NetworkPolicy",
            "spec/egress/to/podSelector/matchLabels",
            false,
        ),
    ]);
    for kind in ["Deployment", "StatefulSet"] {
        for affinity in ["podAffinity", "podAntiAffinity"] {
            for rule in [
                "preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm",
                "requiredDuringSchedulingIgnoredDuringExecution",
            ] {
                specs.push(FieldSpec::new(
                    "apps",
                    "",
                    kind,
                    &format!(
                        "spec/template/spec/affinity/{affinity}/{rule}/labelSelector/matchLabels"
                    ),
                    false,
                ));
            }
        }
        specs.push(FieldSpec::new(
            "apps",
            "",
            kind,
            "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
            false,
        ));
    }
    specs
}

/// Where `commonAnnotations` write.
pub fn common_annotations() -> Vec<FieldSpec> {
    let mut specs = vec![FieldSpec::new("", "", "", "metadata/annotations", true)];
    for (group, version, kind) in TEMPLATED {
        // StatefulSet's template annotations are declared for any group.
        let group = if kind == "StatefulSet" { "" } else { group };
        specs.push(FieldSpec::new(
            group,
            version,
            kind,
            "spec/template/metadata/annotations",
            true,
        ));
    }
    specs.push(FieldSpec::new(
        "batch",
        "",
        "CronJob",
        "spec/jobTemplate/metadata/annotations",
        true,
    ));
    specs.push(FieldSpec::new(
        "batch",
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/metadata/annotations",
        true,
    ));
    specs
}

/// Where `images` entries rewrite images, besides the walk over every `containers` and
/// `initContainers` list.
pub fn images() -> Vec<FieldSpec> {
    [
        "spec/containers[]/image",
        "spec/initContainers[]/image",
        "spec/template/spec/containers[]/image",
        "spec/template/spec/initContainers[]/image",
    ]
    .iter()
    .map(|path| FieldSpec::new("", "", "", path, false))
    .collect()
}

/// Where `replicas` entries write.
pub fn replicas() -> Vec<FieldSpec> {
    vec![
        FieldSpec::new("", "", "Deployment", "spec/replicas", true),
        FieldSpec::new("", "", "ReplicationController", "spec/replicas", true),
        FieldSpec::new("", "", "ReplicaSet", "spec/replicas", true),
        FieldSpec::new("", "", "StatefulSet", "spec/replicas", true),
    ]
}

/// Whether an apiVersion/kind pair names the given group and kind.
pub fn is_kind(api_version: &str, kind: &str, want_group: &str, want_kind: &str) -> bool {
    split_api_version(api_version).0 == want_group && kind == want_kind
}

/// The field specs the prefix (or suffix) transformer uses: the default `metadata/name` plus
/// a kustomization's `configurations:` entries, merged as kustomize merges them.
///
/// kustomize's `FsSlice.MergeOne` skips an incoming spec when a listed one has the same path
/// and a type the incoming one selects, and the config is merged twice on its way to the
/// transformer (defaults with the custom config, then into the accumulated one), sorted by
/// kind in between. A custom `metadata/name` spec for one kind sorts before the default
/// spec for every kind and so absorbs it: only the kinds named get a prefix.
pub fn effective_name_specs(custom: &[FieldSpec]) -> Vec<FieldSpec> {
    fn merge_one(list: &mut Vec<FieldSpec>, incoming: FieldSpec) {
        let selected_by = |listed: &FieldSpec| {
            (incoming.group.is_empty() || incoming.group == listed.group)
                && (incoming.version.is_empty() || incoming.version == listed.version)
                && (incoming.kind.is_empty() || incoming.kind == listed.kind)
        };
        if !list
            .iter()
            .any(|listed| listed.path == incoming.path && selected_by(listed))
        {
            list.push(incoming);
        }
    }
    fn sorted(mut list: Vec<FieldSpec>) -> Vec<FieldSpec> {
        list.sort_by(|a, b| {
            let (a, b) = (a.gvk(), b.gvk());
            if super::sort::gvk_is_less(&a, &b) {
                std::cmp::Ordering::Less
            } else if super::sort::gvk_is_less(&b, &a) {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        });
        list
    }
    let mut combined = vec![FieldSpec::new("", "", "", "metadata/name", false)];
    for spec in custom {
        merge_one(&mut combined, spec.clone());
    }
    let mut effective = Vec::new();
    for spec in sorted(combined) {
        merge_one(&mut effective, spec);
    }
    sorted(effective)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set_label(object: &mut Value, specs: &[FieldSpec]) {
        let id = ResId::of(object);
        visit_specs(object, &id, specs, &mut |labels| {
            if labels.is_null() {
                *labels = json!({});
            }
            if let Some(map) = labels.as_object_mut() {
                map.insert("team".into(), json!("a"));
            }
        });
    }

    #[test]
    fn common_labels_reach_selectors_and_templates_and_create_them() {
        let mut deployment = json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"},
            "spec": {"template": {"spec": {}}}
        });
        set_label(&mut deployment, &common_labels());
        assert_eq!(deployment["metadata"]["labels"]["team"], "a");
        assert_eq!(deployment["spec"]["selector"]["matchLabels"]["team"], "a");
        assert_eq!(
            deployment["spec"]["template"]["metadata"]["labels"]["team"],
            "a"
        );
    }

    #[test]
    fn escaped_slashes_stay_inside_keys() {
        assert_eq!(
            split_path("metadata/annotations/a.io\\/b"),
            vec!["metadata", "annotations", "a.io/b"]
        );
        assert_eq!(
            split_path("spec/containers[]/image"),
            vec!["spec", "containers[]", "image"]
        );
    }

    #[test]
    fn lists_are_walked_element_by_element_and_not_created() {
        let mut set = json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"},
            "spec": {"volumeClaimTemplates": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}]}
        });
        set_label(&mut set, &metadata_labels());
        assert_eq!(
            set["spec"]["volumeClaimTemplates"][1]["metadata"]["labels"]["team"],
            "a"
        );

        let mut job =
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": {}});
        set_label(&mut job, &common_labels());
        assert!(
            job["spec"].get("selector").is_none(),
            "Job selectors are not created"
        );
    }
}
