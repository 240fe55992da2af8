//! Strategic merge patches, merged exactly as kustomize v5.5.0 merges them.
//!
//! kustomize does not use apimachinery's strategic merge: it walks the target and the patch
//! together with kyaml's `walk.Walker` and the `merge2.Merger` visitor, in "prepend" mode
//! (`api/filters/patchstrategicmerge`). That walk has quirks a cleaner algorithm would lose:
//! elements merged in place are shared between the old and the new list, a `$patch: replace`
//! on a list element is undone, lists keyed by several fields (container ports) can drop
//! elements, null and empty elements vanish from merged lists. So this module mirrors the
//! walk step by step over a small node arena in which, as in yaml.v3, a node can be shared
//! by two parents and updated through either.
//!
//! Documents arrive as JSON values, so two things kyaml sees are gone: how a null was
//! spelled (kyaml keeps a target's `key: null` or `key: ~` that the patch does not mention
//! but drops a bare `key:`; the caller names the bare ones, [`strategic_merge_noting`]) and
//! a number's original text (merge
//! keys compare as text: `1.0` and `1` differ in both, but `1.0` in YAML and `1.0` as
//! re-rendered here agree).
//!
//! Owns: the merge of one patch document into one resource, and the identity to restore
//! afterwards ([`Identity`]). Must not: choose targets, or decide whether the patch's
//! options allow a rename (the patch transformer does).

use std::collections::{BTreeSet, HashSet};

use serde_json::{Map, Value};

use super::PatchError;
use super::schema::{ResourceSchema, SchemaSet};

/// The result of merging a patch into a resource.
#[derive(Debug, Clone, PartialEq)]
pub enum MergeOutcome {
    /// The merged resource. Name, kind and namespace may have changed: the caller restores
    /// them unless the patch allows the change.
    Merged(Value),
    /// The patch said `$patch: delete` at its top: the resource leaves the output.
    Deleted,
}

/// Merges strategic merge `patch` into `target` the way kustomize v5.5.0 does.
///
/// `api_version` and `kind` are the target's current type; kyaml reads the same fields from
/// the target. Merge keys come from the built-in v1.21.2 schema for that exact type; when it
/// has none, the patch's own `apiVersion`/`kind` are tried, as kyaml does. Types the schema
/// does not know (CRs, newer APIs) have every list replaced. A nested map that carries its
/// own `apiVersion` and `kind` where the schema says nothing gets that type's schema.
pub fn strategic_merge(
    target: &Value,
    patch: &Value,
    api_version: &str,
    kind: &str,
) -> Result<MergeOutcome, PatchError> {
    strategic_merge_with(target, patch, api_version, kind, SchemaSet::builtin())
}

/// [`strategic_merge`] with merge keys and strategies looked up in `schemas`: the built-in
/// schema, or the built-in one combined with a kustomization's `openapi:` document.
pub fn strategic_merge_with(
    target: &Value,
    patch: &Value,
    api_version: &str,
    kind: &str,
    schemas: SchemaSet<'_>,
) -> Result<MergeOutcome, PatchError> {
    strategic_merge_noting(target, &[], patch, api_version, kind, schemas)
}

/// [`strategic_merge_with`] for a target whose values at `bare_nulls` (JSON pointers) were
/// written as nothing: kyaml drops those where the patch does not mention them, and keeps
/// a written `null`.
pub fn strategic_merge_noting(
    target: &Value,
    bare_nulls: &[String],
    patch: &Value,
    api_version: &str,
    kind: &str,
    schemas: SchemaSet<'_>,
) -> Result<MergeOutcome, PatchError> {
    if !target.is_object() {
        return Err(PatchError::NotAMap { what: "target" });
    }
    if !patch.is_object() {
        return Err(PatchError::NotAMap { what: "document" });
    }
    let mut tree = Tree {
        nodes: Vec::new(),
        schemas,
        bare: HashSet::new(),
    };
    let dest = tree.insert(target);
    for pointer in bare_nulls {
        if let Some(id) = tree.find(dest, pointer)
            && matches!(tree.node(id), Node::Scalar(Value::Null))
        {
            tree.bare.insert(id);
        }
    }
    let origin = tree.insert(patch);
    let schema = schemas
        .for_type(api_version, kind)
        .or_else(|| tree.schema_from_meta(&[None, Some(origin)]));
    let mut path = Vec::new();
    match tree.walk([Some(dest), Some(origin)], schema, &mut path)? {
        None => Ok(MergeOutcome::Deleted),
        // kustomize keeps its own node and only looks at whether the walk returned one, so
        // a top-level `$patch: replace` (which returns the patch's node) changes nothing.
        Some(_) => Ok(MergeOutcome::Merged(tree.to_value(dest, 0)?)),
    }
}

/// What kustomize puts back after a strategic merge (`Resource.ApplySmPatch`): the kind
/// and name unless the patch's options allow changing them, and always the namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `kind` before the merge.
    pub kind: String,
    /// `metadata.name` before the merge (`""` when absent).
    pub name: String,
    /// `metadata.namespace` before the merge (`""` when absent).
    pub namespace: String,
}

impl Identity {
    /// Records the identity of `resource` before it is patched, read as kyaml reads it
    /// (scalar text; null and empty read as `""`).
    pub fn of(resource: &Value) -> Self {
        let text = |value: Option<&Value>| match value {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Null) | Some(Value::Object(_)) | Some(Value::Array(_)) | None => {
                String::new()
            }
            Some(other) => other.to_string(),
        };
        let metadata = resource.get("metadata").filter(|meta| meta.is_object());
        Self {
            kind: text(resource.get("kind")),
            name: text(metadata.and_then(|meta| meta.get("name"))),
            namespace: text(metadata.and_then(|meta| meta.get("namespace"))),
        }
    }

    /// Puts the identity back on a merged resource. An empty namespace removes the
    /// merged one, as kyaml's `SetNamespace("")` does.
    pub fn restore(&self, merged: &mut Value, allow_name_change: bool, allow_kind_change: bool) {
        let Value::Object(object) = merged else {
            return;
        };
        if !allow_kind_change {
            object.insert("kind".to_string(), Value::String(self.kind.clone()));
        }
        let metadata = object
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if !metadata.is_object() {
            *metadata = Value::Object(Map::new());
        }
        let Value::Object(metadata) = metadata else {
            return;
        };
        if !allow_name_change {
            metadata.insert("name".to_string(), Value::String(self.name.clone()));
        }
        if self.namespace.is_empty() {
            metadata.remove("namespace");
        } else {
            metadata.insert(
                "namespace".to_string(),
                Value::String(self.namespace.clone()),
            );
        }
    }
}

type Id = usize;

/// A source of the walk: `None` is kyaml's nil node (the field is absent).
type Src = Option<Id>;

