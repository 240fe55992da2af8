//! Resources as the pipeline carries them: the object, plus the bookkeeping kustomize keeps
//! beside it (the ids it had before renames, whether it wants a name hash, where it came
//! from, which prefixes and suffixes it received).

use serde_json::{Map, Value};

use super::yaml::BareNulls;

/// An object's identity: group, version, kind, name and namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ResId {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

impl ResId {
    /// The id of `object` as it stands.
    pub fn of(object: &Value) -> Self {
        let api_version = str_at(object, &["apiVersion"]);
        let (group, version) = split_api_version(api_version);
        Self {
            group: group.to_string(),
            version: version.to_string(),
            kind: str_at(object, &["kind"]).to_string(),
            name: str_at(object, &["metadata", "name"]).to_string(),
            namespace: str_at(object, &["metadata", "namespace"]).to_string(),
        }
    }

    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The namespace with kustomize's rule that no namespace means `default`.
    pub fn effective_namespace(&self) -> &str {
        if self.namespace.is_empty() {
            "default"
        } else {
            &self.namespace
        }
    }

    /// Same group, version, kind and name, and the same effective namespace.
    pub fn same_as(&self, other: &ResId) -> bool {
        self.group == other.group
            && self.version == other.version
            && self.kind == other.kind
            && self.name == other.name
            && self.effective_namespace() == other.effective_namespace()
    }

    /// The id with the namespace made effective: equal keys are exactly the ids that are
    /// [`Self::same_as`] each other, so a hash set of keys finds duplicates.
    pub fn identity_key(&self) -> ResId {
        ResId {
            namespace: self.effective_namespace().to_string(),
            ..self.clone()
        }
    }

    /// Same group, version and kind.
    pub fn same_gvk(&self, other: &ResId) -> bool {
        self.group == other.group && self.version == other.version && self.kind == other.kind
    }
}

impl std::fmt::Display for ResId {
    /// kustomize's spelling: `Kind.version.group/name.namespace`, with `[noGrp]` and
    /// `[noNs]` for the empty ones.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let group = if self.group.is_empty() {
            "[noGrp]"
        } else {
            &self.group
        };
        let namespace = if self.namespace.is_empty() {
            "[noNs]"
        } else {
            &self.namespace
        };
        write!(
            f,
            "{}.{}.{}/{}.{}",
            self.kind, self.version, group, self.name, namespace
        )
    }
}

/// Splits `apps/v1` into (`apps`, `v1`) and `v1` into (``, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

/// The string at `path` in `object`, or `""`.
pub fn str_at<'a>(object: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .try_fold(object, |value, key| value.get(key))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The map at `path`, created (with every missing parent) if absent or null.
pub fn map_at<'a>(object: &'a mut Value, path: &[&str]) -> Option<&'a mut Map<String, Value>> {
    let mut current = object;
    for key in path {
        let map = current.as_object_mut()?;
        let slot = map.entry(key.to_string()).or_insert(Value::Null);
        if slot.is_null() {
            *slot = Value::Object(Map::new());
        }
        current = slot;
    }
    current.as_object_mut()
}

/// One resource in a build.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub object: Value,
    /// Ids before each rename, oldest first.
    pub previous: Vec<ResId>,
    /// Generated objects whose name gets a content hash at the top of the build.
    pub needs_hash: bool,
    /// The file the object came from, relative to the build root, for origin annotations.
    pub origin: Option<String>,
    /// Prefixes and suffixes applied, for name-reference disambiguation.
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
    /// Vars that read this object.
    pub var_names: Vec<String>,
    /// For generated objects: which generator made it, for origin annotations.
    pub generated_by: Option<GeneratedBy>,
    /// The transformers that ran over it, in order, for transformer annotations.
    pub transformations: Vec<GeneratedBy>,
    /// Where the object, as written, holds values written as nothing (`key:`): a strategic
    /// merge drops those and keeps a written `null`. Kept true through strategic merges;
    /// emptied by anything that rebuilds the object from JSON.
    pub bare_nulls: BareNulls,
}

/// A built-in plugin configured in a kustomization: a generator behind a generated object,
/// or a transformer that ran over one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedBy {
    /// The kustomization file that configured it (tree path).
    pub file: String,
    /// The built-in plugin kind (`ConfigMapGenerator`, `SecretGenerator`).
    pub kind: String,
    /// The plugin config's `metadata.name` and `metadata.namespace`, for `generators:` and
    /// `transformers:` entries.
    pub name: Option<String>,
    pub namespace: Option<String>,
}