/// A yaml.v3 node as kyaml manipulates it. Scalars keep their JSON value (its tag); map keys
/// are plain strings because nothing here looks at key nodes.
#[derive(Debug, Clone)]
enum Node {
    Scalar(Value),
    Map(Vec<(String, Id)>),
    Seq(Vec<Id>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Scalar,
    Map,
    Seq,
}

impl Kind {
    /// yaml.v3's name for the kind, as kyaml's errors print it.
    fn name(self) -> &'static str {
        match self {
            Kind::Scalar => "ScalarNode",
            Kind::Map => "MappingNode",
            Kind::Seq => "SequenceNode",
        }
    }
}

/// A `$patch` directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Directive {
    Unknown,
    Replace,
    Delete,
    Merge,
}

/// What a visit returns: kyaml's `*RNode` plus its `ShouldKeep` flag, which only a null
/// kept from the target sets (`MakePersistentNullNode`).
#[derive(Debug, Clone, Copy)]
struct Walked {
    id: Id,
    keep: bool,
}

impl Walked {
    fn plain(id: Id) -> Self {
        Self { id, keep: false }
    }
}

/// Deeper documents than this are refused when converting back (a guard, not a kyaml rule).
const MAX_DEPTH: usize = 1000;

#[derive(Debug)]
struct Tree<'s> {
    nodes: Vec<Node>,
    /// Where types named by `apiVersion` and `kind` are looked up.
    schemas: SchemaSet<'s>,
    /// Target nulls written as nothing: their text is `""`, not `null`.
    bare: HashSet<Id>,
}

impl<'s> Tree<'s> {
    fn push(&mut self, node: Node) -> Id {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// The node a JSON pointer names below `id`.
    fn find(&self, id: Id, pointer: &str) -> Option<Id> {
        pointer
            .split('/')
            .skip(1)
            .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
            .try_fold(id, |current, segment| match self.node(current) {
                Node::Map(pairs) => pairs
                    .iter()
                    .find(|(key, _)| *key == segment)
                    .map(|(_, child)| *child),
                Node::Seq(items) => segment
                    .parse::<usize>()
                    .ok()
                    .and_then(|index| items.get(index).copied()),
                Node::Scalar(_) => None,
            })
    }

    fn insert(&mut self, value: &Value) -> Id {
        let node = match value {
            Value::Object(map) => {
                let pairs = map
                    .iter()
                    .map(|(key, value)| (key.clone(), self.insert(value)))
                    .collect();
                Node::Map(pairs)
            }
            Value::Array(items) => Node::Seq(items.iter().map(|item| self.insert(item)).collect()),
            scalar => Node::Scalar(scalar.clone()),
        };
        self.push(node)
    }

    fn to_value(&self, id: Id, depth: usize) -> Result<Value, PatchError> {
        if depth > MAX_DEPTH {
            return Err(PatchError::UnmergeableList {
                path: String::new(),
                reason: "the merged document nests too deeply".to_string(),
            });
        }
        Ok(match self.node(id) {
            Node::Scalar(value) => value.clone(),
            Node::Map(pairs) => {
                let mut map = Map::new();
                for (key, child) in pairs {
                    map.insert(key.clone(), self.to_value(*child, depth + 1)?);
                }
                Value::Object(map)
            }
            Node::Seq(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.to_value(*item, depth + 1))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    fn node(&self, id: Id) -> &Node {
        // Ids are only ever handed out by `push`, so they are always in range.
        &self.nodes[id]
    }

    fn kind(&self, id: Id) -> Kind {
        match self.node(id) {
            Node::Scalar(_) => Kind::Scalar,
            Node::Map(_) => Kind::Map,
            Node::Seq(_) => Kind::Seq,
        }
    }

    /// kyaml `IsTaggedNull` on a present node.
    fn is_null(&self, id: Id) -> bool {
        matches!(self.node(id), Node::Scalar(Value::Null))
    }

    /// kyaml `IsMissingOrNull`.
    fn missing_or_null(&self, src: Src) -> bool {
        src.is_none_or(|id| self.is_null(id))
    }

    /// kyaml `IsTaggedNull` (false for a missing node).
    fn tagged_null(&self, src: Src) -> bool {
        src.is_some_and(|id| self.is_null(id))
    }

    /// kyaml `IsEmptyMap`: missing, null or `{}`.
    fn is_empty_map(&self, src: Src) -> bool {
        match src {
            None => true,
            Some(id) => match self.node(id) {
                Node::Scalar(Value::Null) => true,
                Node::Map(pairs) => pairs.is_empty(),
                _ => false,
            },
        }
    }

    /// kyaml `IsNilOrEmpty`: missing, null, `{}` or `[]`.
    fn nil_or_empty(&self, src: Src) -> bool {
        match src {
            None => true,
            Some(id) => match self.node(id) {
                Node::Scalar(Value::Null) => true,
                Node::Map(pairs) => pairs.is_empty(),
                Node::Seq(items) => items.is_empty(),
                Node::Scalar(_) => false,
            },
        }
    }

    /// The node's `Value` text: a scalar's text, `""` for maps and lists. kyaml compares
    /// merge keys and primitive list items by this text, so `80` matches `"80"`.
    fn text(&self, id: Id) -> String {
        match self.node(id) {
            Node::Scalar(Value::String(text)) => text.clone(),
            // A null's text is what the source spelled: nothing for a bare `key:`, else
            // `null` (`~` reads the same here: only emptiness matters to kyaml).
            Node::Scalar(Value::Null) if self.bare.contains(&id) => String::new(),
            Node::Scalar(Value::Null) => "null".to_string(),
            Node::Scalar(other) => other.to_string(),
            Node::Map(_) | Node::Seq(_) => String::new(),
        }
    }

    /// kyaml `RNode.Field(name).Value`: the first value under `name` of a map.
    fn field(&self, id: Id, name: &str) -> Option<Id> {
        match self.node(id) {
            Node::Map(pairs) => pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| *value),
            _ => None,
        }
    }

    fn items(&self, id: Id) -> Vec<Id> {
        match self.node(id) {
            Node::Seq(items) => items.clone(),
            _ => Vec::new(),
        }
    }

    fn wrong_kind(&self, id: Id, expected: Kind, path: &[String]) -> PatchError {
        PatchError::WrongNodeKind {
            path: path.join("."),
            expected: expected.name(),
            found: self.kind(id).name(),
        }
    }

    /// kyaml `ErrorIfInvalid`: a missing or null node passes any check.
    fn check(&self, src: Src, expected: Kind, path: &[String]) -> Result<(), PatchError> {
        match src {
            Some(id) if !self.is_null(id) && self.kind(id) != expected => {
                Err(self.wrong_kind(id, expected, path))
            }
            _ => Ok(()),
        }
    }

    /// The schema kyaml's `Walker.GetSchema` finds for nodes the parent schema says nothing
    /// about: the type named by a source's own `apiVersion` and `kind`, dest first.
    fn schema_from_meta(&self, sources: &[Src; 2]) -> Option<ResourceSchema<'s>> {
        sources.iter().flatten().find_map(|&id| {
            let meta = |name: &str| {
                self.field(id, name)
                    .filter(|&value| !self.nil_or_empty(Some(value)))
                    .map(|value| self.text(value))
                    .unwrap_or_default()
            };
            let (api_version, kind) = (meta("apiVersion"), meta("kind"));
            if api_version.is_empty() || kind.is_empty() {
                return None;
            }
            self.schemas.for_type(&api_version, &kind)
        })
    }

    /// kyaml `Walker.Walk`: dispatch on the kind of the first non-null source.
    fn walk(
        &mut self,
        sources: [Src; 2],
        schema: Option<ResourceSchema<'s>>,
        path: &mut Vec<String>,
    ) -> Result<Option<Walked>, PatchError> {
        let schema = schema.or_else(|| self.schema_from_meta(&sources));
        let kind = sources
            .iter()
            .flatten()
            .find(|&&id| !self.is_null(id))
            .map(|&id| self.kind(id));
        match kind {
            None => self.walk_map(sources, schema, path),
            Some(kind) => {
                for src in sources {
                    self.check(src, kind, path)?;
                }
                match kind {
                    Kind::Map => self.walk_map(sources, schema, path),
                    Kind::Seq => match schema.filter(|schema| schema.is_associative()) {
                        Some(schema) => self.walk_associative(sources, schema, path),
                        // Not associative: the patch list, if any, replaces the target's.
                        None => Ok(sources[1].or(sources[0]).map(Walked::plain)),
                    },
                    // A patch scalar (null included) replaces the target's.
                    Kind::Scalar => Ok(sources[1].or(sources[0]).map(Walked::plain)),
                }
            }
        }
    }

    /// kyaml `walkMap`: visit the map, then walk every field of either source in sorted
    /// order and set the result on the visited map.
    fn walk_map(
        &mut self,
        mut sources: [Src; 2],
        schema: Option<ResourceSchema<'s>>,
        path: &mut Vec<String>,
    ) -> Result<Option<Walked>, PatchError> {
        let Some(dest) = self.visit_map(sources, path)? else {
            return Ok(None);
        };
        sources[0] = Some(dest.id);
        let mut names = BTreeSet::new();
        for id in sources.iter().flatten() {
            if let Node::Map(pairs) = self.node(*id) {
                names.extend(pairs.iter().map(|(key, _)| key.clone()));
            }
        }
        for name in names {
            let child_schema = schema.and_then(|schema| schema.field(&name));
            let values = sources.map(|src| src.and_then(|id| self.field(id, &name)));
            path.push(name);
            let walked = self.walk(values, child_schema, path);
            let name = path.pop().unwrap_or_default();
            self.set_field(dest.id, &name, walked?, path)?;
        }
        Ok(Some(dest))
    }

    /// `merge2.Merger.VisitMap`.
    fn visit_map(
        &mut self,
        sources: [Src; 2],
        path: &[String],
    ) -> Result<Option<Walked>, PatchError> {
        let [dest, origin] = sources;
        if self.missing_or_null(dest) {
            // Adding: the patch's map is taken as it is (its nested directives are handled
            // when the walk merges it with itself). kyaml ignores a directive error here.
            let directive = self.directive(origin, path).unwrap_or(Directive::Unknown);
            if directive == Directive::Delete {
                return Ok(None);
            }
            if origin.is_none()
                && let Some(dest) = dest
                && !self.text(dest).is_empty()
            {
                // A null in the target that the patch does not mention stays.
                return Ok(Some(Walked {
                    id: dest,
                    keep: true,
                }));
            }
            return Ok(origin.map(Walked::plain));
        }
        if self.tagged_null(origin) {
            return Ok(None);
        }
        Ok(match self.directive(origin, path)? {
            Directive::Delete => None,
            Directive::Replace => origin.map(Walked::plain),
            Directive::Merge | Directive::Unknown => dest.map(Walked::plain),
        })
    }

    /// `merge2.determineSmpDirective`: reads and removes a `$patch` directive.
    fn directive(&mut self, origin: Src, path: &[String]) -> Result<Directive, PatchError> {
        let Some(id) = origin else {
            return Ok(Directive::Merge);
        };
        match self.kind(id) {
            Kind::Map => self.map_directive(id, path),
            Kind::Seq => self.list_directive(id, path),
            Kind::Scalar => Err(PatchError::WrongNodeKind {
                path: path.join("."),
                expected: "MappingNode or SequenceNode",
                found: Kind::Scalar.name(),
            }),
        }
    }

    fn parse_directive(&self, value: Id, path: &[String]) -> Result<Directive, PatchError> {
        match self.text(value).as_str() {
            "delete" => Ok(Directive::Delete),
            "replace" => Ok(Directive::Replace),
            "merge" => Ok(Directive::Merge),
            other => Err(PatchError::UnknownDirective {
                path: path.join("."),
                value: other.to_string(),
            }),
        }
    }

    fn map_directive(&mut self, id: Id, path: &[String]) -> Result<Directive, PatchError> {
        let Some(value) = self.field(id, "$patch") else {
            return Ok(Directive::Merge);
        };
        let directive = self.parse_directive(value, path)?;
        self.clear(id, "$patch", path)?;
        Ok(directive)
    }

    /// A list directive is an element that is exactly `{$patch: …}`; only the first
    /// element carrying `$patch` is considered.
    fn list_directive(&mut self, id: Id, path: &[String]) -> Result<Directive, PatchError> {
        let element = self.items(id).into_iter().find(|&item| {
            matches!(self.node(item), Node::Map(_)) && self.field(item, "$patch").is_some()
        });
        let Some(element) = element else {
            return Ok(Directive::Merge);
        };
        if matches!(self.node(element), Node::Map(pairs) if pairs.len() > 1) {
            return Ok(Directive::Merge);
        }
        let Some(value) = self.field(element, "$patch") else {
            return Ok(Directive::Merge);
        };
        let directive = self.parse_directive(value, path)?;
        let text = self.text(value);
        self.element_setter(id, None, &["$patch".to_string()], &[text], path)?;
        Ok(directive)
    }

    /// kyaml `FieldSetter` with a name: a nil or (not kept) null value clears the field.
    fn set_field(
        &mut self,
        parent: Id,
        name: &str,
        value: Option<Walked>,
        path: &[String],
    ) -> Result<(), PatchError> {
        let value = match value {
            Some(walked) if walked.keep || !self.is_null(walked.id) => walked.id,
            _ => return self.clear(parent, name, path),
        };
        let Node::Map(pairs) = self.node(parent) else {
            return Err(self.wrong_kind(parent, Kind::Map, path));
        };
        match pairs.iter().find(|(key, _)| key == name).map(|(_, id)| *id) {
            // yaml.v3 `*node = *value`: the existing node becomes a copy of the new one.
            Some(existing) if existing != value => {
                self.nodes[existing] = self.node(value).clone();
            }
            Some(_) => {}
            None => {
                if let Node::Map(pairs) = &mut self.nodes[parent] {
                    pairs.push((name.to_string(), value));
                }
            }
        }
        Ok(())
    }

    /// kyaml `FieldClearer`.
    fn clear(&mut self, parent: Id, name: &str, path: &[String]) -> Result<(), PatchError> {
        self.check(Some(parent), Kind::Map, path)?;
        if let Node::Map(pairs) = &mut self.nodes[parent]
            && let Some(index) = pairs.iter().position(|(key, _)| key == name)
        {
            pairs.remove(index);
        }
        Ok(())
    }

    /// kyaml `walkAssociativeSequence` (with `VisitList` for associative lists).
    fn walk_associative(
        &mut self,
        mut sources: [Src; 2],
        schema: ResourceSchema<'s>,
        path: &mut Vec<String>,
    ) -> Result<Option<Walked>, PatchError> {
        let [dest, origin] = sources;
        let visited = if self.missing_or_null(dest) {
            origin
        } else if self.tagged_null(origin) {
            None
        } else {
            match self.directive(origin, path)? {
                Directive::Delete => None,
                Directive::Replace => origin,
                Directive::Merge | Directive::Unknown => dest,
            }
        };
        let Some(dest) = visited else {
            return Ok(None);
        };
        sources[0] = Some(dest);
        let keys: Vec<String> = schema
            .merge_keys()
            .iter()
            .map(|key| key.to_string())
            .collect();
        let values = self.element_values(&sources, &keys);
        if !values.is_empty() || !keys.is_empty() {
            return self.set_associative(sources, values, &keys, dest, schema, path);
        }
        // A primitive merge list (finalizers): items are their own keys.
        let values = self.element_primitive_values(&sources);
        self.set_associative(sources, values, &[String::new()], dest, schema, path)
    }

    /// kyaml `elementValues`: the key values of every element, the patch's first, each
    /// distinct tuple once. A missing, null or empty key counts as `""`.
    fn element_values(&self, sources: &[Src; 2], keys: &[String]) -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = Vec::new();
        for id in [sources[1], sources[0]].into_iter().flatten() {
            for item in self.items(id) {
                let values: Vec<String> = keys
                    .iter()
                    .map(|key| match self.field(item, key) {
                        Some(value) if !self.nil_or_empty(Some(value)) => self.text(value),
                        _ => String::new(),
                    })
                    .collect();
                if !values.is_empty() && !out.contains(&values) {
                    out.push(values);
                }
            }
        }
        out
    }

    /// kyaml `elementPrimitiveValues`.
    fn element_primitive_values(&self, sources: &[Src; 2]) -> Vec<Vec<String>> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for id in [sources[1], sources[0]].into_iter().flatten() {
            for item in self.items(id) {
                let text = self.text(item);
                if seen.insert(text.clone()) {
                    out.push(vec![text]);
                }
            }
        }
        out
    }