impl Resource {
    /// A resource loaded from `origin` (or generated, when `None`).
    pub fn new(object: Value, origin: Option<String>) -> Self {
        Self {
            object,
            previous: Vec::new(),
            needs_hash: false,
            origin,
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            var_names: Vec::new(),
            generated_by: None,
            transformations: Vec::new(),
            bare_nulls: Vec::new(),
        }
    }

    /// The current id.
    pub fn id(&self) -> ResId {
        ResId::of(&self.object)
    }

    /// The id it was loaded with.
    pub fn original_id(&self) -> ResId {
        self.previous.first().cloned().unwrap_or_else(|| self.id())
    }

    /// Whether `wanted` names this resource, now or under a previous id. Allocation-free:
    /// patches and generators ask it of every resource in a build.
    pub fn answers_to(&self, wanted: &ResId) -> bool {
        self.previous.iter().any(|id| id.same_as(wanted)) || {
            let (group, version) = split_api_version(self.api_version());
            group == wanted.group
                && version == wanted.version
                && self.kind() == wanted.kind
                && str_at(&self.object, &["metadata", "name"]) == wanted.name
                && match str_at(&self.object, &["metadata", "namespace"]) {
                    "" => "default",
                    namespace => namespace,
                } == wanted.effective_namespace()
        }
    }

    /// The current id and every previous one.
    pub fn all_ids(&self) -> Vec<ResId> {
        let mut ids = self.previous.clone();
        ids.push(self.id());
        ids
    }

    /// Records the current id before a transformer renames or moves the object.
    pub fn remember_id(&mut self) {
        let id = self.id();
        self.previous.push(id);
    }

    pub fn api_version(&self) -> &str {
        str_at(&self.object, &["apiVersion"])
    }

    pub fn kind(&self) -> &str {
        str_at(&self.object, &["kind"])
    }

    pub fn name(&self) -> &str {
        str_at(&self.object, &["metadata", "name"])
    }

    pub fn namespace(&self) -> &str {
        str_at(&self.object, &["metadata", "namespace"])
    }

    pub fn set_name(&mut self, name: &str) {
        if let Some(metadata) = map_at(&mut self.object, &["metadata"]) {
            metadata.insert("name".into(), Value::String(name.to_string()));
        }
    }

    pub fn set_namespace(&mut self, namespace: &str) {
        if let Some(metadata) = map_at(&mut self.object, &["metadata"]) {
            metadata.insert("namespace".into(), Value::String(namespace.to_string()));
        }
    }

    /// The object's labels as strings (non-string values are skipped).
    pub fn labels(&self) -> Vec<(String, String)> {
        string_pairs(self.object.pointer("/metadata/labels"))
    }

    /// The object's annotations as strings.
    pub fn annotations(&self) -> Vec<(String, String)> {
        string_pairs(self.object.pointer("/metadata/annotations"))
    }
}

fn string_pairs(map: Option<&Value>) -> Vec<(String, String)> {
    map.and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .filter_map(|(key, value)| match value {
                    Value::String(text) => Some((key.clone(), text.clone())),
                    Value::Bool(flag) => Some((key.clone(), flag.to_string())),
                    Value::Number(number) => Some((key.clone(), number.to_string())),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_print_as_kustomize_does() {
        let id =
            ResId::of(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}));
        assert_eq!(id.to_string(), "ConfigMap.v1.[noGrp]/a.[noNs]");
        let id = ResId::of(
            &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w", "namespace": "n"}}),
        );
        assert_eq!(id.to_string(), "Deployment.v1.apps/w.n");
        assert_eq!(id.api_version(), "apps/v1");
    }

    #[test]
    fn no_namespace_is_the_default_namespace() {
        let bare =
            ResId::of(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}));
        let default = ResId::of(
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}}),
        );
        assert!(bare.same_as(&default));
    }

    #[test]
    fn renames_keep_the_original_id() {
        let mut resource = Resource::new(
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}}),
            None,
        );
        resource.remember_id();
        resource.set_name("p-svc");
        assert_eq!(resource.original_id().name, "svc");
        assert_eq!(resource.id().name, "p-svc");
        assert_eq!(resource.all_ids().len(), 2);
    }
}