    /// kyaml `setAssociativeSequenceElements` in prepend mode: merge each element, collect
    /// the merged ones, then append the target's elements not yet present.
    fn set_associative(
        &mut self,
        sources: [Src; 2],
        mut values_list: Vec<Vec<String>>,
        keys: &[String],
        dest: Id,
        schema: ResourceSchema<'s>,
        path: &mut Vec<String>,
    ) -> Result<Option<Walked>, PatchError> {
        let items = self.push(Node::Seq(Vec::new()));
        let element_schema = schema.elements();
        if keys.len() > 1 {
            merge_values(&mut values_list);
        }
        let mut valid_keys = Vec::new();
        for values in &values_list {
            if values.is_empty() {
                continue;
            }
            let (keys, values) = validate_keys(&values_list, values, keys);
            let element_sources = self.element_value_list(&sources, &keys, &values);
            let walked = self.walk(element_sources, element_schema, path)?;
            let mut deleted = false;
            for (index, key) in keys.iter().enumerate() {
                match walked {
                    Some(walked) if !self.is_empty_map(Some(walked.id)) => {
                        let value = values.get(index).cloned().unwrap_or_default();
                        if self.field(walked.id, key).is_none() && !value.is_empty() {
                            self.set_key(walked.id, key, value, path)?;
                        }
                    }
                    // Deleted (or emptied) by the patch: drop it from the target list.
                    _ => {
                        self.element_setter(dest, None, &keys, &values, path)?;
                        deleted = true;
                    }
                }
            }
            valid_keys = keys.clone();
            if deleted {
                continue;
            }
            if let Some(walked) = walked {
                self.element_setter(items, Some(walked.id), &keys, &values, path)?;
            }
        }
        let result = if values_list.is_empty() {
            dest
        } else {
            self.append_list_node(items, dest, &valid_keys, path)?;
            items
        };
        Ok((!self.missing_or_null(Some(result))).then_some(Walked::plain(result)))
    }

    /// `SetField(key, NewScalarRNode(value))` on a merged element that lost its key.
    fn set_key(
        &mut self,
        element: Id,
        key: &str,
        value: String,
        path: &[String],
    ) -> Result<(), PatchError> {
        if key.is_empty() {
            // Setting a primitive item to its own text: kyaml retags the scalar but keeps
            // its style, which leaves the value as it was.
            return self.check(Some(element), Kind::Scalar, path);
        }
        self.check(Some(element), Kind::Map, path)?;
        // kyaml quotes a new scalar that YAML 1.1 would not read as a string, so it always
        // comes back as a string.
        let value = self.push(Node::Scalar(Value::String(value)));
        self.set_field(element, key, Some(Walked::plain(value)), path)
    }

    /// kyaml `elementValueList`: the element of each source matching the key values.
    fn element_value_list(
        &self,
        sources: &[Src; 2],
        keys: &[String],
        values: &[String],
    ) -> [Src; 2] {
        let (keys, values) = validate_keys(&[values.to_vec()], values, keys);
        sources.map(|src| src.and_then(|id| self.element_list(id, &keys, &values)))
    }

    /// kyaml `RNode.ElementList` (`MatchElementList`); errors count as no match.
    fn element_list(&self, list: Id, keys: &[String], values: &[String]) -> Option<Id> {
        let Node::Seq(items) = self.node(list) else {
            return None;
        };
        let first_key = keys.first().map_or("", String::as_str);
        let first_value = values.first().map_or("", String::as_str);
        if first_key.is_empty() {
            return items
                .iter()
                .copied()
                .find(|&item| self.text(item) == first_value);
        }
        if keys.len() != values.len() {
            return None;
        }
        items.iter().copied().find(|&item| {
            matches!(self.node(item), Node::Map(_))
                && keys.iter().zip(values).all(|(key, value)| {
                    self.field(item, key)
                        .is_some_and(|field| self.text(field) == *value)
                })
        })
    }

    /// kyaml `appendListNode(dst, src, keys)`: each element of `src` replaces the element
    /// of `dst` with the same key values, or is appended.
    fn append_list_node(
        &mut self,
        dst: Id,
        src: Id,
        keys: &[String],
        path: &[String],
    ) -> Result<(), PatchError> {
        let Some(first) = keys.first() else {
            return Err(PatchError::UnmergeableList {
                path: path.join("."),
                reason: "no merge key".to_string(),
            });
        };
        for element in self.items(src) {
            if first.is_empty() {
                let text = self.text(element);
                self.element_setter(dst, Some(element), &[String::new()], &[text], path)?;
                continue;
            }
            let mut values = Vec::new();
            for key in keys {
                match self.field_matcher(element, key, "", path)? {
                    // An element without the key is appended as it is (once per missing key).
                    None => self.append(dst, element, path)?,
                    Some(value) => values.push(self.text(value)),
                }
            }
            if keys.len() > 1 {
                self.element_setter(dst, None, keys, &values, path)?;
            }
            self.element_setter(dst, Some(element), keys, &values, path)?;
        }
        Ok(())
    }

    /// kyaml `ElementAppender`.
    fn append(&mut self, list: Id, element: Id, path: &[String]) -> Result<(), PatchError> {
        match &mut self.nodes[list] {
            Node::Seq(items) => {
                items.push(element);
                Ok(())
            }
            _ => Err(self.wrong_kind(list, Kind::Seq, path)),
        }
    }

    /// kyaml `FieldMatcher{Name, StringValue}`: the value of field `name` of a map (of
    /// the scalar itself when `name` is empty), if it equals `value` or `value` is empty.
    fn field_matcher(
        &self,
        element: Id,
        name: &str,
        value: &str,
        path: &[String],
    ) -> Result<Option<Id>, PatchError> {
        if self.is_null(element) {
            return Ok(None);
        }
        if name.is_empty() {
            self.check(Some(element), Kind::Scalar, path)?;
            return Ok((self.text(element) == value).then_some(element));
        }
        self.check(Some(element), Kind::Map, path)?;
        Ok(self
            .field(element, name)
            .filter(|&field| value.is_empty() || self.text(field) == value))
    }

    /// kyaml `ElementSetter`: rebuilds `list` without null and empty-map elements,
    /// replacing the elements matching `keys`/`values` with `element` (or removing them
    /// when `element` is `None`), and appends `element` when nothing matched.
    fn element_setter(
        &mut self,
        list: Id,
        element: Option<Id>,
        keys: &[String],
        values: &[String],
        path: &[String],
    ) -> Result<(), PatchError> {
        let default_keys = [String::new()];
        let keys = if keys.is_empty() {
            &default_keys[..]
        } else {
            keys
        };
        self.check(Some(list), Kind::Seq, path)?;
        let mapping_setter = keys.first().is_some_and(|key| !key.is_empty())
            && values.first().is_some_and(|value| !value.is_empty());
        let mut kept = Vec::new();
        let mut matched = false;
        for item in self.items(list) {
            if self.is_empty_map(Some(item)) {
                continue;
            }
            if mapping_setter && !matches!(self.node(item), Node::Map(_)) {
                kept.push(item);
                continue;
            }
            // As in kyaml, keys beyond the given values reuse the last comparison.
            let mut found = None;
            let mut is_match = true;
            for (index, key) in keys.iter().enumerate() {
                if let Some(value) = values.get(index) {
                    found = self.field_matcher(item, key, value, path)?;
                }
                if found.is_none() {
                    is_match = false;
                    break;
                }
            }
            if !is_match {
                if !values.is_empty() {
                    kept.push(item);
                }
                continue;
            }
            matched = true;
            kept.extend(element);
        }
        let Node::Seq(items) = &mut self.nodes[list] else {
            // A null list: kyaml sets content on the null node, which reads back as null.
            return Ok(());
        };
        *items = kept;
        if let Some(element) = element
            && !self.is_null(element)
            && !matched
            && let Node::Seq(items) = &mut self.nodes[list]
        {
            items.push(element);
        }
        Ok(())
    }
}

/// kyaml `validateKeys`: keeps the keys that have a value in some element; with none at
/// all, falls back to every key.
fn validate_keys(
    values_list: &[Vec<String>],
    values: &[String],
    keys: &[String],
) -> (Vec<String>, Vec<String>) {
    let mut valid = BTreeSet::new();
    for list in values_list {
        for (index, value) in list.iter().enumerate() {
            if let (false, Some(key)) = (value.is_empty(), keys.get(index)) {
                valid.insert(key.as_str());
            }
        }
    }
    if valid.is_empty() {
        return (keys.to_vec(), values.to_vec());
    }
    let valid_keys = keys
        .iter()
        .filter(|key| valid.contains(key.as_str()))
        .cloned()
        .collect();
    let valid_values = values
        .iter()
        .enumerate()
        .filter(|(index, value)| {
            !value.is_empty()
                || keys
                    .get(*index)
                    .is_some_and(|key| valid.contains(key.as_str()))
        })
        .map(|(_, value)| value.clone())
        .collect();
    (valid_keys, valid_values)
}

/// kyaml `mergeValues`: key tuples that agree wherever both have a value (and share at
/// least one) are unified, in place and in order.
fn merge_values(values_list: &mut [Vec<String>]) {
    for i in 0..values_list.len() {
        for j in 0..values_list.len() {
            if let Some(merged) = unify(&values_list[i], &values_list[j]) {
                values_list[i] = merged.clone();
                values_list[j] = merged;
            }
        }
    }
}

/// kyaml `match`: the unified tuple if the two share a value and differ only where one is
/// empty.
fn unify(left: &[String], right: &[String]) -> Option<Vec<String>> {
    if left.len() != right.len() {
        return None;
    }
    let mut common = false;
    let mut merged = Vec::with_capacity(left.len());
    for (a, b) in left.iter().zip(right) {
        if a == b {
            common = true;
            merged.push(a.clone());
        } else if !a.is_empty() && !b.is_empty() {
            return None;
        } else if a.is_empty() {
            merged.push(b.clone());
        } else {
            merged.push(a.clone());
        }
    }
    common.then_some(merged)
}

#[cfg(test)]
mod tests {
    //! Every expected result below was checked against `kubectl kustomize` (kustomize
    //! v5.5.0) with the same target and patch.

    use serde_json::json;

    use super::*;

    fn deployment(spec: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": spec})
    }

    fn pod_spec(pod_spec: Value) -> Value {
        deployment(json!({"template": {"spec": pod_spec}}))
    }

    fn config_map(metadata: Value, rest: Value) -> Value {
        let mut object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata});
        if let (Value::Object(object), Value::Object(rest)) = (&mut object, rest) {
            object.extend(rest);
        }
        object
    }

    fn merge(target: &Value, patch: &Value) -> Value {
        let api_version = target["apiVersion"].as_str().unwrap_or_default();
        let kind = target["kind"].as_str().unwrap_or_default();
        match strategic_merge(target, patch, api_version, kind) {
            Ok(MergeOutcome::Merged(value)) => value,
            other => panic!("expected a merged resource, got {other:?}"),
        }
    }

    fn merge_error(target: &Value, patch: &Value) -> PatchError {
        let api_version = target["apiVersion"].as_str().unwrap_or_default();
        let kind = target["kind"].as_str().unwrap_or_default();
        match strategic_merge(target, patch, api_version, kind) {
            Err(error) => error,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn associative_list_puts_patch_elements_first() {
        let target = pod_spec(json!({"containers": [
            {"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}, {"name": "c", "image": "c:1"}
        ]}));
        let patch = pod_spec(json!({"containers": [
            {"name": "b", "image": "b:2"},
            {"name": "new", "image": "n:1"},
            {"name": "c", "$patch": "delete"},
            {"name": "a", "args": ["x"]}
        ]}));
        assert_eq!(
            merge(&target, &patch),
            pod_spec(json!({"containers": [
                {"name": "b", "image": "b:2"},
                {"name": "new", "image": "n:1"},
                {"name": "a", "image": "a:1", "args": ["x"]}
            ]}))
        );
    }

    #[test]
    fn container_ports_and_volumes_prepend() {
        let target = pod_spec(json!({
            "containers": [{"name": "a", "ports": [{"containerPort": 80}, {"containerPort": 81}]}],
            "volumes": [{"name": "v1", "emptyDir": {}}]
        }));
        let patch = pod_spec(json!({
            "containers": [{"name": "a", "ports": [{"containerPort": 82}]}],
            "volumes": [{"name": "v2", "configMap": {"name": "cm"}}]
        }));
        assert_eq!(
            merge(&target, &patch),
            pod_spec(json!({
                "containers": [{"name": "a", "ports": [
                    {"containerPort": 82}, {"containerPort": 80}, {"containerPort": 81}
                ]}],
                "volumes": [{"name": "v2", "configMap": {"name": "cm"}}, {"name": "v1", "emptyDir": {}}]
            }))
        );
    }

    #[test]
    fn ports_keyed_by_port_and_protocol() {
        let target = pod_spec(json!({"containers": [{"name": "a", "ports": [
            {"containerPort": 53, "protocol": "UDP"}, {"containerPort": 53, "protocol": "TCP"}
        ]}]}));
        let patch = pod_spec(json!({"containers": [{"name": "a", "ports": [
            {"containerPort": 53, "protocol": "TCP", "name": "dns-tcp"}
        ]}]}));
        assert_eq!(
            merge(&target, &patch),
            pod_spec(json!({"containers": [{"name": "a", "ports": [
                {"containerPort": 53, "protocol": "UDP"},
                {"containerPort": 53, "protocol": "TCP", "name": "dns-tcp"}
            ]}]}))
        );
    }

    #[test]
    fn regression_port_patch_with_protocol_the_target_lacks_is_lost() {
        // kyaml unifies [80, ""] with [80, TCP] and then re-adds the target's element in
        // place of the patch's: kustomize prints the target's ports unchanged.
        let target = pod_spec(json!({"containers": [{"name": "a", "ports": [
            {"containerPort": 80, "name": "http"}, {"containerPort": 81}
        ]}]}));
        let patch = pod_spec(json!({"containers": [{"name": "a", "ports": [
            {"containerPort": 80, "protocol": "TCP", "hostPort": 8080}
        ]}]}));
        assert_eq!(merge(&target, &patch), target);
    }

    #[test]
    fn regression_replace_directive_on_an_element_keeps_the_target_element() {
        let target = pod_spec(json!({"containers": [
            {"name": "a", "image": "a:1", "args": ["x"]}, {"name": "b", "image": "b:1"}
        ]}));
        let patch =
            pod_spec(json!({"containers": [{"name": "a", "image": "a:2", "$patch": "replace"}]}));
        assert_eq!(merge(&target, &patch), target);
    }

    #[test]
    fn regression_patch_element_without_merge_key_empties_the_list() {
        let target = pod_spec(json!({"containers": [{"name": "a"}, {"name": "b"}]}));
        let patch = pod_spec(json!({"containers": [{"image": "x:1"}]}));
        assert_eq!(merge(&target, &patch), pod_spec(json!({"containers": []})));
    }

    #[test]
    fn primitive_merge_list_is_a_union_with_patch_values_first() {
        let target = config_map(json!({"name": "cm", "finalizers": ["f1", "f2"]}), json!({}));
        let patch = config_map(json!({"name": "cm", "finalizers": ["f3", "f1"]}), json!({}));
        assert_eq!(
            merge(&target, &patch),
            config_map(
                json!({"name": "cm", "finalizers": ["f3", "f1", "f2"]}),
                json!({})
            )
        );
        // Duplicates collapse and null items vanish.
        let target = config_map(
            json!({"name": "cm", "finalizers": ["f1", "f1", null, "f2"]}),
            json!({}),
        );
        let patch = config_map(json!({"name": "cm", "finalizers": ["f3"]}), json!({}));
        assert_eq!(
            merge(&target, &patch),
            config_map(
                json!({"name": "cm", "finalizers": ["f3", "f1", "f2"]}),
                json!({})
            )
        );
    }

    #[test]
    fn replace_directive_on_a_map() {
        let target = config_map(json!({"name": "cm"}), json!({"data": {"a": "1", "b": "2"}}));
        let patch = config_map(
            json!({"name": "cm"}),
            json!({"data": {"$patch": "replace", "z": "9"}}),
        );
        assert_eq!(
            merge(&target, &patch),
            config_map(json!({"name": "cm"}), json!({"data": {"z": "9"}}))
        );
    }

    #[test]
    fn replace_directive_on_a_list() {
        let target = pod_spec(json!({"containers": [{"name": "a"}, {"name": "b"}]}));
        let patch =
            pod_spec(json!({"containers": [{"$patch": "replace"}, {"name": "c", "image": "c:1"}]}));
        assert_eq!(
            merge(&target, &patch),
            pod_spec(json!({"containers": [{"name": "c", "image": "c:1"}]}))
        );
    }

    #[test]
    fn delete_directive_on_a_list_and_a_map() {
        let target = deployment(json!({"template": {
            "metadata": {"annotations": {"a": "b"}, "labels": {"x": "y"}},
            "spec": {"containers": [{"name": "a"}], "volumes": [{"name": "v"}]}
        }}));
        let patch = deployment(json!({"template": {
            "metadata": {"annotations": {"$patch": "delete"}},
            "spec": {"volumes": [{"$patch": "delete"}]}
        }}));
        assert_eq!(
            merge(&target, &patch),
            deployment(json!({"template": {
                "metadata": {"labels": {"x": "y"}},
                "spec": {"containers": [{"name": "a"}]}
            }}))
        );
    }

    #[test]
    fn delete_directive_at_the_top_deletes_the_resource() {
        let target = config_map(json!({"name": "cm"}), json!({}));
        let patch = config_map(json!({"name": "cm"}), json!({"$patch": "delete"}));
        assert_eq!(
            strategic_merge(&target, &patch, "v1", "ConfigMap"),
            Ok(MergeOutcome::Deleted)
        );
    }

    #[test]
    fn regression_replace_directive_at_the_top_changes_nothing() {
        let target = config_map(
            json!({"name": "cm", "labels": {"a": "b"}}),
            json!({"data": {"a": "1"}}),
        );
        let patch = config_map(
            json!({"name": "cm"}),
            json!({"$patch": "replace", "data": {"b": "2"}}),
        );
        assert_eq!(merge(&target, &patch), target);
    }

    #[test]
    fn merge_directive_is_removed() {
        let target = deployment(json!({"replicas": 1}));
        let patch = deployment(json!({"$patch": "merge", "replicas": 2}));
        assert_eq!(merge(&target, &patch), deployment(json!({"replicas": 2})));
    }

    #[test]
    fn null_deletes_and_target_nulls_stay() {
        let target = config_map(
            json!({"name": "cm", "labels": {"keep": "1", "drop": "2"}}),
            json!({"data": {"a": "1"}, "binaryData": {"x": null}}),
        );
        let patch = config_map(
            json!({"name": "cm", "labels": {"drop": null}}),
            json!({"data": null}),
        );
        assert_eq!(
            merge(&target, &patch),
            config_map(
                json!({"name": "cm", "labels": {"keep": "1"}}),
                json!({"binaryData": {"x": null}})
            )
        );
    }

    #[test]
    fn regression_null_under_a_missing_map_leaves_it_empty() {
        let target = config_map(json!({"name": "cm"}), json!({}));
        let patch = config_map(json!({"name": "cm", "labels": {"gone": null}}), json!({}));
        assert_eq!(
            merge(&target, &patch),
            config_map(json!({"name": "cm", "labels": {}}), json!({}))
        );
    }

    #[test]
    fn added_maps_lose_their_nulls_and_directives() {
        let target = deployment(json!({"replicas": 1}));
        let patch = deployment(json!({"template": {
            "metadata": {"labels": {"a": null, "b": "c"}},
            "spec": {
                "containers": [{"name": "a", "image": "a:1"}, {"name": "b", "$patch": "delete"}],
                "nodeSelector": {"$patch": "delete"}
            }
        }}));
        assert_eq!(
            merge(&target, &patch),
            deployment(json!({"replicas": 1, "template": {
                "metadata": {"labels": {"b": "c"}},
                "spec": {"containers": [{"name": "a", "image": "a:1"}]}
            }}))
        );
    }

    #[test]
    fn lists_without_the_merge_strategy_are_replaced() {
        let target = pod_spec(json!({
            "tolerations": [{"key": "a"}, {"key": "b"}],
            "containers": [{"name": "a", "args": ["x", "y"], "command": ["c"]}]
        }));
        let patch = pod_spec(json!({
            "tolerations": [{"key": "c"}],
            "containers": [{"name": "a", "args": []}]
        }));
        assert_eq!(
            merge(&target, &patch),
            pod_spec(json!({
                "tolerations": [{"key": "c"}],
                "containers": [{"name": "a", "args": [], "command": ["c"]}]
            }))
        );
    }

    #[test]
    fn custom_resources_replace_lists_and_merge_maps() {
        let target = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
            "spec": {"items": [{"name": "a", "v": 1}, {"name": "b", "v": 2}], "m": {"a": 1, "b": 2}}});
        let patch = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
            "spec": {"items": [{"name": "b", "v": 3}], "m": {"a": null}}});
        assert_eq!(
            merge(&target, &patch),
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                "spec": {"items": [{"name": "b", "v": 3}], "m": {"b": 2}}})
        );
        // autoscaling/v2 is newer than the built-in schema.
        let target = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h"}, "spec": {"metrics": [{"type": "Resource"}, {"type": "Pods"}]}});
        let patch = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h"}, "spec": {"metrics": [{"type": "Pods", "pods": {}}]}});
        assert_eq!(
            merge(&target, &patch)["spec"]["metrics"],
            json!([{"type": "Pods", "pods": {}}])
        );
    }

    #[test]
    fn custom_schemas_give_custom_resources_merge_keys() {
        use super::super::custom::CustomSchema;
        use super::super::schema::Precedence;

        let schema = CustomSchema::from_document(
            json!({"definitions": {"Widget": {
                "properties": {"spec": {"properties": {"items": {
                    "type": "array",
                    "items": {"type": "object"},
                    "x-kubernetes-patch-strategy": "merge",
                    "x-kubernetes-patch-merge-key": "name"
                }}}},
                "x-kubernetes-group-version-kind":
                    [{"group": "example.com", "version": "v1", "kind": "Widget"}]
            }}}),
            "schema.json",
        )
        .expect("valid");
        let widget = |items: Value| {
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                "spec": {"items": items}})
        };
        let target = widget(json!([{"name": "a", "v": 1}, {"name": "b", "v": 2}]));
        let patch = widget(json!([{"name": "b", "v": 3}, {"name": "c"}]));
        let merged = |precedence| {
            let schemas = SchemaSet::with_custom(&schema, precedence);
            match strategic_merge_with(&target, &patch, "example.com/v1", "Widget", schemas) {
                Ok(MergeOutcome::Merged(value)) => value,
                other => panic!("expected a merged resource, got {other:?}"),
            }
        };
        // Prepended in patch order, then the target's remaining elements.
        let expected = widget(json!([{"name": "b", "v": 3}, {"name": "c"}, {"name": "a", "v": 1}]));
        assert_eq!(merged(Precedence::CustomOnly), expected);
        assert_eq!(merged(Precedence::BuiltinOverCustom), expected);
        // The same custom schema hides the built-in one when it is the only one loaded.
        let target = pod_spec(json!({"containers": [{"name": "a"}, {"name": "b"}]}));
        let patch = pod_spec(json!({"containers": [{"name": "b", "image": "new"}]}));
        let schemas = SchemaSet::with_custom(&schema, Precedence::CustomOnly);
        let merged = strategic_merge_with(&target, &patch, "apps/v1", "Deployment", schemas);
        assert_eq!(
            merged,
            Ok(MergeOutcome::Merged(pod_spec(
                json!({"containers": [{"name": "b", "image": "new"}]})
            )))
        );
    }

    #[test]
    fn nested_objects_with_their_own_type_get_its_schema() {
        let widget = |containers: Value| {
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                "spec": {"template": {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": containers}}}})
        };
        let target = widget(json!([{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]));
        let patch = widget(json!([{"name": "b", "image": "b:2"}]));
        assert_eq!(
            merge(&target, &patch),
            widget(json!([{"name": "b", "image": "b:2"}, {"name": "a", "image": "a:1"}]))
        );
    }

    #[test]
    fn directives_kyaml_does_not_implement_are_copied_verbatim() {
        let target = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "finalizers": ["f1", "f2"]},
            "spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}}});
        let patch = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "$deleteFromPrimitiveList/finalizers": ["f1"]},
        "spec": {"$retainKeys": ["template"], "template": {"spec": {
            "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
            "containers": [{"name": "b", "image": "x"}]
        }}}});
        assert_eq!(
            merge(&target, &patch),
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "finalizers": ["f1", "f2"],
                "$deleteFromPrimitiveList/finalizers": ["f1"]},
            "spec": {"$retainKeys": ["template"], "template": {"spec": {
                "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                "containers": [{"name": "b", "image": "x"}, {"name": "a"}]
            }}}})
        );
    }

    #[test]
    fn regression_multi_key_lists_put_merged_target_elements_after_new_ones() {
        // With several keys kyaml removes and re-appends each target element, so `zone`
        // (merged in place) ends up after the new `rack`.
        let constraint = |key: &str, when: &str, skew: u32| json!({"topologyKey": key, "whenUnsatisfiable": when, "maxSkew": skew});
        let target = pod_spec(json!({"topologySpreadConstraints": [
            constraint("zone", "DoNotSchedule", 1), constraint("host", "ScheduleAnyway", 1)
        ]}));
        let patch = pod_spec(json!({"topologySpreadConstraints": [
            constraint("zone", "DoNotSchedule", 2), constraint("rack", "DoNotSchedule", 3)
        ]}));
        assert_eq!(
            merge(&target, &patch),
            pod_spec(json!({"topologySpreadConstraints": [
                constraint("rack", "DoNotSchedule", 3),
                constraint("zone", "DoNotSchedule", 2),
                constraint("host", "ScheduleAnyway", 1)
            ]}))
        );
    }

    #[test]
    fn merge_keys_compare_as_text() {
        let target = pod_spec(
            json!({"containers": [{"name": "a", "ports": [{"containerPort": 80, "name": "x"}]}]}),
        );
        let patch = pod_spec(
            json!({"containers": [{"name": "a", "ports": [{"containerPort": "80", "name": "y"}]}]}),
        );
        assert_eq!(
            merge(&target, &patch),
            pod_spec(
                json!({"containers": [{"name": "a", "ports": [{"containerPort": "80", "name": "y"}]}]})
            )
        );
    }

    #[test]
    fn env_merges_by_name_and_nulls_inside_elements_delete() {
        let target = pod_spec(json!({"containers": [{"name": "a",
            "env": [{"name": "A", "value": "1"}, {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}],
            "volumeMounts": [{"name": "v", "mountPath": "/a"}, {"name": "w", "mountPath": "/b"}]}]}));
        let patch = pod_spec(json!({"containers": [{"name": "a",
            "env": [{"name": "B", "value": "2", "valueFrom": null}, {"name": "C", "value": "3"}],
            "volumeMounts": [{"name": "w2", "mountPath": "/b"}]}]}));
        assert_eq!(
            merge(&target, &patch),
            pod_spec(json!({"containers": [{"name": "a",
                "env": [{"name": "B", "value": "2"}, {"name": "C", "value": "3"}, {"name": "A", "value": "1"}],
                "volumeMounts": [{"name": "w2", "mountPath": "/b"}, {"name": "v", "mountPath": "/a"}]}]}))
        );
    }

    #[test]
    fn null_and_empty_elements_vanish_from_merged_lists() {
        let target =
            pod_spec(json!({"containers": [{"name": "a", "image": "a:1"}, {}, {"name": "b"}]}));
        let patch = pod_spec(json!({"containers": [{"name": "b", "image": "b:2"}]}));
        assert_eq!(
            merge(&target, &patch),
            pod_spec(
                json!({"containers": [{"name": "b", "image": "b:2"}, {"name": "a", "image": "a:1"}]})
            )
        );
    }

    #[test]
    fn errors_name_the_field() {
        let target = config_map(json!({"name": "cm"}), json!({"data": {"a": "1"}}));
        let patch = config_map(json!({"name": "cm"}), json!({"data": [1]}));
        assert_eq!(
            merge_error(&target, &patch),
            PatchError::WrongNodeKind {
                path: "data".to_string(),
                expected: "MappingNode",
                found: "SequenceNode"
            }
        );
        let patch = config_map(json!({"name": "cm"}), json!({"data": {"$patch": "bogus"}}));
        assert_eq!(
            merge_error(&target, &patch),
            PatchError::UnknownDirective {
                path: "data".to_string(),
                value: "bogus".to_string()
            }
        );
        let target = pod_spec(json!({"containers": [{"name": "a"}, "oops"]}));
        let patch = pod_spec(json!({"containers": [{"name": "b"}]}));
        assert!(matches!(
            merge_error(&target, &patch),
            PatchError::WrongNodeKind {
                found: "ScalarNode",
                ..
            }
        ));
        assert_eq!(
            strategic_merge(&json!([]), &json!({}), "v1", "ConfigMap"),
            Err(PatchError::NotAMap { what: "target" })
        );
    }

    #[test]
    fn identity_is_restored_after_the_merge() {
        let target = config_map(json!({"name": "cm"}), json!({"data": {"a": "1"}}));
        let identity = Identity::of(&target);
        let patch = json!({"apiVersion": "v1", "kind": "Other",
            "metadata": {"name": "renamed", "namespace": "ns"}, "data": {"b": "2"}});
        let mut merged = merge(&target, &patch);
        identity.restore(&mut merged, false, false);
        assert_eq!(
            merged,
            config_map(json!({"name": "cm"}), json!({"data": {"a": "1", "b": "2"}}))
        );
        let mut renamed = merge(&target, &patch);
        identity.restore(&mut renamed, true, true);
        assert_eq!(renamed["metadata"]["name"], "renamed");
        assert_eq!(renamed["kind"], "Other");
        assert_eq!(renamed["metadata"].get("namespace"), None);
    }
}
